#!/usr/bin/env bash
# Interoperability with another XML-DSig implementation, the xmlsec1 command
# line: an envelope signed by icx verifies with xmlsec1 given only the
# sender's certificate, and an envelope signed by xmlsec1 from an icx
# template verifies with icx.  Both RSA-SHA256 and ECDSA-SHA256.
set -euo pipefail
icx=${ICX_BIN:?ICX_BIN not set}
src=${ICX_SOURCE_DIR:?ICX_SOURCE_DIR not set}
command -v xmlsec1 >/dev/null || { echo "xmlsec1 command line missing (scripts/deps.sh installs it)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then pass=$((pass+1)); echo "ok   $name";
  else fail=$((fail+1)); echo "FAIL $name"; sed 's/^/     /' "$work/out"; fi
}
refuse() { # name, command... (must fail)
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then fail=$((fail+1)); echo "FAIL $name (accepted)";
  else pass=$((pass+1)); echo "ok   $name"; fi
}

"$icx" keys gen JP-NPA --out jp --alg rsa2048 >/dev/null
"$icx" keys gen PH-NBI --out ph --alg ecdsa-p256 >/dev/null

for who in jp:JP-NPA:PH-NBI:rsa-sha256 ph:PH-NBI:JP-NPA:ecdsa-sha256; do
  IFS=: read -r dir from to alg <<<"$who"
  "$icx" envelope build --from "$from" --to "$to" --category case-referral \
    --legal-basis "interop test" --retain-until 2030-01-01 \
    -o "$dir.unsigned.xml" "$src/docs/samples/case-referral-payload.xml" 2>/dev/null
  "$icx" envelope sign --key "$dir/key.pem" -o "$dir.signed.xml" "$dir.unsigned.xml"
  # xmlsec1 with only the sender's certificate, no key taken from the message.
  check "$alg: icx-signed envelope verifies with xmlsec1" \
    xmlsec1 --verify --pubkey-cert-pem "$dir/cert.pem" --enabled-reference-uris empty \
      --enabled-key-data x509 "$dir.signed.xml"
  sed 's/interop test/interop TEST/' "$dir.signed.xml" > "$dir.tampered.xml"
  refuse "$alg: xmlsec1 rejects a tampered icx envelope" \
    xmlsec1 --verify --pubkey-cert-pem "$dir/cert.pem" --enabled-reference-uris empty \
      --enabled-key-data x509 "$dir.tampered.xml"
  # The other direction: icx template, xmlsec1 signs, icx verifies.
  "$icx" envelope sign --template "$alg" -o "$dir.template.xml" "$dir.unsigned.xml"
  xmlsec1 --sign --privkey-pem "$dir/key.pem" --output "$dir.xmlsec1.xml" "$dir.template.xml" 2>/dev/null
  check "$alg: xmlsec1-signed envelope verifies with icx" \
    "$icx" envelope verify --as "$to" --trust "$from=$dir/cert.pem" "$dir.xmlsec1.xml"
  sed 's/interop test/interop TEST/' "$dir.xmlsec1.xml" > "$dir.xmlsec1-tampered.xml"
  refuse "$alg: icx rejects a tampered xmlsec1 envelope" \
    "$icx" envelope verify --as "$to" --trust "$from=$dir/cert.pem" "$dir.xmlsec1-tampered.xml"
  # A namespace name holding &, which canonical forms write differently:
  # declared and unused it is not rendered, and xmlsec1's signature
  # verifies; utilized, icx refuses it as NAMESPACE_NAME (never
  # SIG_INVALID), though xmlsec1 accepts its own rendering.
  sed 's|<Header>|<Header xmlns:x="urn:a\&amp;b">|' "$dir.template.xml" > "$dir.amp-unused.template.xml"
  sed 's|<Header>|<Header xmlns:x="urn:a\&amp;b" x:n="1">|' "$dir.template.xml" > "$dir.amp-used.template.xml"
  for v in unused used; do
    xmlsec1 --sign --privkey-pem "$dir/key.pem" --output "$dir.amp-$v.xml" "$dir.amp-$v.template.xml" 2>/dev/null
    check "$alg: xmlsec1 verifies its signature over a namespace name with & ($v)" \
      xmlsec1 --verify --pubkey-cert-pem "$dir/cert.pem" --enabled-reference-uris empty "$dir.amp-$v.xml"
  done
  check "$alg: icx verifies xmlsec1's signature with an unused namespace name holding &" \
    "$icx" envelope verify --as "$to" --trust "$from=$dir/cert.pem" "$dir.amp-unused.xml"
  check "$alg: icx refuses a utilized namespace name holding & as NAMESPACE_NAME" \
    bash -c '! "$1" envelope verify --as "$2" --trust "$3" "$4" > "$5" 2>&1 &&
             grep -q "rejected: NAMESPACE_NAME" "$5"' _ \
      "$icx" "$to" "$from=$dir/cert.pem" "$dir.amp-used.xml" "$work/amp-out"
done

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
