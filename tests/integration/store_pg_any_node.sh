#!/usr/bin/env bash
# Inbound at any node: two JP-NPA nodes on one PostgreSQL database, both
# listening; PH-NBI reaches first node 1, then (its partner file pointed
# at the other endpoint, as a partner listing several endpoints or a load
# balancer would) node 2.  Messages from PH-NBI are accepted through
# either node into the one inbox, each once; messages queued on node 1
# are sent by node 2 when PH-NBI reaches only node 2, and the receipts
# that arrive there settle node 1's rows; a message PH-NBI sends again to
# node 2 after node 1 accepted it is a retry answered with the original
# receipt, not a second acceptance; the audit log verifies on both nodes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/pg_gateways.sh"
export GW_RETRY_INITIAL=1 GW_RETRY_MAX=2

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
GW_STORE_DB=jp_shared gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
# The second node: the same gateway, a folder (control socket, endpoint
# file, log) and a listening port of its own.
gw_node JP-NPA JP-NPA-2
gw_start JP-NPA || { bad "node 1 starts"; finish; exit 1; }
gw_node_start JP-NPA JP-NPA-2 || { bad "node 2 starts"; finish; exit 1; }
ep1=$(gw_endpoint JP-NPA) ep2=$(gw_endpoint JP-NPA-2)
check "the two nodes listen on two endpoints" test "$ep1" != "$ep2"
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$ep1"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

jp() { pg_psql jp_shared "$*"; }
ph() { pg_psql gw_db_ph_nbi "$*"; }
connected() { # node: PH-NBI is connected to that node (a node's own state)
  icx_at "$1" partners --json 2>/dev/null | grep -q '"id":"PH-NBI"[^}]*"reachable":true'
}
not_connected() { # node: that node answers, and PH-NBI is not connected to it
  icx_at "$1" partners --json 2>/dev/null | grep -q '"id":"PH-NBI"[^}]*"reachable":false'
}
retried() { # message-id count: more than count retries audited
  (( $(jp "select count(*) from audit where event='inbound.retry' and message_id='$1'") > $2 ))
}
all_from_ph_once() { # n: n accepted from PH-NBI, each once
  [[ $(jp "select count(*) || ' ' || count(distinct message_id) from inbox where sender='PH-NBI' and state='accepted'") == "$1 $1" ]]
}
node_lists() { # node message-id
  icx_at "$1" inbox --limit 1000 | grep -qF "$2"
}
send_from_ph() { # count -> MessageIds, one per line
  local i
  for i in $(seq "$1"); do submit_sample PH-NBI JP-NPA; done
}
accepted_from_ph() { jp "select count(*) from inbox where sender='PH-NBI' and state='accepted'"; }
ph_delivered() { [[ $(ph "select count(*) from outbox where state <> 'delivered'") -eq 0 ]]; }
jp_delivered() { [[ $(jp "select count(*) from outbox where state <> 'delivered'") -eq 0 ]]; }

# 1. PH-NBI -> node 1.
check "PH-NBI is connected to node 1" wait_for 20 connected JP-NPA
check "and not to node 2" not_connected JP-NPA-2
send_from_ph 10 >"$W/via1"
check "10 messages through node 1: delivered with receipts" wait_for 60 ph_delivered
check "accepted once each in the shared inbox" all_from_ph_once 10

# 2. PH-NBI now reaches node 2 only.
gw_stop PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$ep2"
# JP-NPA's messages queued on node 1 while PH-NBI reaches node 2: node 1
# cannot send them (no connection); node 2 can.
for i in $(seq 10); do submit_sample JP-NPA PH-NBI; done >"$W/queued1"
check "10 messages queued on node 1" test "$(wc -l <"$W/queued1")" -eq 10
gw_start PH-NBI || { bad "PH-NBI starts again"; finish; exit 1; }
check "PH-NBI is connected to node 2" wait_for 20 connected JP-NPA-2
check "and not to node 1" not_connected JP-NPA
check "node 1's queued messages are sent by node 2 and settled by the receipts it gets" \
  wait_for 90 jp_delivered
check "PH-NBI accepted each of them once" \
  test "$(ph "select count(distinct message_id) from inbox where sender='JP-NPA' and state='accepted'")" -eq 10
m=$(head -1 "$W/queued1")
check "node 1 shows the receipt that reached node 2 ($m delivered)" delivered JP-NPA "$m"

# 3. PH-NBI -> node 2: the same inbox.
send_from_ph 10 >"$W/via2"
check "10 more through node 2: delivered with receipts" wait_for 60 ph_delivered
check "the shared inbox holds all 20 from PH-NBI, each once" all_from_ph_once 20
check "node 1 lists a message that arrived at node 2" node_lists JP-NPA "$(head -1 "$W/via2")"

# 4. A message node 1 accepted, sent again by PH-NBI (as after a crash
#    between its send and its record), reaches node 2: a retry answered
#    with the original receipt from the shared store.
r=$(head -1 "$W/via1")
orig=$(jp "select encode(receipt, 'hex') from inbox where message_id='$r'")
retries0=$(jp "select count(*) from audit where event='inbound.retry' and message_id='$r'")
gw_stop PH-NBI
ph "update outbox set state='sent', next_attempt_at=0 where message_id='$r'" >/dev/null
ph "delete from receipts where message_id='$r'" >/dev/null
gw_start PH-NBI || { bad "PH-NBI starts a third time"; finish; exit 1; }
check "the resent message is delivered again from PH-NBI's view" wait_for 30 delivered PH-NBI "$r"
check "node 2 audited it as a retry" wait_for 10 retried "$r" "$retries0"
check "not a second acceptance" \
  test "$(jp "select count(*) from audit where event in ('inbound.accepted','inbound.rejected') and message_id='$r'")" -eq 1
check "the receipt PH-NBI got the second time is the one node 1 issued" \
  test "$(ph "select encode(envelope, 'hex') from receipts where message_id='$r'")" == "$orig"
check "accepted from PH-NBI: still 20" test "$(accepted_from_ph)" -eq 20

check "icx audit verify on node 1" icx_at JP-NPA audit verify
check "icx audit verify on node 2" icx_at JP-NPA-2 audit verify
finish
