#!/usr/bin/env bash
# Two JP-NPA nodes on one PostgreSQL database, both configured with a TSA
# (a local one, tools/tsa_make.sh): only the node that signs the
# checkpoints (the lead, docs/STORE.md) asks for their time-stamps, so
# every checkpoint is stamped once and the TSA gets one request per stamp
# (PH-NBI, on a database of its own, stamps its own checkpoints too);
# the lead alone sends the checkpoints to PH-NBI, which witnesses them;
# when the lead is killed the other node takes over signing, stamping and
# sending them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
. "$here/lib/pg_gateways.sh"
T=$W/tsa
bash "$src/tests/integration/tools/tsa_make.sh" "$T" || { bad "test TSA made"; finish; exit 1; }
python3 "$src/tests/integration/tools/tsa_server.py" "$T" &
TSA_PID=$!
trap 'kill $TSA_PID 2>/dev/null; wait $TSA_PID 2>/dev/null; gw_cleanup; pg_stop' EXIT
wait_for 10 test -s "$T/port" || { bad "TSA server starts"; finish; exit 1; }
export GW_CHECKPOINT_EVERY=1000 GW_CHECKPOINT_SECONDS=1
export GW_TSA_URL="http://127.0.0.1:$(cat "$T/port")/tsa" GW_TSA_CA="$T/ca.pem" GW_TSA_RETRY=1
export GW_WITNESS_SECONDS=1

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write PH-NBI yes false PH-NBI
gw_partner PH-NBI JP-NPA accept direct
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
GW_STORE_DB=jp_lead gw_write JP-NPA no false JP-NPA
gw_partner JP-NPA PH-NBI connect direct "$(gw_endpoint PH-NBI)"
gw_node JP-NPA JP-NPA-2
gw_start JP-NPA || { bad "node 1 starts"; finish; exit 1; }
gw_node_start JP-NPA JP-NPA-2 || { bad "node 2 starts"; finish; exit 1; }
grep -q 'tsa:' "$W/JP-NPA-2/gateway.yaml" && ok "both JP-NPA nodes are configured with the TSA" ||
  bad "TSA configuration"

jp() { pg_psql jp_lead "$*"; }
all_stamped() { [[ $(jp "select count(*) from checkpoints where size > coalesce((select max(size) from checkpoint_stamps), 0)") -eq 0 ]]; }
stamps() { # kept by JP-NPA's nodes and by PH-NBI (which uses the TSA too)
  echo $(( $(jp "select count(*) from checkpoint_stamps") + $(pg_psql gw_db_ph_nbi "select count(*) from checkpoint_stamps") ))
}
one_each() { [[ $(wc -l <"$T/requests") -eq $(stamps) ]]; } # one TSA request per stamp kept
stampers() { grep -l 'audit.stamped size=' "$W/JP-NPA/log" "$W/JP-NPA-2/log" 2>/dev/null | wc -l; }

for round in 1 2 3 4; do
  submit_sample JP-NPA PH-NBI >/dev/null; submit_sample JP-NPA-2 PH-NBI >/dev/null
  sleep 1.5
done
some_stamped() { [[ $(jp "select count(*) from checkpoint_stamps") -ge 2 ]]; }
check "checkpoints are stamped" wait_for 30 some_stamped
check "every checkpoint is stamped" wait_for 30 all_stamped
if wait_for 15 one_each; then ok "one TSA request per stamp ($(wc -l <"$T/requests") requests)"
else bad "TSA requests: $(wc -l <"$T/requests"), stamps: $(stamps)"; fi
[[ $(stampers) -eq 1 ]] && ok "one node stamps" || bad "nodes that stamped: $(stampers)"
senders() { grep -l 'witness.queued partner=PH-NBI' "$W/JP-NPA/log" "$W/JP-NPA-2/log" 2>/dev/null | wc -l; }
witnessed() { # PH-NBI has judged a checkpoint of JP-NPA's
  [[ $(pg_psql gw_db_ph_nbi "select count(*) from inbox where sender='JP-NPA' and category='audit-checkpoint' and state='accepted'") -ge 1 ]]
}
check "PH-NBI receives JP-NPA's checkpoints" wait_for 30 witnessed
[[ $(senders) -eq 1 ]] && ok "one node sends them" || bad "nodes that sent checkpoints: $(senders)"
lead_sends() { # node: it stamps and it sends
  grep -q 'audit.stamped size=' "$W/$1/log" && grep -q 'witness.queued partner=PH-NBI' "$W/$1/log"
}
if lead_sends JP-NPA || lead_sends JP-NPA-2; then ok "the node that stamps is the node that sends"
else bad "the node that stamps does not send the checkpoints"; fi
if grep -q 'audit.stamp-failed' "$W/JP-NPA/log" "$W/JP-NPA-2/log"; then
  bad "a stamp failed: $(grep -h 'audit.stamp-failed' "$W/JP-NPA/log" "$W/JP-NPA-2/log" | head -2)"
else ok "no stamp failed on either node"; fi

# The lead goes away: the other node signs and stamps from then on.
lead=JP-NPA; other=JP-NPA-2
grep -q 'audit.stamped size=' "$W/JP-NPA-2/log" && { lead=JP-NPA-2; other=JP-NPA; }
gw_kill "$lead"
before=$(jp "select coalesce(max(size), 0) from checkpoint_stamps")
r0=$(wc -l <"$T/requests"); s0=$(stamps)
newer() { [[ $(jp "select max(size) from checkpoint_stamps") -gt $before ]]; }
# (a request the killed lead had in flight is asked again by the new one)
one_each_since() { [[ $(( $(wc -l <"$T/requests") - r0 )) -eq $(( $(stamps) - s0 )) ]]; }
for i in 1 2 3; do submit_sample "$other" PH-NBI >/dev/null; sleep 1; done
check "$other takes the lead and stamps" wait_for 30 bash -c "grep -q 'audit.stamped size=' '$W/$other/log'"
check "$other sends the checkpoints now" wait_for 30 bash -c "grep -q 'witness.queued partner=PH-NBI' '$W/$other/log'"
check "the newer checkpoints are stamped" wait_for 30 newer
check "every checkpoint is stamped, still" wait_for 30 all_stamped
if wait_for 15 one_each_since; then ok "still one TSA request per stamp"
else bad "TSA requests since the kill: $(( $(wc -l <"$T/requests") - r0 )), stamps: $(( $(stamps) - s0 ))"; fi
gw_stop "$other"
icx_at "$other" store check >"$W/check" 2>&1 && grep -Eq ': [1-9][0-9]* time-stamp tokens are over their checkpoints' "$W/check" &&
  ok "icx store check: the tokens are over their checkpoints" || bad "icx store check: $(tail -3 "$W/check")"

# A node added without a head file, now that the database holds signed
# checkpoints, is refused until adopted (docs/STORE.md, "Adding a node").
gw_node JP-NPA JP-NPA-3
(cd "$W/JP-NPA-3" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$W/refused" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q 'icx.db.head is missing, but the store holds signed checkpoints' "$W/refused" &&
  grep -q -- '--adopt-head' "$W/refused" &&
  ok "a new node without a head file is refused, with the way to adopt" ||
  bad "new node without a head file: exit $rc, $(tail -2 "$W/refused")"
icx_at JP-NPA-3 store check --adopt-head >"$W/adopt" 2>&1 &&
  grep -q 'adopted the store.s last checkpoint' "$W/adopt" &&
  ok "icx store check --adopt-head on the new node" || bad "adopt: $(tail -3 "$W/adopt")"
check "the new node starts then" gw_start JP-NPA-3
check "and stamps (the lead: the others are stopped)" \
  wait_for 30 bash -c "grep -q 'audit.stamped size=' '$W/JP-NPA-3/log'"
finish
