#!/usr/bin/env bash
# icx inbox export: a domestic case export submitted at JP-NPA with
# --profile, delivered to PH-NBI, and rendered back into the same domestic
# columns there, in UTF-8 and Shift_JIS, as CSV and JSON.  Fields JP-NPA
# withheld for PH-NBI are absent and named as withheld.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

D=$src/tests/data/translate
P=$src/config/mappings/npa-case.yaml
PH=$W/PH-NBI/gateway.yaml

"$icx" inbox export --help >"$W/help" 2>&1
check "inbox export --help exits 0" test $? -eq 0
check "and prints its usage" grep -q "usage: icx inbox export" "$W/help"
"$icx" inbox export -c /nonexistent.yaml >/dev/null 2>&1
check "inbox export without --profile: exit 2" test $? -eq 2

three_gateways || { bad "gateways did not start"; finish; exit 1; }

# Nothing received yet: a header only.
icx_at PH-NBI inbox export --profile "$P" -o "$W/empty.csv" 2>"$W/err"
check "an empty inbox exports a header only" test "$(wc -l <"$W/empty.csv")" -eq 1

submit() { # file -> message id
  "$icx" submit "$1" --profile "$P" --to PH-NBI --legal-basis "MLAT test" \
    --retain-until 2031-12-31 -c "$W/JP-NPA/gateway.yaml" 2>"$W/submit.err" |
    awk '/^queued/ {print $2}'
}
m1=$(submit "$D/cases.csv")
check "UTF-8 case export submitted with --profile" test -n "$m1"
m2=$(submit "$D/cases-sjis.csv")
check "Shift_JIS case export submitted with --profile" test -n "$m2"
check "the first is delivered" wait_for 20 delivered JP-NPA "$m1"
check "the second is delivered" wait_for 20 delivered JP-NPA "$m2"
# A referral written by hand (not from a profile) renders too.
m3=$(submit_sample JP-NPA PH-NBI)
check "the sample referral is delivered" wait_for 20 delivered JP-NPA "$m3"

# What PH-NBI should see: the payload JP-NPA built for it, reversed.
"$icx" translate "$D/cases.csv" --profile "$P" --to PH-NBI -o "$W/sent.xml" 2>/dev/null
"$icx" translate --reverse "$W/sent.xml" --profile "$P" -o "$W/want.csv" 2>/dev/null
tail -n +2 "$W/want.csv" >"$W/want.rows"

icx_at PH-NBI inbox export --profile "$P" -o "$W/in.csv" 2>"$W/err"
check "inbox export (csv, utf-8) exits 0" test $? -eq 0
head -1 "$W/in.csv" | grep -q $'^\xef\xbb\xbfMessageId,Sender,事件番号,件名,概要,罪名'
check "header: MessageId, Sender, then the profile's columns" test $? -eq 0
for m in "$m1" "$m2"; do
  # The rows of one message, without the two leading columns, are the
  # sender's payload back in the domestic columns.
  python3 - "$W/in.csv" "$m" >"$W/got.rows" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    rows = [r for r in csv.reader(f)][1:]
w = csv.writer(sys.stdout, lineterminator='\r\n')
for r in rows:
    if r[0] == sys.argv[2]:
        w.writerow(r[2:])
PY
  python3 - "$W/want.rows" >"$W/want.norm" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
w = csv.writer(sys.stdout, lineterminator='\r\n')
for r in rows:
    w.writerow(r)
PY
  check "message $m: the same rows as the sender's payload" cmp -s "$W/got.rows" "$W/want.norm"
done
check "the sender is named" grep -q "^$m1,JP-NPA,NPA-2025-CSE-00417," "$W/in.csv"
check "offence back through the crosswalk" grep -q ",児童ポルノ提供目的製造," "$W/in.csv"
check "suspect name back" grep -q "架空 太郎" "$W/in.csv"
check "IPv6 address (canonical form)" grep -q "2001:db8:4a1:f00::7c" "$W/in.csv"
check "the victim's name never left JP-NPA" bash -c "! grep -q '花子' '$W/in.csv'"
check "withheld fields are listed" grep -q "$m1 from JP-NPA: .*withheld by the sender: Persons/Person/Name" "$W/err"
check "every accepted case message: 3" grep -q "inbox export: 3 case messages" "$W/err"

# The export (leading columns removed) translates forward again.
python3 - "$W/in.csv" "$m1" >"$W/again.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    rows = list(csv.reader(f))
w = csv.writer(sys.stdout, lineterminator='\r\n')
w.writerow(rows[0][2:])
for r in rows[1:]:
    if r[0] == sys.argv[2]:
        w.writerow(r[2:])
PY
"$icx" translate "$W/again.csv" --profile "$P" --to PH-NBI -o "$W/again.xml" 2>"$W/again.err"
check "the exported rows translate forward again" test $? -eq 0

# Shift_JIS: the same text in CP932.
icx_at PH-NBI inbox export --profile "$P" --encoding shift_jis -o "$W/in-sjis.csv" 2>"$W/err"
check "inbox export --encoding shift_jis exits 0" test $? -eq 0
tail -c +4 "$W/in.csv" | iconv -f UTF-8 -t CP932 >"$W/in-conv.csv"
check "Shift_JIS export = the UTF-8 export in CP932" cmp -s "$W/in-sjis.csv" "$W/in-conv.csv"
check "Shift_JIS export has no BOM" bash -c "! head -c 3 '$W/in-sjis.csv' | grep -q $'\xef\xbb\xbf'"

# JSON.
icx_at PH-NBI inbox export --profile "$P" --format json -o "$W/in.json" 2>"$W/err"
check "inbox export --format json exits 0" test $? -eq 0
python3 - "$W/in.json" "$m1" <<'PY'
import json, sys
a = json.load(open(sys.argv[1], encoding='utf-8'))
m = [x for x in a if x["message_id"] == sys.argv[2]][0]
assert m["sender"] == "JP-NPA", m
assert m["received"].endswith("Z"), m
assert "Persons/Person/Name" in m["withheld"], m
assert any(r.get("罪名") == "児童ポルノ提供目的製造" for r in m["rows"]), m
assert all("花子" not in v for r in m["rows"] for v in r.values())
PY
check "json: message_id, sender, received, withheld, rows of columns" test $? -eq 0
icx_at PH-NBI inbox export --profile "$P" --format json --encoding shift_jis -o "$W/in-sjis.json" 2>/dev/null
check "json in Shift_JIS decodes to the same JSON" bash -c \
  "iconv -f CP932 -t UTF-8 '$W/in-sjis.json' | cmp -s - '$W/in.json'"

# --since in the future: nothing.
icx_at PH-NBI inbox export --profile "$P" --since 2999-01-01 -o "$W/none.csv" 2>"$W/err"
check "--since after every message: header only" test "$(wc -l <"$W/none.csv")" -eq 1
icx_at PH-NBI inbox export --profile "$P" --since yesterday >/dev/null 2>&1
check "--since not a time: exit 2" test $? -eq 2
# A list profile cannot render cases.
icx_at PH-NBI inbox export --profile "$src/config/mappings/npa-urls.yaml" >/dev/null 2>"$W/err"
check "a list profile is refused (exit 2)" test $? -eq 2
finish
