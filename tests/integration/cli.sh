#!/usr/bin/env bash
# The icx program as a user meets it: --help on every command, exit codes,
# messages that say what is wrong and how to fix it.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

expect_exit() { # name, want, command...
  local name=$1 want=$2; shift 2
  "$@" >"$W/out" 2>&1
  local got=$?
  if [[ $got -eq $want ]]; then ok "$name"; else bad "$name: got exit $got, want $want"; sed 's/^/     /' "$W/out" | head -5; fi
}
expect_text() { # name, text
  if grep -qF -- "$2" "$W/out"; then ok "$1"; else bad "$1: got \"$(head -c 300 "$W/out")\", want \"$2\""; fi
}

for c in "" config keys envelope translate serve audit survey submit status outbox inbox partners health lists pull; do
  expect_exit "icx $c --help exits 0" 0 "$icx" $c --help
  expect_text "icx $c --help prints usage" "usage"
done
expect_exit "no command: usage, exit 2" 2 "$icx"
expect_exit "unknown command: exit 2" 2 "$icx" frobnicate
expect_text "unknown command is named" 'unknown command "frobnicate"'
expect_exit "icx version" 0 "$icx" version
expect_exit "keys gen without --out: exit 2" 2 "$icx" keys gen JP-NPA
expect_exit "keys gen with a bad agency id: exit 1" 1 "$icx" keys gen jp --out "$W/x"
expect_text "bad agency id explained" "is not an agency id"

gw_keys JP-NPA
expect_exit "keys gen refuses to overwrite: exit 1" 1 "$icx" keys gen JP-NPA --out "$W/keys/JP-NPA"
expect_text "overwrite refusal explained" "refusing to overwrite"
expect_exit "keys show" 0 "$icx" keys show "$W/keys/JP-NPA"
expect_text "keys show prints the fingerprint" "sha256"
if grep -q "PRIVATE\|secret:" "$W/out"; then bad "keys show leaks key material"; else ok "keys show prints no key material"; fi

# A private key readable by others is refused, with the fix.
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral --legal-basis t \
  --retain-until 2030-01-01 -o "$W/u.xml" "$src/docs/samples/case-referral-payload.xml" 2>/dev/null
chmod 644 "$W/keys/JP-NPA/key.pem"
expect_exit "signing with a world-readable key: exit 1" 1 "$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" "$W/u.xml"
expect_text "the refusal says how to fix it" "chmod 600"
chmod 600 "$W/keys/JP-NPA/key.pem"
expect_exit "sign" 0 "$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/s.xml" "$W/u.xml"
expect_exit "show --json" 0 "$icx" envelope show --json "$W/s.xml"
expect_text "show --json has the sender" '"sender":"JP-NPA"'
expect_exit "verify as the wrong recipient: exit 1" 1 "$icx" envelope verify --as XX-OTHER --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/s.xml"
expect_text "one-line reason" "rejected: WRONG_RECIPIENT:"
expect_exit "verify of a missing file: exit 1" 1 "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/none.xml"
expect_text "missing file named" "none.xml"
printf '<Envelope' >"$W/trunc.xml"
expect_exit "verify of a truncated file: exit 1" 1 "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/trunc.xml"
expect_text "truncated input: MALFORMED with a line" "rejected: MALFORMED: line"

# Configuration errors: every one reported, then exit 1.
mkdir -p "$W/bad/partners"
printf 'id: JP-NPA\nkeys:\n  private_key: k.pem\n  certificate: nope.pem\nworkers: 500\nbogus: 1\n' >"$W/bad/gateway.yaml"
expect_exit "config check of a broken config: exit 1" 1 "$icx" config check -c "$W/bad/gateway.yaml"
expect_text "errors name file:line:col and key" "gateway.yaml:5:10: workers:"
expect_text "unknown key reported in the same run" "bogus: unknown key"
expect_text "a summary line ends the report" "nothing started"

# icx serve reports every configuration error in full, not cut short.
cp "$W/bad/gateway.yaml" "$W/bad/many.yaml"
for ((i = 1; i <= 30; i++)); do printf 'unknown_key_number_%02d: 1\n' "$i" >>"$W/bad/many.yaml"; done
expect_exit "serve with 30 unknown keys: exit 1" 1 timeout 20 "$icx" serve -c "$W/bad/many.yaml"
expect_text "the first is reported" "many.yaml:7:1: unknown_key_number_01: unknown key"
expect_text "and the thirtieth, in full" "many.yaml:36:1: unknown_key_number_30: unknown key"
expect_text "with the count" "33 error(s) in the configuration"

# A private key readable by others: config check refuses it as serve does.
gw_write JP-NPA yes false JP-NPA
chmod 644 "$W/keys/JP-NPA/key.pem"
expect_exit "config check with a world-readable private key: exit 1" 1 "$icx" config check -c "$W/JP-NPA/gateway.yaml"
expect_text "config check names the key and the fix" "keys.private_key: \"../keys/JP-NPA/key.pem\": private key is accessible by group or others (mode 0644); refusing to use it. Fix: chmod 600"
expect_exit "serve with the same key: exit 1" 1 timeout 20 "$icx" serve -c "$W/JP-NPA/gateway.yaml"
expect_text "serve gives the same reason" "private key is accessible by group or others (mode 0644); refusing to use it. Fix: chmod 600"
chmod 600 "$W/keys/JP-NPA/key.pem"
expect_exit "config check with the key at 0600: exit 0" 0 "$icx" config check -c "$W/JP-NPA/gateway.yaml"

# The default configuration: $ICX_CONFIG, else /etc/icx/gateway.yaml.
expect_exit "config check without -c reads \$ICX_CONFIG" 1 env ICX_CONFIG="$W/bad/gateway.yaml" "$icx" config check
expect_text "and names that file" "$W/bad/gateway.yaml:5:10: workers:"
if [[ ! -e /etc/icx/gateway.yaml ]]; then
  expect_exit "without -c and \$ICX_CONFIG: /etc/icx/gateway.yaml" 1 env -u ICX_CONFIG "$icx" config check
  expect_text "the missing default is named" "/etc/icx/gateway.yaml"
fi
expect_exit "-c wins over \$ICX_CONFIG" 1 env ICX_CONFIG=/nonexistent/gateway.yaml "$icx" config check -c "$W/bad/gateway.yaml"
expect_text "the -c file is the one read" "$W/bad/gateway.yaml:5:10: workers:"
expect_exit "icx audit verify without -c reads \$ICX_CONFIG" 1 env ICX_CONFIG="$W/bad/gateway.yaml" "$icx" audit verify
expect_text "audit names the same file" "$W/bad/gateway.yaml"
finish
