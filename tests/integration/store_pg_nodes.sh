#!/usr/bin/env bash
# Two JP-NPA nodes on one PostgreSQL database and one PH-NBI gateway.
# Messages are submitted across both nodes while one of them is killed
# with kill -9, three times (node 1, node 2, node 1); after each kill the
# survivor sends what the dead node had queued or sent.  Every
# acknowledged message is delivered exactly once, counted by MessageId on
# the receiver; nothing arrives that was not queued; the audit log of the
# shared store verifies; both nodes give the same answers to `icx outbox`
# and `icx status`.  Then PostgreSQL itself is restarted during a burst:
# the nodes reconnect and nothing is lost.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/pg_gateways.sh"

export GW_RETRY_INITIAL=1 GW_RETRY_MAX=2
ROUNDS=${ICX_PG_ROUNDS:-3}
PER_NODE=${ICX_PG_BATCHES:-9}   # batches of 100 per node and round: 5,400 in all

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write PH-NBI yes false PH-NBI
gw_partner PH-NBI JP-NPA accept direct
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
GW_STORE_DB=jp_shared gw_write JP-NPA no false JP-NPA
gw_partner JP-NPA PH-NBI connect direct "$(gw_endpoint PH-NBI)"
# The second node: the same gateway (id, keys, partners, database), a
# folder of its own (control socket, head file, log).
gw_node JP-NPA JP-NPA-2
gw_start JP-NPA || { bad "node 1 starts"; finish; exit 1; }
gw_node_start JP-NPA JP-NPA-2 || { bad "node 2 starts"; finish; exit 1; }
ok "two JP-NPA nodes run on one database"

payload=$src/docs/samples/case-referral-payload.xml
files=()
for i in $(seq 100); do files+=("$payload"); done

# Batches of 100 to a node; a batch its node does not acknowledge (the
# node was killed) goes to the other node, as a client that knows both
# endpoints would send it.
submit_one() { # node -> acknowledged MessageIds
  "$icx" submit "${files[@]}" --to PH-NBI --category case-referral \
    --legal-basis "MLAT test" --retain-until 2031-12-31 \
    -c "$W/$1/gateway.yaml" 2>/dev/null | awk '/^queued/ {print $2}'
}
submit_batches() { # node acked-file batches other-node
  local b ids
  for b in $(seq "$3"); do
    ids=$(submit_one "$1")
    [[ -n $ids ]] || ids=$(submit_one "$4")
    [[ -n $ids ]] && echo "$ids" >>"$2"
  done
}
jp() { pg_psql jp_shared "$*"; }
ph() { pg_psql gw_db_ph_nbi "$*"; }
accepted_ids() { ph "select message_id from inbox where state='accepted' and sender='JP-NPA'" | sort; }
queued_ids() { jp "select message_id from outbox where recipient='PH-NBI'" | sort; }
acked_arrived() { [[ -z $(comm -23 <(sort -u "$W/acked") <(accepted_ids)) ]]; }
arrived_queued() { [[ -z $(comm -23 <(accepted_ids) <(queued_ids)) ]]; }
all_delivered() { [[ $(jp "select count(*) from outbox where state <> 'delivered'") -eq 0 ]]; }
rows_past() { [[ $(jp "select count(*) from outbox") -ge $1 ]]; }
once_each() { [[ $(ph "select count(*) - count(distinct message_id) from inbox where sender='JP-NPA' and state='accepted'") -eq 0 ]]; }

: >"$W/acked"
victims=(JP-NPA JP-NPA-2 JP-NPA)
for r in $(seq "$ROUNDS"); do
  victim=${victims[$(( (r - 1) % 3 ))]}
  survivor=JP-NPA-2; [[ $victim == JP-NPA-2 ]] && survivor=JP-NPA
  base=$(jp "select count(*) from outbox")
  submit_batches JP-NPA "$W/acked" "$PER_NODE" JP-NPA-2 &
  s1=$!
  submit_batches JP-NPA-2 "$W/acked" "$PER_NODE" JP-NPA &
  s2=$!
  # A random moment in the burst, once it is under way.
  wait_for 60 rows_past $((base + 200))
  sleep "0.$(( RANDOM % 10 ))"
  left=$(jp "select count(*) from outbox where state in ('queued', 'sent')")
  gw_kill "$victim"
  echo "     round $r: $victim killed with $left messages queued or sent"
  wait "$s1" "$s2"
  # The lease is the retry backoff (GW_RETRY_MAX, 2 s): well within a
  # minute on a loaded machine, the survivor has sent all of it.
  t0=$SECONDS
  check "round $r: the survivor delivers what $victim left (acknowledged ids all arrived within 60 s)" \
    wait_for 60 acked_arrived
  echo "     round $r: taken over in $((SECONDS - t0)) s"
  check "round $r: every queued message delivered" wait_for 120 all_delivered
  check "round $r: each accepted once at PH-NBI" once_each
  check "round $r: nothing arrived that was not queued" arrived_queued
  gw_start "$victim" || bad "round $r: $victim starts again"
done
n=$(sort -u "$W/acked" | wc -l)
# Every batch acknowledged by one node or the other; a batch the victim
# committed but could not answer for is queued too and goes out as well.
want=$((ROUNDS * 2 * PER_NODE * 100))
[[ $n -ge $want ]] && ok "$n messages acknowledged across both nodes" ||
  bad "acknowledged: got $n, want $want"

check "icx audit verify on node 1" icx_at JP-NPA audit verify
check "icx audit verify on node 2" icx_at JP-NPA-2 audit verify
check "icx store check on node 2" icx_at JP-NPA-2 store check
same() { # args...: the same answer from both nodes
  icx_at JP-NPA "$@" >"$W/a1" 2>&1; icx_at JP-NPA-2 "$@" >"$W/a2" 2>&1
  cmp -s "$W/a1" "$W/a2"
}
check "icx outbox: the same answer on both nodes" same outbox --limit 100000
m=$(head -1 "$W/acked")
check "icx status $m: the same timeline on both nodes" same status "$m" --json

# PostgreSQL restarted during a burst: the nodes reconnect.
: >"$W/acked"
submit_batches JP-NPA "$W/acked" 2 JP-NPA-2 &
s1=$!
sleep 1
pg_restart fast || bad "PostgreSQL restarts"
wait "$s1"
submit_batches JP-NPA-2 "$W/acked" 1 JP-NPA
check "after a PostgreSQL restart: acknowledged ids all arrived" wait_for 180 acked_arrived
check "after a PostgreSQL restart: every queued message delivered" wait_for 120 all_delivered
check "after a PostgreSQL restart: each accepted once" once_each
check "after a PostgreSQL restart: the audit log verifies" icx_at JP-NPA-2 audit verify

finish
