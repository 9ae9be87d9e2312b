#!/usr/bin/env bash
# The ICX demo: installs what is missing, builds, then shows the main path.
# Everything it makes goes into demo/ (removed and remade on each run).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/deps.sh"
bash "$top/scripts/build.sh" >/dev/null
icx=$top/build/gateway/cli/icx
demo=$top/demo
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. Keys for two agencies: JP-NPA (RSA-2048) and PH-NBI (ECDSA P-256)"
run "$icx" keys gen JP-NPA --out keys/JP-NPA
run "$icx" keys gen PH-NBI --out keys/PH-NBI --alg ecdsa-p256
run "$icx" keys show keys/JP-NPA keys/PH-NBI

step "2. JP-NPA builds a case-referral envelope around a sample payload"
run "$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --tlp AMBER --code H2 --legal-basis "MLAT JP-PH art. 3; NPA case JP-NPA-2026-CSE-00417" \
    --retain-until 2036-12-31 --expires-in 604800 \
    -o referral.unsigned.xml "$top/docs/samples/case-referral-payload.xml"
run "$icx" envelope show referral.unsigned.xml

step "3. JP-NPA signs it (enveloped XML-DSig, exclusive c14n, RSA-SHA256)"
run "$icx" envelope sign --key keys/JP-NPA/key.pem -o referral.xml referral.unsigned.xml
grep -o '<ds:SignatureMethod Algorithm="[^"]*"' referral.xml

step "4. PH-NBI verifies it with JP-NPA's certificate from its trust store"
run "$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem referral.xml

step "5. A tampered copy (one character of the payload changed) is rejected"
sed 's/JP-NPA-2026-CSE-00417/JP-NPA-2026-CSE-00418/' referral.xml > tampered.xml
set +e
"$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem tampered.xml
rc=$?
set -e
echo "(exit code $rc)"
[[ $rc -eq 1 ]] || { echo "demo: the tampered copy was not rejected" >&2; exit 1; }

step "6. An envelope signed by PH-NBI's key but claiming to come from JP-NPA is rejected"
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --legal-basis "forged" --retain-until 2036-12-31 \
    -o forged.unsigned.xml "$top/docs/samples/case-referral-payload.xml" 2>/dev/null
"$icx" envelope sign --key keys/PH-NBI/key.pem -o forged.xml forged.unsigned.xml
set +e
"$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem \
    --trust PH-NBI=keys/PH-NBI/cert.pem forged.xml
rc=$?
set -e
echo "(exit code $rc)"
[[ $rc -eq 1 ]] || { echo "demo: the forged envelope was not rejected" >&2; exit 1; }

step "7. Three gateways on loopback: JP-NPA, PH-NBI (behind a firewall: it only connects out) and the hub INT-ICPO"
export ICX_BIN=$icx ICX_SOURCE_DIR=$top ICX_WORK=$demo/gateways ICX_LOG_LEVEL=warn
# shellcheck source=../tests/integration/lib/gateways.sh
. "$top/tests/integration/lib/gateways.sh"
three_gateways || { echo "demo: gateways did not start; logs in $W/*/log" >&2; exit 1; }
echo "gateways running; configuration and stores in $W/<ID>/"
run "$icx" partners -c "$W/JP-NPA/gateway.yaml"

step "8. JP-NPA submits a case referral to PH-NBI; it travels over PH-NBI's own connection"
m1=$(submit_sample JP-NPA PH-NBI)
echo "queued $m1"
wait_for 30 delivered JP-NPA "$m1" || { echo "demo: not delivered" >&2; exit 1; }
run "$icx" status "$m1" -c "$W/JP-NPA/gateway.yaml"

step "9. The liaison office routes PH-NBI through the hub (both sides), and reloads with SIGHUP"
gw_partner JP-NPA PH-NBI accept hub
gw_partner PH-NBI JP-NPA connect hub "$(gw_endpoint JP-NPA)"
gw_hup JP-NPA
gw_hup PH-NBI
sleep 1
m2=$(submit_sample JP-NPA PH-NBI)
echo "queued $m2"
wait_for 30 delivered JP-NPA "$m2" || { echo "demo: not delivered via the hub" >&2; exit 1; }
run "$icx" status "$m2" -c "$W/JP-NPA/gateway.yaml"
echo
echo "what PH-NBI received:"
"$icx" inbox -c "$W/PH-NBI/gateway.yaml"

step "10. Stop the gateways (SIGTERM: finish, commit, stop)"
for id in PH-NBI JP-NPA INT-ICPO; do gw_stop "$id"; done
echo "stopped"

step "11. An auditor checks JP-NPA's log offline, and the evidence bundle of the first referral"
run "$icx" audit verify -c "$W/JP-NPA/gateway.yaml"
run "$icx" audit bundle "$m1" --out "$demo/evidence-$m1.icxb" -c "$W/JP-NPA/gateway.yaml"
run "$icx" audit check-bundle "$demo/evidence-$m1.icxb"
echo "(docs/AUDIT.md shows the same check with sha256sum and openssl alone)"

printf '\ndemo finished: files are in %s\n' "$demo"
