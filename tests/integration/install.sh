#!/usr/bin/env bash
# cmake --install into a temporary prefix (and with DESTDIR), then the
# installed icx, run from a folder outside the source tree, finds its
# schemas and mapping profiles in PREFIX/share/icx without flags: it
# builds, signs and verifies an envelope, and translates with
# --profile npa-case.  The files installed are where the layout says.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
build=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}
unset ICX_SCHEMAS_DIR ICX_CONFIG

P=$W/prefix
if cmake --install "$build" --prefix "$P" >"$W/install.log" 2>&1; then ok "cmake --install --prefix"
else bad "cmake --install failed"; sed 's/^/     /' "$W/install.log" | tail -5; finish; exit; fi

for f in bin/icx share/icx/schemas/envelope-1.xsd share/icx/schemas/case-1.xsd \
         share/icx/mappings/npa-case.yaml share/doc/icx/examples/gateway.yaml \
         share/doc/icx/examples/partners/ph-nbi.yaml lib/systemd/system/icx.service \
         share/bash-completion/completions/icx; do
  check "installed: $f" test -s "$P/$f"
done
check "icx is executable" test -x "$P/bin/icx"
check "schema examples are not installed" test ! -e "$P/share/icx/schemas/examples"
check "no gateway.yaml installed as a live config" test ! -e "$P/etc/icx/gateway.yaml"
check "the unit runs the installed icx" grep -qx "ExecStart=$P/bin/icx serve -c /etc/icx/gateway.yaml" "$P/lib/systemd/system/icx.service"
if command -v help2man >/dev/null; then
  for page in icx icx-serve icx-submit icx-envelope icx-audit; do
    check "man page $page.1" test -s "$P/share/man/man1/$page.1"
  done
fi

# From another folder: nothing of the source tree is at hand by a
# relative path.
mkdir -p "$W/elsewhere" && cd "$W/elsewhere" || exit 1
I=$P/bin/icx
"$I" keys gen JP-NPA --out "$W/keys/JP-NPA" >/dev/null 2>&1
envelope_round() { # icx: build, sign, verify one envelope
  "$1" envelope build --from JP-NPA --to PH-NBI --category case-referral --legal-basis t \
    --retain-until 2030-01-01 -o "$W/u.xml" "$src/docs/samples/case-referral-payload.xml" &&
  "$1" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/s.xml" "$W/u.xml" &&
  "$1" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/s.xml"
}
if envelope_round "$I" >"$W/out" 2>&1; then ok "installed icx: envelope build, sign, verify"
else bad "installed icx: envelope round failed"; sed 's/^/     /' "$W/out" | head -5; fi
check "verify says ok" grep -q "^ok" "$W/out"

# The schemas really come from share: a broken installed schema is what
# the installed icx trips on (the source tree's is intact).
cp "$P/share/icx/schemas/envelope-1.xsd" "$W/envelope-1.xsd.good"
echo '<broken' >"$P/share/icx/schemas/envelope-1.xsd"
if envelope_round "$I" >"$W/out" 2>&1; then bad "a broken installed schema went unnoticed: share not used"
else ok "the installed icx reads PREFIX/share/icx/schemas"; fi
check "the error names the installed schema" grep -q "$P/share/icx/schemas" "$W/out"
cp "$W/envelope-1.xsd.good" "$P/share/icx/schemas/envelope-1.xsd"
check "ICX_SCHEMAS_DIR still overrides" env ICX_SCHEMAS_DIR="$src/schemas" \
  bash -c "$(declare -f envelope_round); W='$W' src='$src' envelope_round '$I'" 

# Mapping profiles by name from share.
D=$src/tests/data/translate
if "$I" translate "$D/cases.csv" --profile npa-case --to PH-NBI -o "$W/case.xml" >"$W/out" 2>&1
then ok "installed icx: translate --profile npa-case"
else bad "translate --profile npa-case from share failed"; sed 's/^/     /' "$W/out" | head -5; fi
check "the payload has the ICCS code" grep -q "<IccsCode>030221</IccsCode>" "$W/case.xml"
"$I" translate "$D/cases.csv" --profile no-such-profile -o "$W/x.xml" >"$W/out" 2>&1
check "unknown profile: exit 1" test $? -eq 1
check "unknown profile: the known ones listed" grep -q 'profile "no-such-profile" not found in .*known profiles: .*npa-case' "$W/out"
check "unknown profile: share is among the places searched" grep -q "$P/share/icx/mappings" "$W/out"
# The configured place (./config/mappings without -c) comes before share.
mkdir -p config/mappings
sed 's/^profile: .*/profile: npa-case-local/' "$P/share/icx/mappings/npa-case.yaml" >config/mappings/npa-case.yaml
"$I" translate "$D/cases.csv" --profile npa-case -o "$W/y.xml" >"$W/out" 2>&1
check "the configured mappings come before share" grep -q "profile npa-case-local" "$W/out"
"$I" translate "$D/cases.csv" --profile no-such-profile -o "$W/x.xml" >"$W/out" 2>&1
check "known profiles: each name once, both places searched" \
  grep -q 'not found in config/mappings, .*/share/icx/mappings (known profiles: npa-case, npa-hashes, npa-urls-lines, npa-urls)' "$W/out"
rm -r config

# DESTDIR: a staged install (what a package build does) works the same.
if DESTDIR=$W/dest cmake --install "$build" --prefix /usr >"$W/install.log" 2>&1 &&
   envelope_round "$W/dest/usr/bin/icx" >"$W/out" 2>&1; then ok "DESTDIR install: envelope round"
else bad "DESTDIR install failed"; sed 's/^/     /' "$W/out" | head -5; fi
finish
