#!/usr/bin/env bash
# Two real gateways, JP-NPA and PH-NBI, that exchange only files: each
# writes into a folder the other reads (adapter filedrop; no sockets
# between them).  The message tests of the broker over folders: delivery
# with verified receipts both ways, a resent file answered with the
# original receipt, a restart of both that processes nothing twice, kill -9
# of the receiver in the middle of a batch, a missing folder reported and
# retried, and a tampered file moved to rejected/ with its reason.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

# Retries far apart: a file waits in a folder until the partner's next
# scan, and a quick resend would only add duplicates to the picture.
export GW_RETRY_INITIAL=5 GW_RETRY_MAX=10
D=$W/drop
J2P=$D/jp-to-ph  # JP-NPA writes, PH-NBI reads
P2J=$D/ph-to-jp  # PH-NBI writes, JP-NPA reads
mkdir -p "$J2P" "$P2J"
for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA no false JP-NPA
gw_partner_filedrop JP-NPA PH-NBI direct "$J2P" "$P2J"
gw_write PH-NBI no false PH-NBI
gw_partner_filedrop PH-NBI JP-NPA direct "$P2J" "$J2P"
gw_start JP-NPA && gw_start PH-NBI || { bad "two gateways start"; finish; exit 1; }
ok "two filedrop gateways start (no listening socket, no CURVE partner)"

db() { sqlite3 "$W/$1/icx.db" "$2"; }
count_audit() { db "$1" "select count(*) from audit where event='$2'${3:+ and message_id='$3'}"; }
files() { find "$1" -maxdepth 1 -type f -name "${2:-*}" | wc -l; }

# 1. Delivery with a verified receipt, both ways.
m1=$(submit_sample JP-NPA PH-NBI)
check "JP-NPA -> PH-NBI delivered with a verified receipt" wait_for 20 delivered JP-NPA "$m1"
check "PH-NBI stored it as accepted" \
  test "$(db PH-NBI "select state from inbox where message_id='$m1'")" = accepted
check "the envelope file went to processed/ on PH-NBI's side" \
  test "$(files "$J2P/processed" '*.xml')" -eq 1
quiet() { [[ $(files "$J2P") -eq 0 && $(files "$P2J") -eq 0 ]]; }
check "no envelope is left in the folder" wait_for 10 quiet
check "the receipt travelled as a .receipt.xml file" \
  test "$(files "$P2J/processed" '*.receipt.xml')" -eq 1
check "the file is the envelope byte for byte (named by its SHA-256)" bash -c \
  "f=\$(ls '$J2P/processed'/*.xml); [[ \$(basename \$f .xml) == \$(sha256sum < \$f | cut -c1-64) ]] &&
   [[ \$(sha256sum < \$f | cut -c1-64) == \$(sqlite3 '$W/JP-NPA/icx.db' \"select sha256 from outbox where message_id='$m1'\") ]]"
m2=$(submit_sample PH-NBI JP-NPA)
check "PH-NBI -> JP-NPA delivered with a verified receipt" wait_for 20 delivered PH-NBI "$m2"
check "the timeline names the filedrop adapter" bash -c \
  "'$icx' status '$m2' -c '$W/PH-NBI/gateway.yaml' | grep -q 'adapter=filedrop'"

# 2. A duplicate: the partner's folder gets the same envelope again.
retries0=$(db PH-NBI "select count(*) from audit where event='inbound.retry' and message_id='$m1'")
orig=$J2P/processed/$(db JP-NPA "select sha256 from outbox where message_id='$m1'").xml
cp "$orig" "$J2P/.again.xml.tmp" && mv "$J2P/.again.xml.tmp" "$J2P/again.xml"
check "the resent file is answered as a retry (audited inbound.retry, retry=byte-identical)" \
  wait_for 20 bash -c "(( \$(sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from audit where event='inbound.retry' and message_id='$m1' and detail like 'retry=byte-identical %'\") > $retries0 ))"
check "and moved to processed/ too" wait_for 10 test -f "$J2P/processed/again.xml"
check "PH-NBI stored it once" test "$(db PH-NBI "select count(*) from inbox where message_id='$m1'")" -eq 1
hexof="hex(receipt)" # the stored receipt's bytes as uppercase hex
[[ -n "${ICX_TEST_STORE:-}" ]] && hexof="upper(encode(receipt, 'hex'))" # BYTEA
check "JP-NPA got the original receipt again, byte for byte" wait_for 20 bash -c \
  "r=\$(sqlite3 '$W/PH-NBI/icx.db' \"select $hexof from inbox where message_id='$m1'\") &&
   [[ \$(for f in '$P2J/processed'/*.receipt.xml*; do od -An -v -tx1 \$f | tr -d ' \n' | tr a-f A-F; echo; done | grep -c \"^\$r\$\") -ge 2 ]]"
check "JP-NPA recorded it as a duplicate receipt" \
  wait_for 10 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='receipt.duplicate' and message_id='$m1'\") -ge 1 ]]"

# 3. Restart of both: nothing is processed twice.
wait_for 20 quiet
gw_stop JP-NPA; gw_stop PH-NBI
before_in_ph=$(db PH-NBI "select count(*) from audit where event like 'inbound.%'")
before_in_jp=$(db JP-NPA "select count(*) from audit where event like 'inbound.%' or event like 'receipt.%'")
before_files=$(find "$D" -type f | sort | md5sum)
gw_start JP-NPA && gw_start PH-NBI
sleep 3
check "after a restart PH-NBI handled nothing again" \
  test "$(db PH-NBI "select count(*) from audit where event like 'inbound.%'")" -eq "$before_in_ph"
check "after a restart JP-NPA handled nothing again" \
  test "$(db JP-NPA "select count(*) from audit where event like 'inbound.%' or event like 'receipt.%'")" -eq "$before_in_jp"
check "and no file moved" test "$(find "$D" -type f | sort | md5sum)" = "$before_files"

# 4. kill -9 of the receiver in the middle of a batch of 30.
payload=$src/docs/samples/case-referral-payload.xml
batch=(); for i in $(seq 30); do batch+=("$payload"); done
icx_at JP-NPA submit "${batch[@]}" --to PH-NBI --category case-referral \
  --legal-basis "MLAT test" --retain-until 2031-12-31 | awk '/^queued/ {print $2}' | sort >"$W/batch"
wait_for 20 bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from inbox\") -ge 8 ]]"
gw_kill PH-NBI
echo "     receiver killed holding $(db PH-NBI "select count(*) from inbox") messages"
gw_start PH-NBI
check "after the receiver's kill -9 all 30 are delivered" wait_for 60 bash -c \
  "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered' and recipient='PH-NBI'\") -ge 31 ]]"
check "the receiver holds each of them exactly once" diff "$W/batch" \
  <(db PH-NBI "select message_id from inbox where state='accepted' and message_id in ($(sed "s/.*/'&'/" "$W/batch" | paste -sd,))" | sort)
check "the receiver stored no MessageId twice" \
  test "$(db PH-NBI "select count(*) - count(distinct message_id) from inbox")" -eq 0
check "every envelope file was moved once handled" wait_for 20 quiet

# 5. The partner's folder disappears (medium unmounted): reported, retried.
mv "$J2P" "$D/unmounted"
m3=$(submit_sample JP-NPA PH-NBI)
check "a missing outbox folder is reported once" \
  wait_for 20 bash -c "[[ \$(grep -c 'event=filedrop.outbox_unusable' '$W/JP-NPA/log') -eq 1 ]]"
check "the message waits and is retried" wait_for 20 bash -c \
  "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select attempts from outbox where message_id='$m3'\") -ge 2 ]]"
check "still reported only once" test "$(grep -c 'event=filedrop.outbox_unusable' "$W/JP-NPA/log")" -eq 1
check "PH-NBI reports its missing inbox" grep -q 'event=filedrop.inbox_unusable' "$W/PH-NBI/log"
mv "$D/unmounted" "$J2P"
check "the folder is back: delivered" wait_for 30 delivered JP-NPA "$m3"
check "the return was logged" grep -q 'event=filedrop.outbox_ok' "$W/JP-NPA/log"

# 6. A tampered file: rejected/ with a reason file, nothing stored.
sed 's/Osaka/Kyoto/' "$orig" >"$J2P/.tampered.tmp" && mv "$J2P/.tampered.tmp" "$J2P/tampered.xml"
check "a tampered file goes to rejected/" wait_for 20 test -f "$J2P/rejected/tampered.xml"
check "beside its reason file, which names SIG_INVALID" grep -q '^SIG_INVALID: ' "$J2P/rejected/tampered.xml.reason"
check "PH-NBI stored nothing new for it" test "$(db PH-NBI "select count(*) from inbox where message_id='$m1'")" -eq 1
check "and audited the rejection" \
  test "$(db PH-NBI "select count(*) from audit where event='inbound.rejected' and detail like '%SIG_INVALID%'")" -ge 1
finish
