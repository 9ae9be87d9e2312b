#!/usr/bin/env bash
# icx inbox export: a domestic case export submitted at JP-NPA with
# --profile, delivered to PH-NBI, and rendered back into the same domestic
# columns there, in UTF-8 and Shift_JIS, as CSV and JSON.  Fields JP-NPA
# withheld for PH-NBI are absent and named as withheld.  A case-response
# PH-NBI sends back renders at JP-NPA with its status, answer and evidence
# hashes in their own columns.
#
# The partner file's withhold applies to submit --profile as to translate
# -c: with a profile that withholds nothing, JP-NPA's partner file for
# PH-NBI alone keeps the victim's name out, and the payload records it.
# A recipient that is not a partner, or a configuration that does not
# load (also with --socket), sends nothing.
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

# PH-NBI answers JP-NPA's case with a Response carrying two evidence items;
# JP-NPA's export keeps its status, answer and each item's hash in their
# own columns, one row per item, as CSV and as JSON.
cat >"$W/response.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Response xmlns="urn:icx:case:1">
  <RefCaseReference>NPA-2025-CSE-00417</RefCaseReference>
  <CaseReference>PH-NBI-CCD-2026-1187</CaseReference>
  <Status>partial</Status>
  <Answer>Account data preserved for 90 days, subscriber details follow.</Answer>
  <Evidence>
    <Item id="ph-01">
      <Description>Preservation letter (PDF)</Description>
      <Hash algorithm="sha256">b63e7d137d65e8d094a29fb3786b69f45ce0c655a2ea7ef5404b59f682bc1e0d</Hash>
      <SizeBytes>184220</SizeBytes>
    </Item>
    <Item id="ph-02">
      <Hash algorithm="sha1">875daa615c2bfed951ea90a55b787260363ca4b2</Hash>
      <Grading scheme="interpol">baseline</Grading>
    </Item>
  </Evidence>
</Response>
XML
m5=$(icx_at PH-NBI submit "$W/response.xml" --to JP-NPA --category case-response \
  --legal-basis "MLAT test" --retain-until 2031-12-31 2>"$W/submit.err" |
  awk '/^queued/ {print $2}')
check "PH-NBI's case-response is submitted" test -n "$m5"
check "and delivered to JP-NPA" wait_for 20 delivered PH-NBI "$m5"
icx_at JP-NPA inbox export --profile "$P" -o "$W/resp.csv" 2>"$W/err"
check "JP-NPA: inbox export of the response exits 0" test $? -eq 0
check "the response is rendered" grep -q "^$m5 from PH-NBI: 2 rows" "$W/err"
python3 - "$W/resp.csv" "$m5" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    rows = list(csv.reader(f))
head = rows[0]
got = [dict(zip(head, r)) for r in rows[1:] if r[0] == sys.argv[2]]
assert len(got) == 2, got
keep = ["事件番号", "件名", "概要", "相手方事件番号", "回答状況", "回答内容",
        "証拠番号", "証拠説明", "ハッシュ方式", "ハッシュ値", "ファイルサイズ",
        "等級区分", "等級"]
want = [
    ["NPA-2025-CSE-00417", "", "", "PH-NBI-CCD-2026-1187", "partial",
     "Account data preserved for 90 days, subscriber details follow.",
     "ph-01", "Preservation letter (PDF)", "sha256",
     "b63e7d137d65e8d094a29fb3786b69f45ce0c655a2ea7ef5404b59f682bc1e0d",
     "184220", "", ""],
    ["NPA-2025-CSE-00417", "", "", "", "", "", "ph-02", "", "sha1",
     "875daa615c2bfed951ea90a55b787260363ca4b2", "", "interpol", "baseline"],
]
for g, w in zip(got, want):
    assert [g[k] for k in keep] == w, (g, w)
    assert all(v == "" for k, v in g.items() if k not in keep + ["MessageId", "Sender"]), g
PY
check "csv: status, answer and each item's hash in their own columns" test $? -eq 0
icx_at JP-NPA inbox export --profile "$P" --format json -o "$W/resp.json" 2>/dev/null
python3 - "$W/resp.json" "$m5" <<'PY'
import json, sys
a = json.load(open(sys.argv[1], encoding='utf-8'))
m = [x for x in a if x["message_id"] == sys.argv[2]][0]
assert m["category"] == "case-response", m
assert m["rows"] == [
    {"事件番号": "NPA-2025-CSE-00417", "相手方事件番号": "PH-NBI-CCD-2026-1187",
     "回答状況": "partial",
     "回答内容": "Account data preserved for 90 days, subscriber details follow.",
     "証拠番号": "ph-01", "証拠説明": "Preservation letter (PDF)",
     "ハッシュ方式": "sha256",
     "ハッシュ値": "b63e7d137d65e8d094a29fb3786b69f45ce0c655a2ea7ef5404b59f682bc1e0d",
     "ファイルサイズ": "184220"},
    {"事件番号": "NPA-2025-CSE-00417", "証拠番号": "ph-02", "ハッシュ方式": "sha1",
     "ハッシュ値": "875daa615c2bfed951ea90a55b787260363ca4b2",
     "等級区分": "interpol", "等級": "baseline"},
], m["rows"]
PY
check "json: the same rows, status and hashes under their columns" test $? -eq 0

# The partner file's withhold.  A copy of the profile without its own
# withholding; JP-NPA's partner file withholds the victim's name from
# PH-NBI.  (The daemon takes no part: submit reads the files itself.)
OPEN=$W/open-case.yaml
sed '/^withhold:/,$d' "$P" >"$OPEN"
"$icx" translate "$D/cases.csv" --profile "$OPEN" --to PH-NBI -o "$W/open.xml" 2>/dev/null
check "the open profile alone keeps the victim's name" grep -q '架空 花子' "$W/open.xml"
check "and withholds nothing" bash -c "! grep -q '<Withheld>' '$W/open.xml'"
echo "withhold: [victim.name]" >>"$W/JP-NPA/partners/ph-nbi.yaml"
JP=$W/JP-NPA/gateway.yaml
outbox_count() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox"; }
psubmit() { # args... (after the file and profile)
  "$icx" submit "$D/cases.csv" --profile "$OPEN" --legal-basis "MLAT test" \
    --retain-until 2031-12-31 "$@" >"$W/ps.out" 2>"$W/ps.err"
}
psubmit --to PH-NBI -c "$JP"
check "submit --profile with the partner file's withhold: exit 0" test $? -eq 0
m4=$(awk '/^queued/ {print $2}' "$W/ps.out")
check "it is delivered" wait_for 20 delivered JP-NPA "$m4"
sqlite3 "$W/PH-NBI/icx.db" "select envelope from inbox where message_id = '$m4'" >"$W/m4.xml"
check "PH-NBI's stored payload lacks the victim's name" bash -c "! grep -q '花子' '$W/m4.xml'"
check "but has the suspect's (not withheld)" grep -q '架空 太郎' "$W/m4.xml"
check "the withholding is recorded in the payload" \
  grep -q '<Withheld><Field>Persons/Person/Name</Field></Withheld>' "$W/m4.xml"
icx_at PH-NBI inbox export --profile "$P" --format json -o "$W/in4.json" 2>/dev/null
python3 - "$W/in4.json" "$m4" <<'PY'
import json, sys
a = json.load(open(sys.argv[1], encoding='utf-8'))
m = [x for x in a if x["message_id"] == sys.argv[2]][0]
assert m["withheld"] == ["Persons/Person/Name"], m["withheld"]
assert all("花子" not in v for r in m["rows"] for v in r.values())
assert any("架空 太郎" in r.values() for r in m["rows"]), m["rows"]
PY
check "inbox export: withheld [Persons/Person/Name], no victim's name" test $? -eq 0
# The same through translate -c: one rule for both.
"$icx" translate "$D/cases.csv" --profile "$OPEN" --to PH-NBI -c "$JP" -o "$W/open-c.xml" 2>/dev/null
check "translate -c withholds the same" bash -c "! grep -q '花子' '$W/open-c.xml' && grep -q '<Field>Persons/Person/Name</Field>' '$W/open-c.xml'"

# Nothing is sent when the withholding cannot be known.
before=$(outbox_count)
psubmit --to PH-NBI,XX-NONE -c "$JP"
check "a recipient that is not a partner: exit 1" test $? -eq 1
check "it is named, with the configuration" grep -q "^icx: error: --to XX-NONE is not a partner in $JP" "$W/ps.err"
check "and nothing was sent" grep -q "^icx: error: nothing was sent$" "$W/ps.err"
check "not even to PH-NBI" bash -c "! grep -q queued '$W/ps.out'"
psubmit --to PH-NBI -c "$W/none/gateway.yaml" --socket "$W/JP-NPA/icx.sock"
check "--socket with a configuration that cannot be read: exit 1" test $? -eq 1
check "the file is named" grep -q "$W/none/gateway.yaml" "$W/ps.err"
check "and why nothing was sent" grep -q "without the configuration $W/none/gateway.yaml that is not known .*: nothing was sent" "$W/ps.err"
ICX_CONFIG="$W/none/default.yaml" psubmit --to PH-NBI --socket "$W/JP-NPA/icx.sock"
check "--socket alone (the default configuration unreadable): exit 1" test $? -eq 1
check "the default configuration is named" grep -q "without the configuration $W/none/default.yaml that is not known" "$W/ps.err"
# A configuration that does not load: one of its partner files is broken.
mkdir -p "$W/JP-broken/partners"
cp "$JP" "$W/JP-broken/gateway.yaml"
cp "$W/JP-NPA/partners/"*.yaml "$W/JP-broken/partners/"
echo "colour: blue" >>"$W/JP-broken/partners/ph-nbi.yaml"
psubmit --to PH-NBI -c "$W/JP-broken/gateway.yaml" --socket "$W/JP-NPA/icx.sock"
check "a configuration that does not load: exit 1" test $? -eq 1
check "its error points at the partner file" grep -q "JP-broken/partners/ph-nbi.yaml:[0-9]*:[0-9]*: .*colour" "$W/ps.err"
check "nothing was sent" grep -q "nothing was sent" "$W/ps.err"
check "JP-NPA queued nothing for any of them" test "$(outbox_count)" -eq "$before"
finish
