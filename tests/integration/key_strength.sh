#!/usr/bin/env bash
# The minimum key strength (RSA >= 2048 bits, ECDSA on P-256/P-384/P-521)
# on every face that loads a key: `icx config check`, `icx serve` at start
# and on SIGHUP, `icx envelope verify` and `icx envelope sign`, and
# `icx keys gen`.  Weak keys are made here with openssl: RSA 1024, EC on
# P-224 and on secp256k1, DSA 2048.  Each refusal exits 1 and names the
# file, the key and the rule.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

RULE="the minimum is RSA 2048 or ECDSA P-256/P-384/P-521"
K=$W/weak
mkdir -p "$K"
declare -A SAYS=(
  [rsa1024]="RSA 1024 bits"
  [p224]="EC on curve P-224 (secp224r1)"
  [secp256k1]="EC on curve secp256k1"
  [dsa2048]="DSA 2048 bits"
)
openssl dsaparam -out "$K/dsa.param" 2048 2>/dev/null
weak_cert() { # kind: $K/KIND.key and $K/KIND.pem (CN PH-NBI)
  local new
  case $1 in
    rsa1024) new=(-newkey rsa:1024) ;;
    p224) new=(-newkey ec -pkeyopt ec_paramgen_curve:P-224) ;;
    secp256k1) new=(-newkey ec -pkeyopt ec_paramgen_curve:secp256k1) ;;
    dsa2048) new=(-newkey "dsa:$K/dsa.param") ;;
  esac
  openssl req -x509 "${new[@]}" -nodes -keyout "$K/$1.key" -out "$K/$1.pem" \
    -subj /CN=PH-NBI -days 30 2>/dev/null && chmod 600 "$K/$1.key"
}
for kind in "${!SAYS[@]}"; do
  check "openssl makes a $kind certificate" weak_cert "$kind"
done

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_write PH-NBI no false JP-NPA
gw_partner PH-NBI JP-NPA connect direct "tcp://127.0.0.1:1"
cp "$W/JP-NPA/partners/ph-nbi.yaml" "$W/ph-nbi.good"
pfile=$W/JP-NPA/partners/ph-nbi.yaml
use_partner_cert() { sed -i "s#^certificate: .*#certificate: $1#" "$pfile"; }

# An envelope from PH-NBI to JP-NPA, signed with PH-NBI's real key.
"$icx" envelope build --from PH-NBI --to JP-NPA --category case-referral \
  --legal-basis "key strength" --retain-until 2031-12-31 -o "$W/env.u.xml" \
  "$src/docs/samples/case-referral-payload.xml" >/dev/null 2>&1
"$icx" envelope sign --key "$W/keys/PH-NBI/key.pem" -o "$W/env.xml" "$W/env.u.xml" >/dev/null 2>&1
check "a strong partner certificate verifies" \
  "$icx" envelope verify -c "$W/JP-NPA/gateway.yaml" "$W/env.xml"

for kind in rsa1024 p224 secp256k1 dsa2048; do
  says=${SAYS[$kind]}
  use_partner_cert "../../weak/$kind.pem"
  at="2:14: certificate: ../../weak/$kind.pem: $says; $RULE"
  want="$pfile:$at"

  out=$("$icx" config check -c "$W/JP-NPA/gateway.yaml" 2>&1); rc=$?
  check "config check, partner certificate $kind: exit 1 (got $rc)" test "$rc" -eq 1
  check "config check, partner certificate $kind: names file:line:col, key and rule" \
    grep -qF "$want" <<<"$out"

  rm -f "$W/JP-NPA/log"
  (cd "$W/JP-NPA" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$W/JP-NPA/log" 2>&1; rc=$?
  check "icx serve with a $kind partner certificate does not start: exit 1 (got $rc)" test "$rc" -eq 1
  check "icx serve says why ($kind)" grep -qF "partners/ph-nbi.yaml:$at" "$W/JP-NPA/log"
  check "icx serve with a $kind partner certificate made no store" test ! -e "$W/JP-NPA/icx.db"

  out=$("$icx" envelope verify -c "$W/JP-NPA/gateway.yaml" "$W/env.xml" 2>&1); rc=$?
  check "envelope verify -c, $kind partner certificate: exit 1 (got $rc)" test "$rc" -eq 1
  check "envelope verify -c, $kind: names the file, key and rule" grep -qF "$want" <<<"$out"

  out=$("$icx" envelope verify --as JP-NPA --trust "PH-NBI=$K/$kind.pem" "$W/env.xml" 2>&1); rc=$?
  check "envelope verify --trust $kind certificate: exit 1 (got $rc)" test "$rc" -eq 1
  check "envelope verify --trust $kind: names the file, key and rule" \
    grep -qF "certificate of PH-NBI: $K/$kind.pem: $says; $RULE" <<<"$out"

  out=$("$icx" envelope sign --key "$K/$kind.key" -o "$W/weak-signed.xml" "$W/env.u.xml" 2>&1); rc=$?
  check "envelope sign with a $kind key: exit 1 (got $rc)" test "$rc" -eq 1
  check "envelope sign with a $kind key: names the file, key and rule" \
    grep -qF "$K/$kind.key: $says; $RULE" <<<"$out"
done
cp "$W/ph-nbi.good" "$pfile"

# The gateway's own certificate, and its own private key behind a strong
# certificate (the daemon loads the key to sign).
gw=$W/JP-NPA/gateway.yaml
cp "$gw" "$W/gateway.good"
sed -i "s#^  certificate: .*#  certificate: ../weak/rsa1024.pem#" "$gw"
out=$("$icx" config check -c "$gw" 2>&1); rc=$?
check "config check, own certificate rsa1024: exit 1 (got $rc)" test "$rc" -eq 1
check "config check, own certificate rsa1024: names file:line:col, key and rule" \
  grep -qF "$gw:4:16: keys.certificate: ../weak/rsa1024.pem: RSA 1024 bits; $RULE" <<<"$out"
cp "$W/gateway.good" "$gw"
sed -i "s#^  private_key: .*#  private_key: ../weak/rsa1024.key#" "$gw"
(cd "$W/JP-NPA" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$W/JP-NPA/log" 2>&1; rc=$?
check "icx serve with an rsa1024 private key does not start: exit 1 (got $rc)" test "$rc" -eq 1
check "icx serve says why (own key)" grep -qF "../weak/rsa1024.key: RSA 1024 bits; $RULE" "$W/JP-NPA/log"
cp "$W/gateway.good" "$gw"

# A running gateway refuses a reload that brings a weak partner
# certificate, and keeps serving with the configuration it has.
gw_start JP-NPA || { bad "JP-NPA starts with strong keys"; finish; exit 1; }
use_partner_cert "../../weak/rsa1024.pem"
gw_hup JP-NPA
check "SIGHUP with an rsa1024 partner certificate: the reload is refused, with the rule" \
  wait_for 10 grep -qF "RSA 1024 bits; $RULE" "$W/JP-NPA/log"
check "JP-NPA still runs" kill -0 "${GW_PID[JP-NPA]}"
check "JP-NPA still answers" bash -c "\"$icx\" partners -c \"$gw\" >/dev/null"
cp "$W/ph-nbi.good" "$pfile"
gw_stop JP-NPA

# icx keys gen offers no weak algorithm.
for alg in rsa1024 ecdsa-p224 dsa; do
  out=$("$icx" keys gen JP-NPA --out "$W/gen-$alg" --alg "$alg" 2>&1); rc=$?
  check "keys gen --alg $alg is refused (exit 2, got $rc)" test "$rc" -eq 2
  check "keys gen --alg $alg: no key written" test ! -e "$W/gen-$alg/key.pem"
done
finish
