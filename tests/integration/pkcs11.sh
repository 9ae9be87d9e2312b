#!/usr/bin/env bash
# The signing key in a PKCS#11 token (SoftHSM2 in a temporary folder):
# `icx keys gen --pkcs11` makes the key pair inside the token and writes
# the certificate and CURVE keys; JP-NPA serves with the token key
# (ECDSA P-256) and PH-NBI accepts its envelopes, which the xmlsec1
# command line also verifies with the certificate alone; an RSA key in
# the token signs through `icx envelope sign -c`.  A wrong PIN, a missing
# token, a token removed, a missing key, a certificate of another key, a
# module that cannot be loaded and a PIN file readable by others are
# refused by `icx config check` and by `icx serve` at start, with a
# message naming what is wrong.  The token's module and PIN live in the
# signer process (the daemon maps neither; a killed signer is restarted
# and logs in again).  The PIN never appears in a log.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

module=${ICX_TEST_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
command -v softhsm2-util >/dev/null && [[ -e $module ]] ||
  { echo "softhsm2 missing (scripts/deps.sh installs it)"; exit 1; }
command -v xmlsec1 >/dev/null || { echo "xmlsec1 missing (scripts/deps.sh installs it)"; exit 1; }

export SOFTHSM2_CONF=$W/softhsm2.conf
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$W/tokens" >"$SOFTHSM2_CONF"
PIN=jp-pin-73914
softhsm2-util --init-token --free --label jp-hsm --pin "$PIN" --so-pin so-73914 >/dev/null
softhsm2-util --init-token --free --label spare --pin "$PIN" --so-pin so-73914 >/dev/null
printf '%s\n' "$PIN" >"$W/jp.pin"; chmod 600 "$W/jp.pin"
printf 'not-the-pin\n' >"$W/wrong.pin"; chmod 600 "$W/wrong.pin"
EC="pkcs11:token=jp-hsm;object=jp-sign-ec"
RSA="pkcs11:token=jp-hsm;object=jp-sign-rsa"

# 1. Key generation inside the token.
out=$("$icx" keys gen JP-NPA --out "$W/keys/JP-NPA" --alg ecdsa-p256 --pkcs11 "$EC" \
      --module "$module" --pin-file "$W/jp.pin" 2>&1); rc=$?
check "keys gen --pkcs11 (ECDSA P-256): exit 0 (got $rc: $out)" test "$rc" -eq 0
check "it prints the certificate fingerprint and names the token key" \
  bash -c "grep -q 'certificate sha256 [0-9a-f]\{64\}' <<<\"\$1\" && grep -qF 'private key in the token $EC' <<<\"\$1\"" _ "$out"
check "no private key file is written; cert.pem and CURVE keys are" \
  bash -c "[[ ! -e '$W/keys/JP-NPA/key.pem' && -s '$W/keys/JP-NPA/cert.pem' && -s '$W/keys/JP-NPA/curve.pub' ]] &&
           [[ \$(stat -c %a '$W/keys/JP-NPA/curve.key') == 600 ]]"
check "the certificate holds an EC P-256 key, CN=JP-NPA, self-signed and valid" \
  bash -c "openssl x509 -in '$W/keys/JP-NPA/cert.pem' -noout -text | grep -q 'NIST CURVE: P-256' &&
           openssl x509 -in '$W/keys/JP-NPA/cert.pem' -noout -subject | grep -q 'CN *= *JP-NPA' &&
           openssl verify -CAfile '$W/keys/JP-NPA/cert.pem' '$W/keys/JP-NPA/cert.pem' >/dev/null"
out=$("$icx" keys gen JP-NPA --out "$W/keys/again" --alg ecdsa-p256 --pkcs11 "$EC" \
      --module "$module" --pin-file "$W/jp.pin" 2>&1); rc=$?
check "keys gen --pkcs11 refuses a label already in the token (exit $rc: $out)" \
  bash -c "[[ $rc -ne 0 ]] && grep -q 'exists; refusing' <<<\"\$1\"" _ "$out"
out=$("$icx" keys gen JP-NPA --out "$W/keys/wrong" --pkcs11 "pkcs11:token=jp-hsm;object=x" \
      --module "$module" --pin-file "$W/wrong.pin" 2>&1); rc=$?
check "keys gen --pkcs11 with a wrong PIN: refused (exit $rc: $out)" \
  bash -c "[[ $rc -ne 0 ]] && grep -q 'wrong PIN' <<<\"\$1\"" _ "$out"
"$icx" keys gen JP-NPA --out "$W/keys/x" --pkcs11 "$EC" --module "$module" --pin "$PIN" >/dev/null 2>&1; rc=$?
check "there is no --pin option (exit 2, got $rc)" test "$rc" -eq 2
ICX_TEST_PIN=$PIN "$icx" keys gen JP-NPA --out "$W/keys/JP-RSA" --alg rsa2048 --pkcs11 "$RSA" \
  --module "$module" --pin-env ICX_TEST_PIN >/dev/null 2>&1; rc=$?
check "keys gen --pkcs11 (RSA 2048, PIN from the environment): exit 0 (got $rc)" test "$rc" -eq 0
ICX_TEST_PIN=$PIN "$icx" keys gen JP-NPA --out "$W/keys/spare" --alg ecdsa-p256 \
  --pkcs11 "pkcs11:token=spare;object=k" --module "$module" --pin-env ICX_TEST_PIN >/dev/null 2>&1

# 2. JP-NPA signs with the token key.
gw_keys PH-NBI
GW_CHECKPOINT_EVERY=2 gw_write JP-NPA yes false JP-NPA
use_token() { # gateway.yaml uri [module] [pin_file] [certificate]
  local f=$1 uri=$2 mod=${3:-$module} pin=${4:-$W/jp.pin} cert=${5:-../keys/JP-NPA/cert.pem}
  sed -i -e '/^  private_key:/d' -e '/^  pkcs11_module:/d' -e '/^  pin_file:/d' \
         -e '/^  certificate:/d' "$f"
  sed -i "/^keys:/a\\  private_key: \"$uri\"\\n  pkcs11_module: $mod\\n  pin_file: $pin\\n  certificate: $cert" "$f"
}
JPY=$W/JP-NPA/gateway.yaml
use_token "$JPY" "$EC"
gw_partner JP-NPA PH-NBI accept direct
out=$("$icx" config check -c "$JPY" 2>&1); rc=$?
check "config check with the token key: ok (exit $rc: $out)" test "$rc" -eq 0
gw_start JP-NPA || { bad "JP-NPA starts with its key in the token"; finish; exit 1; }
ok "JP-NPA starts with its key in the token"
cp "$JPY" "$W/jp-good.yaml" # now with the port partners know
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

m1=$(submit_sample JP-NPA PH-NBI)
check "JP-NPA -> PH-NBI delivered with a verified receipt" wait_for 30 delivered JP-NPA "$m1"
check "PH-NBI accepted the token-signed envelope" \
  bash -c "'$icx' inbox -c '$W/PH-NBI/gateway.yaml' | grep -q '$m1.*accepted'"
m2=$(submit_sample PH-NBI JP-NPA)
check "PH-NBI -> JP-NPA delivered (JP-NPA's receipt signed by the token)" wait_for 30 delivered PH-NBI "$m2"
sqlite3 "$W/PH-NBI/icx.db" "select envelope from inbox where message_id='$m1'" >"$W/m1.xml"
check "xmlsec1 verifies the token-signed envelope with the certificate alone" \
  xmlsec1 --verify --pubkey-cert-pem "$W/keys/JP-NPA/cert.pem" --enabled-reference-uris empty \
    --enabled-key-data x509 "$W/m1.xml"
check "its signature is ECDSA-SHA256" grep -q 'xmldsig-more#ecdsa-sha256' "$W/m1.xml"
check "the key.loaded log line names the certificate" grep -q 'key.loaded.*alg=ecdsa-sha256' "$W/JP-NPA/log"

# The token's module, its session and the PIN are the signer process's.
jp=${GW_PID[JP-NPA]}; js=$(gw_signer JP-NPA); so=$(realpath "$module")
check "a signer process holds the token key" test -n "$js"
check "the daemon does not map the token's module" bash -c "! grep -qF '$so' /proc/$jp/maps"
check "the signer does" grep -qF "$so" "/proc/$js/maps"
python3 "$src/tests/integration/tools/memscan.py" "$jp" --text "$PIN" >"$W/scan-pin"
check "the PIN is nowhere in the daemon's memory" test $? -eq 1
check "the signer runs with no new privileges, under a seccomp filter" \
  bash -c "grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$js/status && ! grep -L '^Seccomp:[[:space:]]*2' /proc/$js/task/*/status | grep -q ."
kill -9 "$js"
m4=$(submit_sample JP-NPA PH-NBI)
check "the token signer killed: the next message is delivered" wait_for 30 delivered JP-NPA "$m4"
new_signer() {
  local n; n=$(gw_signer JP-NPA)
  [[ -n $n && $n != "$js" ]] && grep -q 'signer.started.*generation=2' "$W/JP-NPA/log"
}
check "by a new signer, logged in to the token again" new_signer
gw_stop JP-NPA
check "icx audit verify: checkpoints signed by the token verify" "$icx" audit verify -c "$JPY"
check "the PIN appears in no log" bash -c "! grep -rqF '$PIN' '$W/JP-NPA/log' '$W/PH-NBI/log'"

# 3. RSA in the token, through icx envelope sign -c.
cp "$W/jp-good.yaml" "$W/JP-NPA/rsa.yaml"
use_token "$W/JP-NPA/rsa.yaml" "$RSA" "$module" "$W/jp.pin" ../keys/JP-RSA/cert.pem
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
  --legal-basis "token test" --retain-until 2031-12-31 -o "$W/rsa.u.xml" \
  "$src/docs/samples/case-referral-payload.xml" >/dev/null 2>&1
check "icx envelope sign -c signs with the RSA key in the token" \
  "$icx" envelope sign -c "$W/JP-NPA/rsa.yaml" -o "$W/rsa.xml" "$W/rsa.u.xml"
check "xmlsec1 verifies it (RSA-SHA256) with the certificate alone" \
  xmlsec1 --verify --pubkey-cert-pem "$W/keys/JP-RSA/cert.pem" --enabled-reference-uris empty \
    --enabled-key-data x509 "$W/rsa.xml"
check "icx envelope verify accepts it" \
  "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-RSA/cert.pem" "$W/rsa.xml"

# The PIN from the environment instead of a file.
cp "$W/jp-good.yaml" "$W/JP-NPA/env.yaml"
sed -i 's#^  pin_file: .*#  pin_env: ICX_TEST_PIN#' "$W/JP-NPA/env.yaml"
check "config check with keys.pin_env set: ok" \
  env ICX_TEST_PIN="$PIN" "$icx" config check -c "$W/JP-NPA/env.yaml"
out=$(env -u ICX_TEST_PIN "$icx" config check -c "$W/JP-NPA/env.yaml" 2>&1); rc=$?
check "config check with keys.pin_env unset: exit 1 naming it (got $rc: $out)" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'environment variable ICX_TEST_PIN (the token PIN) is not set' <<<\"\$1\"" _ "$out"

# 4. What is refused, by config check and by serve at start.
refused() { # name, what the message says, then the edit of gateway.yaml
  local name=$1 says=$2; shift 2
  cp "$W/jp-good.yaml" "$JPY"
  "$@"
  local out rc
  out=$("$icx" config check -c "$JPY" 2>&1); rc=$?
  check "config check, $name: exit 1 naming it (got $rc: $out)" \
    bash -c "[[ $rc -eq 1 ]] && grep -qF -- \"\$1\" <<<\"\$2\"" _ "$says" "$out"
  out=$(cd "$W/JP-NPA" && timeout 30 "$icx" serve -c gateway.yaml 2>&1); rc=$?
  check "serve, $name: exits at start naming it (got $rc: $out)" \
    bash -c "[[ $rc -ne 0 && $rc -ne 124 ]] && grep -qF -- \"\$1\" <<<\"\$2\"" _ "$says" "$out"
}
refused "wrong PIN" 'PKCS#11 token "jp-hsm": wrong PIN' \
  use_token "$JPY" "$EC" "$module" "$W/wrong.pin"
refused "missing token" 'no token labelled "jp-hsn" (tokens present: "' \
  use_token "$JPY" "pkcs11:token=jp-hsn;object=jp-sign-ec"
refused "missing key" 'PKCS#11 token "jp-hsm": no private key object="jp-sign-old"' \
  use_token "$JPY" "pkcs11:token=jp-hsm;object=jp-sign-old"
refused "certificate of another key" 'is not the certificate of the key in PKCS#11 token "jp-hsm"' \
  use_token "$JPY" "$EC" "$module" "$W/jp.pin" ../keys/JP-RSA/cert.pem
refused "module not loadable" "PKCS#11 module $W/nope.so: cannot load" \
  use_token "$JPY" "$EC" "$W/nope.so"
chmod 644 "$W/jp.pin"
refused "PIN file readable by others" "private key is accessible by group or others" true
chmod 600 "$W/jp.pin"
refused "no PIN source" "a key in a token needs its PIN" sed -i '/^  pin_file:/d' "$JPY"
refused "pin-value in the URI" "pin-value is refused" \
  use_token "$JPY" "$EC?pin-value=$PIN"
softhsm2-util --delete-token --token spare >/dev/null
refused "token removed" 'no token labelled "spare" (tokens present: "jp-hsm")' \
  use_token "$JPY" "pkcs11:token=spare;object=k" "$module" "$W/jp.pin" ../keys/spare/cert.pem

# 5. Back to the good configuration: serves again.
cp "$W/jp-good.yaml" "$JPY"
gw_start JP-NPA && ok "JP-NPA starts again with the right PIN" || bad "JP-NPA starts again"
m3=$(submit_sample JP-NPA PH-NBI)
check "and delivers" wait_for 30 delivered JP-NPA "$m3"
finish
