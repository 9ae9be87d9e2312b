#!/usr/bin/env bash
# The demo keeps working: scripts/demo.sh runs its part after the build
# (--no-build, the icx under test, a temporary folder) with its output in
# a pipe, exits 0, says each outcome it checks, shows the real commands,
# writes no escape codes, and the fingerprint the auditor compares is the
# one it printed; the dashboard and /metrics answer the officer's client
# certificate, and a partner with curl, xmlsec1 and sha256sum alone pulls
# the list over HTTPS to the digest icx lists import printed.  A demo whose
# list pull fails exits non-zero, names the failure and leaves none of its
# gateways running; so does one whose notification signature fails.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

no_daemon() { # demo folder, id: nothing answers on the gateway's control socket
  local rc=0
  "$icx" partners -c "$1/gateways/$2/gateway.yaml" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 4 ]]
}

(cd "$W" && ICX_BIN=$icx bash "$src/scripts/demo.sh" --no-build --dir "$W/demo" | cat) \
  >"$W/out" 2>"$W/err"
rc=$?
check "the demo exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || { tail -n 20 "$W/out" "$W/err"; }
has() { grep -qF -- "$1" "$W/out"; }
check "plain step headings in a pipe" has "== 1. Keys for two agencies"
check "no escape codes in a pipe" bash -c "! grep -q \$'\\e' '$W/out' '$W/err'"
check "tampered copy rejected" has "tampered copy rejected"
check "forged envelope rejected" has "forged envelope rejected"
# ... for their signatures, not for anything else.
after() { awk -v c="$1" 'f {print; exit} index($0, c) == 1 {f = 1}' "$W/out"; }
check "the tampered copy fails its signature" \
  grep -q '^rejected: SIG_INVALID' <(after '$ icx envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem tampered.xml')
check "the forged envelope fails its signature" \
  grep -q '^rejected: SIG_INVALID' <(after '$ icx envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem --trust PH-NBI=keys/PH-NBI/cert.pem forged.xml')
check "the gateway.yaml it writes is shown" grep -qx 'listen: tcp://127.0.0.1:\*' <(sed 's/^ *//' "$W/out")
check "icx serve shown as typed" has '$ icx serve -c gateways/JP-NPA/gateway.yaml --endpoint-file gateways/JP-NPA/endpoint'
check "icx submit shown as typed" has '$ icx submit samples/case-referral-payload.xml --to PH-NBI --category case-referral'
check "the SIGHUP shown" has '$ kill -HUP '
check "delivered directly" has "delivered directly"
check "delivered via the hub" has "delivered via the hub INT-ICPO"
check "translate summary" has "samples/cases.csv: Referral written to referral-from-csv.xml"
check "list pulled and verified" has "serial 1 (session"
check "list digest verified" has "list digest verified"
check "survey compiled" has "| PH (PH-NBI) | yes | 20 |"
check "audit verified" has "audit verified"
check "the dashboard URL is printed" grep -qE "^JP-NPA's read-only dashboard: https://127\.0\.0\.1:[0-9]+/" "$W/out"
check "/metrics read with the officer's certificate" \
  has '$ curl -fsS --cacert tls/dashboard.pem --cert tls/officer.pem --key tls/officer.key https://127.0.0.1:'
check "the dashboard lists the first referral" has "the dashboard lists "
check "/metrics shown" grep -qE '^icx_outbound_messages\{partner="(PH-NBI|INT-ICPO)",state="delivered"\}' "$W/out"
# Lists over HTTPS: the partner's own certificate, the notification's
# signature checked by xmlsec1, the list's digest the one imported.
check "the list fetched with PH-NBI's certificate" \
  has '$ curl -fsS --cacert tls/dashboard.pem --cert keys/PH-NBI/cert.pem --key keys/PH-NBI/key.pem https://127.0.0.1:'
check "xmlsec1 verified the notification" \
  grep -qx 'OK' <(after '$ xmlsec1 --verify --pubkey-cert-pem keys/JP-NPA/cert.pem --enabled-reference-uris empty --enabled-key-data x509 partner/notification.xml')
check "notification signature verified" has "notification signature verified: csam-urls in a list-update signed by JP-NPA for PH-NBI"
check "list digest matched over HTTPS" has "list digest matched over HTTPS"
imported=$(grep -o 'digest [0-9a-f]\{64\}' "$W/out" | head -n 1 | awk '{print $2}')
over_https=$(awk '$1 == "over" && $2 == "HTTPS" && $3 == "digest" {print $4}' "$W/out")
check "the digest over HTTPS is the one icx lists import printed" \
  test -n "$imported" -a "$imported" == "$over_https"
check "the snapshot's sha256sum is the notification's" has "= the notification's sha256 for "
# The fingerprint icx keys show printed for JP-NPA in step 1 is the one
# icx audit check-bundle asks the auditor to compare.
shown=$(awk '$1 == "agency" && $2 == "JP-NPA" {print $NF; exit}' "$W/out")
bundled=$(grep -o 'gateway certificate sha256 [0-9a-f]*' "$W/out" | awk '{print $NF}')
check "the bundle's fingerprint is the one printed by icx keys show" \
  test -n "$shown" -a "$shown" == "$bundled"
for id in JP-NPA PH-NBI INT-ICPO; do
  check "$id stopped after the demo" no_daemon "$W/demo" "$id"
done

# A failing step: icx pull fails; the demo stops there with exit 1 and
# stops the gateways it started.
cat >"$W/icx-failing-pull" <<EOF
#!/usr/bin/env bash
[[ \$1 == pull ]] && { echo "icx: error: pull failed (test)" >&2; exit 3; }
exec "$icx" "\$@"
EOF
chmod +x "$W/icx-failing-pull"
(cd "$W" && ICX_BIN=$W/icx-failing-pull bash "$src/scripts/demo.sh" --no-build --dir "$W/demo2") \
  >"$W/out2" 2>"$W/err2"
rc=$?
check "a failing step: exit 1" test "$rc" -eq 1
check "the failing step is named" grep -q "^demo: failed in step \"11. A blocking list" "$W/err2"
check "nothing after the failing step ran" bash -c "! grep -q '== 12' '$W/out2'"
for id in JP-NPA PH-NBI INT-ICPO; do
  check "$id stopped after the failure" no_daemon "$W/demo2" "$id"
done

# A notification whose signature does not verify (xmlsec1 says so) stops
# the demo at the HTTPS step with exit 1 and its gateways stopped.
mkdir -p "$W/badbin"
printf '#!/bin/sh\necho "func=xmlSecDSigCtxVerify: signature do not match (test)" >&2\nexit 1\n' >"$W/badbin/xmlsec1"
chmod +x "$W/badbin/xmlsec1"
(cd "$W" && PATH=$W/badbin:$PATH ICX_BIN=$icx bash "$src/scripts/demo.sh" --no-build --dir "$W/demo3") \
  >"$W/out3" 2>"$W/err3"
rc=$?
check "a notification that fails xmlsec1: exit 1" test "$rc" -eq 1
check "the failure names the notification's signature" \
  grep -q "^demo: the signature of csam-urls' notification does not verify" "$W/err3"
check "and no list digest was claimed" bash -c "! grep -q 'list digest matched over HTTPS' '$W/out3'"
for id in JP-NPA PH-NBI INT-ICPO; do
  check "$id stopped after the signature failure" no_daemon "$W/demo3" "$id"
done
check "a --dir that exists is refused (exit 2)" \
  bash -c "ICX_BIN='$icx' bash '$src/scripts/demo.sh' --no-build --dir '$W/demo' 2>/dev/null; [[ \$? -eq 2 ]]"
finish
