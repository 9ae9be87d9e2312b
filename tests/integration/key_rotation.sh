#!/usr/bin/env bash
# Key rotation with an overlap period, between two real gateways.
# JP-NPA (A) has an RSA key and makes a new ECDSA one; PH-NBI (B) adds the
# new certificate as certificate_next and reloads (SIGHUP): during the
# overlap B accepts envelopes signed by either key, the audit record says
# which certificate verified, and an envelope signed by any other key is
# refused.  A switches to the new key (restart; its old audit checkpoints
# verify through keys.audit_certificates).  B ends the overlap (the new
# certificate becomes certificate, certificate_next goes, SIGHUP): the
# new key still passes, an envelope signed with the old key is refused.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

for id in JP-NPA PH-NBI XX-EVIL; do gw_keys "$id"; done
"$icx" keys gen JP-NPA --out "$W/keys/JP-NPA-new" --alg ecdsa-p256 >/dev/null
fp() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
OLD_FP=$(fp "$W/keys/JP-NPA/cert.pem")
NEW_FP=$(fp "$W/keys/JP-NPA-new/cert.pem")

GW_CHECKPOINT_EVERY=1 gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
PH=$W/PH-NBI/gateway.yaml
PHDB=$W/PH-NBI/icx.db
PFILE=$W/PH-NBI/partners/jp-npa.yaml

audit_detail() { # event message-id
  sqlite3 "$PHDB" "select detail from audit where event='$1' and message_id='$2'"
}
# An envelope JP-NPA -> PH-NBI signed with KEY, queued in JP-NPA's outbox.
inject_signed() { # key-file name -> message id
  "$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --legal-basis "rotation test" --retain-until 2031-12-31 -o "$W/$2.u.xml" \
    "$src/docs/samples/case-referral-payload.xml" >/dev/null 2>&1
  "$icx" envelope sign --key "$1" -o "$W/$2.xml" "$W/$2.u.xml" >/dev/null 2>&1
  local id; id=$(grep -o '<MessageId>[^<]*' "$W/$2.xml" | cut -d'>' -f2)
  outbox_inject JP-NPA "$id" PH-NBI PH-NBI case-referral "$W/$2.xml"
  echo "$id"
}
inbox_state() { sqlite3 "$PHDB" "select state || ' ' || coalesce(reason,'') from inbox where message_id='$1'"; }
state_is() { [[ $(inbox_state "$1") == "$2" ]]; }
# A signature that does not verify is not stored; its audit record says why.
refused_sig() {
  sqlite3 "$PHDB" "select detail from audit where event='inbound.rejected' and message_id='$1'" |
    grep -q 'reason=SIG_INVALID' && [[ -z $(inbox_state "$1") ]]
}

# 1. Before: one certificate.
m1=$(submit_sample JP-NPA PH-NBI)
check "before the rollover: delivered" wait_for 30 delivered JP-NPA "$m1"
check "the audit record names the certificate that verified" \
  bash -c "audit_detail() { sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='inbound.accepted' and message_id='$m1'\"; };
           audit_detail | grep -q 'cert_sha256=$OLD_FP' && ! audit_detail | grep -q 'cert=next'"

# 2. The overlap begins at PH-NBI.
echo "certificate_next: ../../keys/JP-NPA-new/cert.pem" >>"$PFILE"
check "config check accepts certificate_next" "$icx" config check -c "$PH"
check "keys show lists the next certificate" \
  bash -c "'$icx' keys show -c '$PH' | grep -q '^next .*sha256 $NEW_FP'"
sed 's/^certificate_next: .*/certificate_next: ..\/..\/keys\/JP-NPA\/cert.pem/' "$PFILE" >"$W/same.yaml"
mkdir -p "$W/same/partners"; cp "$PH" "$W/same/gateway.yaml"; cp "$W/same.yaml" "$W/same/partners/jp-npa.yaml"
sed -i "s#\.\./\.\./keys#$W/keys#g; s#^certificate: .*#certificate: $W/keys/JP-NPA/cert.pem#" "$W/same/partners/jp-npa.yaml"
sed -i "s#\.\./keys#$W/keys#g" "$W/same/gateway.yaml"
out=$("$icx" config check -c "$W/same/gateway.yaml" 2>&1)
check "config check refuses a certificate_next that is the certificate ($out)" \
  bash -c "grep -q 'certificate_next: the same certificate as certificate' <<<\"\$1\"" _ "$out"
gw_hup PH-NBI
check "the reload is audited with both fingerprints" wait_for 20 bash -c \
  "sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='trust.changed' and partner='JP-NPA'\" | grep -q 'cert_sha256=$OLD_FP next_sha256=$NEW_FP'"

# 3. During the overlap: the old key still passes ...
m2=$(submit_sample JP-NPA PH-NBI)
check "overlap, old key: delivered" wait_for 30 delivered JP-NPA "$m2"
check "overlap, old key: verified by the certificate" \
  bash -c "sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='inbound.accepted' and message_id='$m2'\" | grep -q 'cert_sha256=$OLD_FP'"
# ... and a third key does not.
f1=$(inject_signed "$W/keys/XX-EVIL/key.pem" forged1)
check "overlap, a third key: refused as SIG_INVALID" wait_for 30 refused_sig "$f1"

# 4. JP-NPA switches to its new key (restart).
gw_stop JP-NPA
JP=$W/JP-NPA/gateway.yaml
sed -i -e 's#keys/JP-NPA/key.pem#keys/JP-NPA-new/key.pem#' \
       -e 's#keys/JP-NPA/cert.pem#keys/JP-NPA-new/cert.pem#' "$JP"
out=$(cd "$W/JP-NPA" && timeout 30 "$icx" serve -c gateway.yaml 2>&1); rc=$?
check "the new key without keys.audit_certificates: refused, the old checkpoints do not verify (rc $rc)" \
  bash -c "[[ $rc -ne 0 && $rc -ne 124 ]] && grep -q 'does not verify with this gateway' <<<\"\$1\"" _ "$out"
cat "$W/keys/JP-NPA/cert.pem" "$W/keys/JP-NPA-new/cert.pem" >"$W/keys/jp-audit-certs.pem"
sed -i "/^keys:/a\\  audit_certificates: ../keys/jp-audit-certs.pem" "$JP"
check "config check accepts keys.audit_certificates" "$icx" config check -c "$JP"
gw_start JP-NPA || { bad "JP-NPA starts with its new key"; finish; exit 1; }
ok "JP-NPA starts with its new key"
check "JP-NPA's audit log, old and new checkpoints, verifies" "$icx" audit verify -c "$JP"
m3=$(submit_sample JP-NPA PH-NBI)
check "overlap, new key: delivered" wait_for 30 delivered JP-NPA "$m3"
check "overlap, new key: verified by certificate_next, and the record says so" \
  bash -c "sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='inbound.accepted' and message_id='$m3'\" | grep -q 'cert_sha256=$NEW_FP cert=next'"
o1=$(inject_signed "$W/keys/JP-NPA/key.pem" oldkey1)
check "overlap, the old key (queued by hand): still accepted" wait_for 30 state_is "$o1" "accepted "

# 5. The overlap ends: the new certificate is the certificate.
sed -i -e '/^certificate_next:/d' \
       -e 's#^certificate: .*#certificate: ../../keys/JP-NPA-new/cert.pem#' "$PFILE"
gw_hup PH-NBI
check "the end of the overlap is audited" wait_for 20 bash -c \
  "sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='trust.changed' and partner='JP-NPA'\" | grep -qx 'cert_sha256=$NEW_FP'"
m4=$(submit_sample JP-NPA PH-NBI)
check "after the overlap, new key: delivered" wait_for 30 delivered JP-NPA "$m4"
check "after the overlap, new key: verified by the certificate" \
  bash -c "d=\$(sqlite3 -cmd '.timeout 10000' '$PHDB' \"select detail from audit where event='inbound.accepted' and message_id='$m4'\"); grep -q 'cert_sha256=$NEW_FP' <<<\"\$d\" && ! grep -q 'cert=next' <<<\"\$d\""
o2=$(inject_signed "$W/keys/JP-NPA/key.pem" oldkey2)
check "after the overlap, the old key: refused as SIG_INVALID" wait_for 30 refused_sig "$o2"
check "icx envelope verify agrees: old key refused" \
  bash -c "! '$icx' envelope verify -c '$PH' '$W/oldkey2.xml' >/dev/null 2>&1"
finish
