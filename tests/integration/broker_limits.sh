#!/usr/bin/env bash
# Per-partner inbound limits: a partner that sends faster than its rate is
# slowed (frames dropped before verification, delivered later by its own
# retries) and the event audited, while another partner's messages pass at
# once; a frame over the partner's size limit is dropped and audited.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

three_gateways || { bad "three gateways start"; finish; exit 1; }
phdb=$W/PH-NBI/icx.db
# PH-NBI allows JP-NPA two messages a second.
GW_LIMIT_RATE=2 gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_hup PH-NBI
wait_for 10 bash -c "[[ \$(grep -c 'event=config.loaded' '$W/PH-NBI/log') -ge 1 ]]"
sleep 1

files=(); for i in $(seq 20); do files+=("$src/docs/samples/case-referral-payload.xml"); done
"$icx" submit "${files[@]}" --to PH-NBI --category case-referral --legal-basis t \
  --retain-until 2031-01-01 -c "$W/JP-NPA/gateway.yaml" | awk '/^queued/ {print $2}' >"$W/flood"
check "20 messages queued" test "$(wc -l <"$W/flood")" -eq 20
# Meanwhile the hub's message to PH-NBI goes through at once.
t0=$SECONDS
m=$(submit_sample INT-ICPO PH-NBI)
check "another partner is not slowed (delivered within 5 s)" wait_for 5 delivered INT-ICPO "$m"
check "the fast partner is limited and it is audited" \
  wait_for 10 bash -c "sqlite3 '$phdb' \"select count(*) from audit where event='partner.limited' and partner='JP-NPA'\" | grep -qv '^0$'"
check "the limit is logged" grep -q "event=partner.limited partner=JP-NPA" "$W/PH-NBI/log"
check "all 20 arrive in the end, through the sender's retries" \
  wait_for 60 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered' and recipient='PH-NBI'\") -ge 20 ]]"
check "each exactly once" test "$(sqlite3 "$phdb" "select count(*) from inbox where sender='JP-NPA'")" -eq 20

# A size limit below the sample envelope: dropped, audited, never accepted.
GW_LIMIT_BYTES=1024 gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_hup PH-NBI
wait_for 10 bash -c "[[ \$(grep -c 'event=config.loaded' '$W/PH-NBI/log') -ge 2 ]]"
sleep 1
m2=$(submit_sample JP-NPA PH-NBI)
check "a frame over the partner's size limit is dropped and audited" \
  wait_for 15 bash -c "sqlite3 '$phdb' \"select detail from audit where event='partner.limited' and partner='JP-NPA'\" | grep -q 'dropped_size=[1-9]'"
check "and not accepted" test "$(sqlite3 "$phdb" "select count(*) from inbox where message_id='$m2'")" -eq 0
# Concurrent connections: JP-NPA lets PH-NBI hold one; a second gateway
# with PH-NBI's keys connects too, and its frames are dropped and audited
# while messages to PH-NBI still get through the first connection.
jpdb=$W/JP-NPA/icx.db
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"   # no limits
gw_hup PH-NBI
wait_for 10 bash -c "[[ \$(grep -c 'event=config.loaded' '$W/PH-NBI/log') -ge 3 ]]"
GW_LIMIT_CONNS=1 gw_partner JP-NPA PH-NBI accept direct
gw_hup JP-NPA
wait_for 10 bash -c "[[ \$(grep -c 'event=config.loaded' '$W/JP-NPA/log') -ge 1 ]]"
mkdir -p "$W/PH-NBI-2"
cp -r "$W/PH-NBI/partners" "$W/PH-NBI/gateway.yaml" "$W/PH-NBI-2/"
gw_start PH-NBI-2 || bad "a second gateway with PH-NBI's keys starts"
check "the second connection is over the limit, dropped and logged" \
  wait_for 20 grep -q "event=zmq.connections_limited partner=PH-NBI open=1 max=1" "$W/JP-NPA/log"
check "and audited" wait_for 10 bash -c \
  "sqlite3 '$jpdb' \"select detail from audit where event='partner.limited' and partner='PH-NBI'\" | grep -q 'dropped_connections=[1-9]'"
m3=$(submit_sample JP-NPA PH-NBI)
check "messages to PH-NBI still get through" wait_for 30 delivered JP-NPA "$m3"
gw_stop PH-NBI-2
finish
