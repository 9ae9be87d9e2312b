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

# A list larger than one page: OUT.0001.xml ..., each page valid, together
# the whole list once, in order, with the Digest `sort | sha256sum` gives.
L=$W/list; mkdir -p "$L"
awk 'BEGIN { print "# FICTIONAL"; for (i = 1; i <= 400; i++) print "https://h" i % 37 ".example/p/" i;
             print "HTTPS://H3.EXAMPLE/p/3" }' >"$L/urls.txt"
expect_exit "a list in pages" 0 "$icx" translate "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 4096 -o "$L/csam.xml"
n=$(ls "$L"/csam.*.xml 2>/dev/null | wc -l)
if [[ $n -gt 2 && ! -e "$L/csam.xml" ]]; then ok "pages named csam.0001.xml .. ($n)"; else bad "want several pages csam.NNNN.xml, got $n"; ls "$L" | sed 's/^/     /'; fi
expect_in "the summary names the pages" "$W/err" "$n pages written to $L/csam.0001.xml .. $L/csam.$(printf %04d "$n").xml"
expect_in "the duplicate across pages reported" "$W/err" "urls.txt:402: duplicate of row 4 (https://h3.example/p/3), collapsed"
good=0; cursors=0
for f in "$L"/csam.*.xml; do
  xmllint --noout --schema "$src/schemas/list-1.xsd" "$f" 2>/dev/null && good=$((good+1))
  grep -q "<Cursor>" "$f" && cursors=$((cursors+1))
  [[ $(stat -c %s "$f") -le 4096 ]] || bad "$f: larger than --page-bytes"
done
[[ $good -eq $n ]] && ok "every page valid for xmllint against list-1.xsd" || bad "$((n-good)) pages invalid"
[[ $cursors -eq $((n-1)) ]] && ok "a Cursor on every page but the last" || bad "$cursors cursors on $n pages"
cat "$L"/csam.*.xml | grep -o '<Value>[^<]*</Value>' | sed 's/<[^>]*>//g' >"$L/values"
if LC_ALL=C sort -c "$L/values" 2>/dev/null && [[ $(wc -l <"$L/values") -eq 400 ]]; then ok "400 entries once, in order, across the pages"
else bad "entries across the pages: $(wc -l <"$L/values"), sorted: $(LC_ALL=C sort -c "$L/values" 2>&1 | head -1)"; fi
want=$(LC_ALL=C sort "$L/values" | sha256sum | cut -d' ' -f1)
[[ $(grep -l "<Digest algorithm=\"sha256\">$want</Digest><EntryCount>400</EntryCount>" "$L"/csam.*.xml | wc -l) -eq $n ]] \
  && ok "every page carries the Digest and count of the whole list" || bad "Digest or EntryCount differ from sort | sha256sum ($want)"
[[ $(grep -ho '<SessionId>[^<]*' "$L"/csam.*.xml | sort -u | wc -l) -eq 1 ]] && ok "one SessionId on all pages" || bad "pages differ in SessionId"
expect_exit "several pages need -o" 1 "$icx" translate "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 4096
expect_in "the refusal says how to name them" "$W/err" "the list takes $n pages: name the output with -o OUT.xml"
expect_exit "--page-bytes below 4096: usage" 2 "$icx" translate "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 100

# All or none: an invalid row writes no page; a page that cannot be written
# takes the pages before it away.
rm -f "$L"/csam.*
{ cat "$L/urls.txt"; echo "not a url"; } >"$L/bad.txt"
expect_exit "an invalid row in a long list: refused" 1 "$icx" translate "$L/bad.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 4096 -o "$L/csam.xml"
expect_in "the row named" "$W/err" "bad.txt:403:1:entry.url:"
mkdir "$L/csam.0002.xml.part"   # page 2 cannot be written
expect_exit "a page that cannot be written: failure" 3 "$icx" translate "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 4096 -o "$L/csam.xml"
left=$(cd "$L" && ls | grep -v -e '^urls.txt$' -e '^bad.txt$' -e '^values$' -e '^csam.0002.xml.part$')
[[ -z "$left" ]] && ok "no page left behind" || bad "left behind: $left"
rmdir "$L/csam.0002.xml.part"

# Past one batch of rows (8 MiB), the rows go to a temporary file in
# TMPDIR: it must be usable, and nothing stays in it.  Past 16 MiB of
# payload, the default page, the list is two pages.
awk 'BEGIN { for (i = 1; i <= 200000; i++) print "https://host" i % 5000 ".example/c/" i ".jpg" }' >"$L/big.txt"
mkdir -p "$L/tmp"
TMPDIR=$L/nonexistent expect_exit "no temporary folder: failure" 3 "$icx" translate "$L/big.txt" --profile "$P/npa-urls-lines.yaml" -o "$L/big.xml"
expect_in "the folder named" "$W/err" "$L/nonexistent"
[[ -n "$(ls "$L" | grep '^big\.0')" ]] && bad "a failed spill wrote a payload" || ok "a failed spill writes nothing"
TMPDIR=$L/tmp expect_exit "200,000 URLs through the temporary file" 0 "$icx" translate "$L/big.txt" --profile "$P/npa-urls-lines.yaml" -o "$L/big.xml"
expect_in "two pages of 16 MiB at most" "$L/big.0001.xml" "<Page>1</Page><PageCount>2</PageCount>"
expect_in "all 200,000 entries" "$L/big.0002.xml" "<EntryCount>200000</EntryCount>"
if xmllint --noout --schema "$src/schemas/list-1.xsd" "$L/big.0001.xml" "$L/big.0002.xml" 2>/dev/null; then
  ok "16 MiB pages (validated 1 MiB at a time) valid for xmllint"; else bad "a 16 MiB page is invalid for xmllint"; fi
[[ -z "$(ls -A "$L/tmp")" ]] && ok "nothing left in TMPDIR" || bad "left in TMPDIR: $(ls -A "$L/tmp")"

# A signed envelope for PH-NBI, verified as PH-NBI would.
gw_keys JP-NPA
expect_exit "--envelope signs with the agency key" 0 "$icx" translate "$D/cases.csv" --profile "$P/npa-case.yaml" \
  --to PH-NBI --envelope --key "$W/keys/JP-NPA/key.pem" --from JP-NPA \
  --legal-basis "Act No. 52 of 1999; ICPO cooperation" --retain-until 2036-01-01 -o "$W/env.xml"
expect_in "the envelope says who and what" "$W/err" "JP-NPA -> PH-NBI, case-referral, signed"
expect_exit "the envelope verifies as PH-NBI" 0 "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$W/env.xml"
expect_exit "a list in pages as signed envelopes" 0 "$icx" translate "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --page-bytes 8192 \
  --to PH-NBI --envelope --key "$W/keys/JP-NPA/key.pem" --from JP-NPA \
  --legal-basis "Act No. 52 of 1999; ICPO cooperation" --retain-until 2036-01-01 -o "$L/env.xml"
verified=0; n=0
for f in "$L"/env.*.xml; do
  n=$((n+1))
  "$icx" envelope verify --as PH-NBI --trust "JP-NPA=$W/keys/JP-NPA/cert.pem" "$f" >/dev/null 2>&1 && verified=$((verified+1))
done
[[ $n -gt 1 && $verified -eq $n ]] && ok "each page its own envelope, each verifies ($n)" || bad "$verified of $n page envelopes verify"
[[ $(grep -c "list-update, signed" "$W/err") -eq $n ]] && ok "one MessageId per page" || bad "want $n envelopes signed"
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
