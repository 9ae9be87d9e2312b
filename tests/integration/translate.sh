#!/usr/bin/env bash
# icx translate end to end: the shipped profiles on the fictional fixtures,
# refusals with file:row:column:field, --skip-invalid, --explain, a signed
# envelope verified as the recipient would, and --reverse.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

D=$src/tests/data/translate
P=$src/config/mappings

expect_exit() { # name, want, command...
  local name=$1 want=$2; shift 2
  "$@" >"$W/out" 2>"$W/err"
  local got=$?
  if [[ $got -eq $want ]]; then ok "$name"; else bad "$name: got exit $got, want $want"; sed 's/^/     /' "$W/err" | head -8; fi
}
expect_in() { # name, file, text
  if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: want \"$3\" in $2:"; head -c 600 "$2" | sed 's/^/     /'; fi
}
expect_not_in() { # name, file, text
  if grep -qF -- "$3" "$2"; then bad "$1: \"$3\" found in $2"; else ok "$1"; fi
}

expect_exit "translate --help exits 0" 0 "$icx" translate --help
expect_in "translate --help prints usage" "$W/out" "usage: icx translate"
expect_exit "translate without --profile: usage, exit 2" 2 "$icx" translate "$D/cases.csv"

# A case export for PH-NBI: schema-valid payload, ICCS codes, withholding.
expect_exit "case export -> payload" 0 "$icx" translate "$D/cases.csv" --profile "$P/npa-case.yaml" --to PH-NBI -o "$W/case.xml"
expect_in "ICCS code from the crosswalk" "$W/case.xml" "<IccsCode>030221</IccsCode>"
expect_in "crosswalk version on the offence" "$W/case.xml" 'crosswalkVersion="jp-iccs-2026.1"'
expect_in "withholding recorded in the payload" "$W/case.xml" "<Withheld><Field>Persons/Person/Name</Field>"
expect_not_in "the victim's name stays home" "$W/case.xml" "花子"
expect_in "summary names what was withheld" "$W/err" "withheld for PH-NBI: victim.name"
if xmllint --noout --schema "$src/schemas/case-1.xsd" "$W/case.xml" 2>/dev/null; then
  ok "payload valid for xmllint against case-1.xsd"; else bad "payload invalid for xmllint"; fi

# Shift_JIS export gives the same payload; a profile named by its name.
(cd "$src" && "$icx" translate "$D/cases-sjis.csv" --profile npa-case --to PH-NBI -o "$W/sjis.xml") 2>"$W/err"
if cmp -s "$W/case.xml" "$W/sjis.xml"; then ok "Shift_JIS export: same payload"; else bad "Shift_JIS export differs"; fi

# Invalid rows: nothing written, every error as file:row:column:field.
expect_exit "invalid rows: refused, exit 1" 1 "$icx" translate "$D/cases-bad.csv" --profile "$P/npa-case.yaml" -o "$W/bad.xml"
[[ -e "$W/bad.xml" ]] && bad "a refused file wrote a payload" || ok "a refused file writes nothing"
expect_in "era date outside its era" "$W/err" "cases-bad.csv:3:13:person.birth_date:"
expect_in "bad IP in the same run" "$W/err" "cases-bad.csv:3:18:person.ip: not an IPv4 or IPv6 address"
expect_in "unknown offence named with the table version" "$W/err" "is not in table offences (profile npa-case, version jp-iccs-2026.1)"
expect_in "refusal summary" "$W/err" "refused: 7 errors in 2 of 4 rows; nothing written"
expect_exit "--skip-invalid writes the valid rows" 0 "$icx" translate "$D/cases-bad.csv" --profile "$P/npa-case.yaml" --skip-invalid -o "$W/skip.xml" --report "$W/report.txt"
expect_in "rejected rows reported" "$W/report.txt" "cases-bad.csv: rejected rows: 3, 4"

# Golden refusals: malformed input stops with the exact lines of BAD.expect.
for f in quote columns bytes offence date; do
  (cd "$D" && "$icx" translate "bad-$f.csv" --profile "$P/npa-case.yaml" -o "$W/golden.xml") 2>"$W/golden.err"
  rc=$?
  if [[ $rc -eq 1 ]] && cmp -s "$W/golden.err" "$D/bad-$f.expect"; then ok "bad-$f.csv: exit 1 with the exact error lines"
  else bad "bad-$f.csv: exit $rc, lines differ from bad-$f.expect:"; diff "$D/bad-$f.expect" "$W/golden.err" | head -8 | sed 's/^/     /'; fi
  [[ -e "$W/golden.xml" ]] && bad "bad-$f.csv wrote a payload"
done

# --explain: which profile row produced each field.
expect_exit "--explain" 0 "$icx" translate "$D/cases.csv" --profile "$P/npa-case.yaml" --to PH-NBI --explain -o "$W/x.xml"
expect_in "explain names the column and profile line" "$W/out" "column 罪名, profile $P/npa-case.yaml:"
expect_in "explain names the crosswalk row" "$W/out" ", table offences row $P/npa-case.yaml:"

# Lists.
expect_exit "URL list" 0 "$icx" translate "$D/urls.csv" --profile "$P/npa-urls.yaml" -o "$W/urls.xml"
expect_in "URL normalized (IDN host to punycode)" "$W/urls.xml" "https://xn--r8jz45g.xn--zckzah/"
expect_in "duplicates reported" "$W/err" "urls.csv:4: duplicate of row 2"
expect_exit "hash list" 0 "$icx" translate "$D/hashes.csv" --profile "$P/npa-hashes.yaml" -o "$W/hashes.xml"
expect_in "hash case normalized" "$W/hashes.xml" '<Value algorithm="md5">fe1984f7c23760d247eaabc220348599</Value>'

# A signed envelope for PH-NBI, verified as PH-NBI would.
gw_keys JP-NPA
expect_exit "--envelope signs with the agency key" 0 "$icx" translate "$D/cases.csv" --profile "$P/npa-case.yaml" \
  --to PH-NBI --envelope --key "$W/keys/JP-NPA/key.pem" --from JP-NPA \
  --legal-basis "Act No. 52 of 1999; ICPO cooperation" --retain-until 2036-01-01 -o "$W/env.xml"
expect_in "the envelope says who and what" "$W/err" "JP-NPA -> PH-NBI, case-referral, signed"
expect_exit "the envelope verifies as PH-NBI" 0 "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/env.xml"
expect_exit "--envelope without --legal-basis: exit 2" 2 "$icx" translate "$D/cases.csv" --profile "$P/npa-case.yaml" --to PH-NBI --envelope --key "$W/keys/JP-NPA/key.pem" --from JP-NPA

# Back to the domestic format, from the envelope.
expect_exit "--reverse from the envelope" 0 "$icx" translate --reverse "$W/env.xml" --profile "$P/npa-case.yaml" -o "$W/back.csv"
expect_in "back in the profile's columns" "$W/back.csv" "事件番号,件名,概要,罪名"
expect_in "offence back through the crosswalk" "$W/back.csv" ",児童ポルノ提供目的製造,"
expect_exit "the CSV translates forward again" 0 "$icx" translate "$W/back.csv" --profile "$P/npa-case.yaml" --to PH-NBI -o "$W/again.xml"

# A broken profile: every error with file:line:col, exit 1.
printf 'profile: x\nkind: case\nversion: v1\nfields:\n  - {column: A, field: case.nope}\n' >"$W/p.yaml"
expect_exit "broken profile: exit 1" 1 "$icx" translate "$D/cases.csv" --profile "$W/p.yaml"
expect_in "profile errors point at the spot" "$W/err" "p.yaml:5:24: field: unknown field \"case.nope\""
finish
