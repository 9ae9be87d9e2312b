#!/usr/bin/env bash
# Three real gateways on 127.0.0.1: JP-NPA, PH-NBI (connects out only, no
# listening socket) and the hub INT-ICPO.  Direct delivery with verified
# receipts in both connection directions, delivery via the hub after a
# SIGHUP reload, a Sender that is not the transport peer, a duplicate
# answered with the original receipt, egress policy.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

three_gateways || { bad "three gateways start"; finish; exit 1; }
ok "three gateways start (PH-NBI has no listening socket)"

# 1. JP-NPA -> PH-NBI over PH-NBI's own connection (it connects in).
m1=$(submit_sample JP-NPA PH-NBI)
check "submit returns a MessageId" test -n "$m1"
check "JP-NPA -> PH-NBI delivered with a verified receipt" wait_for 20 delivered JP-NPA "$m1"
check "PH-NBI stored it as accepted" bash -c "icx_inbox=\$('$icx' inbox -c '$W/PH-NBI/gateway.yaml'); grep -q '$m1.*accepted' <<<\"\$icx_inbox\""
check "timeline shows queued, sent, delivered" bash -c \
  "'$icx' status '$m1' -c '$W/JP-NPA/gateway.yaml' | grep -q outbound.queued &&
   '$icx' status '$m1' -c '$W/JP-NPA/gateway.yaml' | grep -q outbound.sent &&
   '$icx' status '$m1' -c '$W/JP-NPA/gateway.yaml' | grep -q outbound.delivered"

# 2. PH-NBI -> JP-NPA over the connection PH-NBI opened.
m2=$(submit_sample PH-NBI JP-NPA)
check "PH-NBI -> JP-NPA delivered over its outgoing connection" wait_for 20 delivered PH-NBI "$m2"

# 3. JP-NPA -> INT-ICPO: this gateway connects out.
m3=$(submit_sample JP-NPA INT-ICPO)
check "JP-NPA -> INT-ICPO delivered (connect out)" wait_for 20 delivered JP-NPA "$m3"

# 4. A Sender that is not the transport peer: JP-NPA now routes PH-NBI via
#    the hub, but PH-NBI still expects JP-NPA directly.
gw_partner JP-NPA PH-NBI accept hub
gw_hup JP-NPA
check "SIGHUP reload logged" wait_for 10 grep -q 'event=config.loaded' "$W/JP-NPA/log"
m4=$(submit_sample JP-NPA PH-NBI)
check "an envelope arriving from the hub for a direct partner is refused" \
  wait_for 20 bash -c "[[ \$('$icx' status '$m4' -c '$W/JP-NPA/gateway.yaml' --json | grep -o '\"state\":\"[a-z]*\"' | head -1) == '\"state\":\"refused\"' ]]"
check "the refusal names SENDER_MISMATCH" bash -c "'$icx' status '$m4' -c '$W/JP-NPA/gateway.yaml' | grep -q SENDER_MISMATCH"
check "PH-NBI did not accept it" bash -c "! '$icx' inbox -c '$W/PH-NBI/gateway.yaml' | grep -q '$m4.*accepted'"

# 5. Via the hub, once PH-NBI knows JP-NPA comes through it.
gw_partner PH-NBI JP-NPA connect hub "$(gw_endpoint JP-NPA)"
gw_hup PH-NBI
wait_for 10 bash -c "[[ \$(grep -c 'event=config.loaded' '$W/PH-NBI/log') -ge 1 ]]"
m5=$(submit_sample JP-NPA PH-NBI)
check "JP-NPA -> INT-ICPO -> PH-NBI delivered with PH-NBI's own receipt" wait_for 20 delivered JP-NPA "$m5"
check "the hub's receipt was recorded as a hop" bash -c "'$icx' status '$m5' -c '$W/JP-NPA/gateway.yaml' | grep -q 'receipt from INT-ICPO.*hop'"
check "the final receipt came from PH-NBI" bash -c "'$icx' status '$m5' -c '$W/JP-NPA/gateway.yaml' | grep -q 'receipt from PH-NBI.*final'"
check "the hub relayed the envelope byte for byte" bash -c \
  "[[ \$(sqlite3 '$W/INT-ICPO/icx.db' \"select sha256 from inbox where message_id='$m5'\") == \$(sqlite3 '$W/PH-NBI/icx.db' \"select sha256 from inbox where message_id='$m5'\") ]]"

# 6. Egress policy: RED is above PH-NBI's AMBER; nothing leaves.
out=$(icx_at JP-NPA submit "$src/docs/samples/case-referral-payload.xml" --to PH-NBI \
  --category case-referral --legal-basis "MLAT test" --retain-until 2031-12-31 --tlp RED 2>&1)
rc=$?
check "a RED message to an AMBER partner is refused at submit (exit 1)" test "$rc" -eq 1
check "the refusal says why" grep -q "above TLP:AMBER" <<<"$out"
check "it was audited" bash -c "sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='outbound.refused'\" | grep -qv '^0$'"
check "and never queued" bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='queued'\") == 0 ]]"

# 7. A duplicate: JP-NPA forgets that m1 was delivered (as after a crash
#    between sending and recording) and sends it again.
retries() { sqlite3 "$W/PH-NBI/icx.db" "select count(*) from audit where event='inbound.retry' and message_id='$m1'"; }
# (a slow machine may already have retried m1 once before its receipt came)
retries0=$(retries)
gw_stop JP-NPA
sqlite3 "$W/JP-NPA/icx.db" "update outbox set state='sent', next_attempt_at=0 where message_id='$m1'"
sqlite3 "$W/JP-NPA/icx.db" "delete from receipts where message_id='$m1'"
gw_start JP-NPA
check "the resent message is delivered again from JP-NPA's view" wait_for 20 delivered JP-NPA "$m1"
check "PH-NBI audited it as a retry" wait_for 10 bash -c "(( \$(sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from audit where event='inbound.retry' and message_id='$m1'\") > $retries0 ))"
sha1=$(sqlite3 "$W/PH-NBI/icx.db" "select sha256 from inbox where message_id='$m1'")
check "each retry record says byte-identical, the original receipt, and the digest" bash -c \
  "! sqlite3 '$W/PH-NBI/icx.db' \"select detail from audit where event='inbound.retry' and message_id='$m1'\" |
   grep -qv '^retry=byte-identical answer=original-receipt peer=JP-NPA sha256=$sha1 original_state=accepted$'"
check "the retry is not recorded as a rejection or a second acceptance" \
  test "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from audit where event in ('inbound.rejected','inbound.accepted') and message_id='$m1'")" -eq 1
check "PH-NBI stored it once" bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from inbox where message_id='$m1'\") == 1 ]]"
check "the receipt JP-NPA got the second time is the original one" bash -c \
  "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select hex(envelope) from receipts where message_id='$m1'\") == \$(sqlite3 '$W/PH-NBI/icx.db' \"select hex(receipt) from inbox where message_id='$m1'\") ]]"

# 8. submit --profile: a domestic CSV export translated for PH-NBI and sent;
#    the victim's name is withheld from the payload PH-NBI receives.
out=$("$icx" submit "$src/tests/data/translate/cases.csv" --profile "$src/config/mappings/npa-case.yaml" \
  --to PH-NBI --legal-basis "MLAT test" --retain-until 2031-12-31 -c "$W/JP-NPA/gateway.yaml" 2>&1)
m8=$(awk '/^queued/ {print $2}' <<<"$out")
check "submit --profile translates and queues" test -n "$m8"
check "the translated referral is delivered" wait_for 20 delivered JP-NPA "$m8"
check "PH-NBI received a case payload without the victim's name" bash -c \
  "sqlite3 '$W/PH-NBI/icx.db' \"select envelope from inbox where message_id='$m8'\" > '$W/m8.xml'; grep -q '<Withheld' '$W/m8.xml' && ! grep -q '架空 花子' '$W/m8.xml'"
out=$("$icx" submit "$src/tests/data/translate/cases-bad.csv" --profile "$src/config/mappings/npa-case.yaml" \
  --to PH-NBI --legal-basis "MLAT test" --retain-until 2031-12-31 -c "$W/JP-NPA/gateway.yaml" 2>&1)
rc=$?
check "a file with an invalid row sends nothing (exit 1)" test "$rc" -eq 1
check "and names file:row:column:field" grep -q "cases-bad.csv:[0-9]*:[0-9]*:" <<<"$out"

# 9. No daemon: commands say so (exit 4).
gw_stop PH-NBI
"$icx" partners -c "$W/PH-NBI/gateway.yaml" >/dev/null 2>"$W/nodaemon"
rc=$?
check "a command without a daemon exits 4" test "$rc" -eq 4
check "and says no daemon is running" grep -q "no icx serve is running" "$W/nodaemon"
finish
