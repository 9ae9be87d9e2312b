#!/usr/bin/env bash
# kill -9 in the middle of 1,000 messages, first of the sender, then of the
# receiver; after a restart every acknowledged message is delivered exactly
# once, counted by MessageId on the receiver, and nothing arrives that the
# sender did not queue.  Also: a partner offline for a while is retried and
# gets each message once; a wrong CURVE key is refused by the transport.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_RETRY_INITIAL=1 GW_RETRY_MAX=2
three_gateways || { bad "three gateways start"; finish; exit 1; }
payload=$src/docs/samples/case-referral-payload.xml
files=()
for i in $(seq 100); do files+=("$payload"); done

# Submits batches of 100 from JP-NPA to PH-NBI; acknowledged ids go to $1.
submit_batches() { # acked-file batches
  local n=$2
  for b in $(seq "$n"); do
    "$icx" submit "${files[@]}" --to PH-NBI --category case-referral \
      --legal-basis "MLAT test" --retain-until 2031-12-31 \
      -c "$W/JP-NPA/gateway.yaml" 2>/dev/null | awk '/^queued/ {print $2}' >>"$1" || true
  done
}

accepted_ids() { sqlite3 "$W/PH-NBI/icx.db" "select message_id from inbox where state='accepted' and sender='JP-NPA'" | sort; }
queued_ids() { sqlite3 "$W/JP-NPA/icx.db" "select message_id from outbox where recipient='PH-NBI'" | sort; }
# Delivery is checked both ways: every acknowledged MessageId arrived, and
# everything that arrived was queued by the sender.  A batch whose COMMIT
# reached the disk just before the kill, but whose "queued" reply did not
# reach the client, is durable and delivered too: nothing accepted is lost,
# and the client, told nothing, may submit it again under new MessageIds.
acked_arrived() { [[ -z $(comm -23 <(sort -u "$@") <(accepted_ids)) ]]; }
arrived_queued() { [[ -z $(comm -23 <(accepted_ids) <(queued_ids)) ]]; }
count_delivered() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox where state='delivered'"; }

# --- 1. kill -9 of the sender while it submits and sends ---------------
: >"$W/acked"
submit_batches "$W/acked" 10 &
sub=$!
wait_for 60 bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx.db' 'select count(*) from inbox') -ge 150 ]]"
gw_kill JP-NPA
wait "$sub" 2>/dev/null
acked=$(sort -u "$W/acked" | wc -l)
echo "     sender killed with $acked messages acknowledged"
check "some messages were acknowledged before the kill" test "$acked" -ge 100
gw_start JP-NPA
# The operator submits again what was never acknowledged.
submit_batches "$W/acked" $(( (1000 - acked + 99) / 100 ))
total=$(sort -u "$W/acked" | wc -l)
check "at least 1000 messages acknowledged in all" test "$total" -ge 1000
check "after the restart every acknowledged message is delivered" \
  wait_for 180 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered' and recipient='PH-NBI'\") -ge $total ]]"
# The count above includes a batch delivered although its reply was lost
# (below), so it can be reached while acknowledged ones are still on their
# way: wait for those by MessageId.
check "the receiver holds each acknowledged MessageId" wait_for 180 acked_arrived "$W/acked"
check "and nothing the sender did not queue" arrived_queued
extra=$(comm -13 <(sort -u "$W/acked") <(accepted_ids) | wc -l)
echo "     delivered although their reply was lost in the kill: $extra"
check "the receiver stored no MessageId twice" \
  test "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) - count(distinct message_id) from inbox")" -eq 0

# --- 2. kill -9 of the receiver in the middle of 1,000 ------------------
: >"$W/acked2"
submit_batches "$W/acked2" 10
before=$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from inbox")
wait_for 60 bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx.db' 'select count(*) from inbox') -ge $((before + 200)) ]]"
gw_kill PH-NBI
got=$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from inbox")
echo "     receiver killed holding $((got - before)) of the second 1000"
gw_start PH-NBI
all=$(cat "$W/acked" "$W/acked2" | sort -u | wc -l)
check "after the receiver's restart all 2000 are delivered" \
  wait_for 180 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered' and recipient='PH-NBI'\") -ge $all ]]"
check "the receiver holds each acknowledged MessageId" wait_for 180 acked_arrived "$W/acked" "$W/acked2"
check "and nothing the sender did not queue" arrived_queued
check "and each once" \
  test "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) - count(distinct message_id) from inbox")" -eq 0

# --- 3. a partner offline for a while, then back -------------------------
gw_stop PH-NBI
m=$(submit_sample JP-NPA PH-NBI)
sleep 4
check "while PH-NBI is offline the message waits (not delivered)" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select state from outbox where message_id='$m'\") != delivered ]]"
check "and its retries are recorded" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select attempts from outbox where message_id='$m'\") -ge 2 ]]"
gw_start PH-NBI
check "PH-NBI back: retried and delivered" wait_for 30 delivered JP-NPA "$m"
check "delivered once" test "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from inbox where message_id='$m'")" -eq 1

# --- 4. a wrong CURVE key ------------------------------------------------
# An impostor claims to be PH-NBI with its own (unknown) transport key.
mkdir -p "$W/impostor"
"$icx" keys gen PH-NBI --out "$W/keys/IMPOSTOR" >/dev/null
cp -r "$W/PH-NBI/partners" "$W/impostor/"
sed -e "s#\.\./keys/PH-NBI/key.pem#../keys/IMPOSTOR/key.pem#" \
    -e "s#\.\./keys/PH-NBI/curve.key#../keys/IMPOSTOR/curve.key#" \
    -e "s#\.\./keys/PH-NBI/cert.pem#../keys/IMPOSTOR/cert.pem#" \
    "$W/PH-NBI/gateway.yaml" >"$W/impostor/gateway.yaml"
# Its own store, as the SQLite one beside its gateway.yaml: on PostgreSQL
# a database of its own, not PH-NBI's (whose checkpoints are not its own).
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  sed -i "s#^  path: .*#$(gw_store_lines impostor | head -1)#" "$W/impostor/gateway.yaml"
fi
gw_start impostor
m=$(submit_sample impostor JP-NPA)
check "JP-NPA's transport refuses the unknown CURVE key" \
  wait_for 20 grep -q 'event=transport.refused' "$W/JP-NPA/log"
check "the refusal is audited" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='transport.refused'\") -ge 1 ]]"
check "nothing from the impostor is stored" \
  test "$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from inbox where message_id='$m'")" -eq 0
gw_stop impostor
finish
