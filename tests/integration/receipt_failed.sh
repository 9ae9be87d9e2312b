#!/usr/bin/env bash
# A receipt that cannot be built is never dropped silently.  PH-NBI runs
# with a copy of the schemas whose receipt Status admits only "positive",
# so every negative receipt it must issue fails its own schema check
# (a stand-in for any build failure: signer, memory, schema).  For an
# envelope refused on arrival (the worker's receipt) and for a replay (a
# receipt signed later, on the loop's request), PH-NBI must log
# event=receipt.failed and write one receipt.failed audit record naming
# the peer, the digest of the bytes and the error code.  Positive receipts
# still go out.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_RETRY_INITIAL=300 GW_RETRY_MAX=600 # one attempt while the test looks
for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false JP-NPA
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
cp -r "$src/schemas" "$W/schemas-positive-only"
perl -0pi -e 's#\s*<xs:enumeration value="negative"/>##' "$W/schemas-positive-only/receipt-1.xsd"
check "the schema copy admits no negative receipt" bash -c "! grep -q 'value=\"negative\"' '$W/schemas-positive-only/receipt-1.xsd'"
printf 'paths:\n  schemas: ../schemas-positive-only\n' >>"$W/PH-NBI/gateway.yaml"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
phdb=$W/PH-NBI/icx.db

m0=$(submit_sample JP-NPA PH-NBI)
check "a legitimate message is delivered (positive receipts are built)" wait_for 30 delivered JP-NPA "$m0"

failed_for() { # sha256 -> receipt.failed records naming it
  sqlite3 "$phdb" "select count(*) from audit where event='receipt.failed' and detail like '%sha256=$1 %'"
}

# 1. Refused on arrival: the signature does not verify (tampered).
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
  --legal-basis "receipt failure" --retain-until 2031-12-31 -o "$W/t.u.xml" \
  "$src/docs/samples/case-referral-payload.xml" >/dev/null 2>&1
"$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/t.xml" "$W/t.u.xml" >/dev/null
perl -0pi -e 's#<Title>#<Title>X#' "$W/t.xml"
t=$(grep -o '<MessageId>[^<]*' "$W/t.xml" | cut -d'>' -f2)
tsha=$(sha256sum "$W/t.xml" | cut -c1-64)
outbox_inject JP-NPA "$t" PH-NBI PH-NBI case-referral "$W/t.xml"
check "tampered: refused at PH-NBI (SIG_INVALID)" wait_for 30 bash -c \
  "sqlite3 '$phdb' \"select detail from audit where event='inbound.rejected' and detail like '%sha256=$tsha%'\" | grep -q reason=SIG_INVALID"
check "tampered: the receipt that could not be built is audited (receipt.failed)" \
  wait_for 10 bash -c "[[ \$(sqlite3 '$phdb' \"select count(*) from audit where event='receipt.failed' and detail like '%sha256=$tsha %'\") == 1 ]]"
check "tampered: the record names the message, the peer, the digest and the error" bash -c \
  "[[ \$(sqlite3 '$phdb' \"select message_id || '|' || partner || '|' || detail from audit where event='receipt.failed' and detail like '%sha256=$tsha %'\") == '$t|JP-NPA|peer=JP-NPA sha256=$tsha error=ICX_EINVAL' ]]"
check "tampered: PH-NBI logs it" grep -q "event=receipt.failed message_id=$t partner=JP-NPA peer=JP-NPA sha256=$tsha error=ICX_EINVAL" "$W/PH-NBI/log"

# 2. A replay: m0's MessageId with other bytes, answered by a receipt the
#    loop asks a worker to sign.
sed "s#<MessageId>[^<]*#<MessageId>$m0#" "$W/t.u.xml" >"$W/r.u.xml"
"$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/r.xml" "$W/r.u.xml" >/dev/null
rsha=$(sha256sum "$W/r.xml" | cut -c1-64)
sqlite3 "$W/JP-NPA/icx.db" "delete from receipts where message_id='$m0'"
outbox_inject JP-NPA "$m0" PH-NBI PH-NBI case-referral "$W/r.xml"
check "replay: refused at PH-NBI (REPLAY)" wait_for 30 bash -c \
  "sqlite3 '$phdb' \"select detail from audit where event='inbound.rejected' and message_id='$m0'\" | grep -q reason=REPLAY"
check "replay: the receipt that could not be built is audited (receipt.failed)" \
  wait_for 10 bash -c "[[ \$(sqlite3 '$phdb' \"select count(*) from audit where event='receipt.failed' and message_id='$m0' and detail like '%sha256=$rsha %'\") == 1 ]]"
check "replay: PH-NBI logs it" grep -q "event=receipt.failed message_id=$m0 partner=JP-NPA peer=JP-NPA sha256=$rsha" "$W/PH-NBI/log"

check "PH-NBI's audit chain verifies" "$icx" audit verify -c "$W/PH-NBI/gateway.yaml"
finish
