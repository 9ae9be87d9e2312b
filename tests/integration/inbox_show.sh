#!/usr/bin/env bash
# icx inbox show: one received message for the person who acts on it.
# A case referral JP-NPA sends is shown at PH-NBI with its header and every
# element and attribute of its payload as one indented line each (counted
# against the payload itself), found by the whole MessageId or a prefix;
# --json gives the same tree.  Control characters a partner put in a value
# come out escaped, never raw on the terminal.  A refused envelope (changed
# after signing, so refused before it was believed and never stored) shows
# its audit record and reason, never its payload.  Unknown and
# ambiguous ids exit 1 with a clear message; usage errors exit 2.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

"$icx" inbox show --help >"$W/help" 2>&1
check "inbox show --help exits 0 with its usage" grep -q "usage: icx inbox show" "$W/help"
"$icx" inbox show -c /nonexistent.yaml >/dev/null 2>&1
check "inbox show without an id: exit 2" test $? -eq 2

gw_pair_and_absent || { bad "gateways did not start"; finish; exit 1; }
gw_start PH-NBI || { bad "PH-NBI did not start"; finish; exit 1; }
S=$src/docs/samples/case-referral-payload.xml

m=$(submit_sample JP-NPA PH-NBI)
check "a referral is delivered" wait_for 20 delivered JP-NPA "$m"

icx_at PH-NBI inbox show "$m" >"$W/show.txt" 2>"$W/err"
check "inbox show ID exits 0" test $? -eq 0
check "names sender and state" grep -q "from JP-NPA .*state accepted" "$W/show.txt"
check "shows the header" grep -q "^message_id  *$m" "$W/show.txt"
check "shows the category" grep -q "^category  *case-referral" "$W/show.txt"
ref=$(python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); print(r.find("{urn:icx:case:1}CaseReference").text)' "$S")
check "shows the case reference as words" grep -q "^  Case reference: $ref\$" "$W/show.txt"
check "shows persons with their attributes" grep -q "^    Person (role: suspect" "$W/show.txt"
check "shows requested actions" grep -q "^    Action (type: " "$W/show.txt"
# One line per payload element: the outline starts at the payload's root.
want=$(python3 -c 'import sys,xml.etree.ElementTree as E; print(sum(1 for _ in E.parse(sys.argv[1]).getroot().iter()))' "$S")
got=$(sed -n '/^Referral/,$p' "$W/show.txt" | wc -l)
check "every payload element shown once ($want)" test "$got" -eq "$want"

icx_at PH-NBI inbox show "${m:0:8}" >"$W/prefix.txt" 2>&1
check "a prefix finds the same message" cmp -s "$W/show.txt" "$W/prefix.txt"

icx_at PH-NBI inbox show "$m" --json >"$W/show.json" 2>"$W/err"
check "--json exits 0" test $? -eq 0
check "--json: header, payload tree and texts as in the payload" python3 - "$W/show.json" "$S" "$m" <<'PY'
import json, sys, xml.etree.ElementTree as E
o = json.load(open(sys.argv[1]))
assert o["state"] == "accepted" and o["sender"] == "JP-NPA", o
assert o["header"]["message_id"] == sys.argv[3]
def same(j, x):
    assert j["element"] == x.tag.split("}")[1], (j["element"], x.tag)
    assert j["attributes"] == dict(x.attrib), (j["attributes"], x.attrib)
    t = (x.text or "").strip()
    assert j.get("text", "") == t, (j.get("text"), t)
    kids = list(x)
    assert len(j.get("children", [])) == len(kids)
    for a, b in zip(j.get("children", []), kids):
        same(a, b)
same(o["payload"], E.parse(sys.argv[2]).getroot())
PY

# A partner's control characters are escaped for the terminal.
python3 - "$S" "$W/ctl.xml" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index("<Title>") + len("<Title>")
open(sys.argv[2], "w", encoding="utf-8").write(s[:i] + "A&#x9b;2J&#13;B" + s[i:])
PY
m2=$(icx_at JP-NPA submit "$W/ctl.xml" --to PH-NBI --category case-referral \
       --legal-basis "MLAT test" --retain-until 2031-12-31 | awk '/^queued/ {print $2}')
check "a referral with control characters is delivered" wait_for 20 delivered JP-NPA "$m2"
icx_at PH-NBI inbox show "$m2" >"$W/ctl.txt" 2>&1
check "C1 control and CR shown escaped" grep -qF 'Title: A\u009b2J\rB' "$W/ctl.txt"
check "no raw C1 control byte in the output" python3 -c 'import sys; sys.exit(b"\xc2\x9b" in open(sys.argv[1],"rb").read())' "$W/ctl.txt"
check "no raw CR in the output" python3 -c 'import sys; sys.exit(b"\r" in open(sys.argv[1],"rb").read())' "$W/ctl.txt"

# A refused envelope: signed by JP-NPA, then its title changed.
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
  --legal-basis "inbox show" --retain-until 2031-12-31 -o "$W/t.u.xml" "$S" 2>/dev/null
"$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/t.xml" "$W/t.u.xml"
perl -0pi -e 's/<Title>/<Title>FORGED /' "$W/t.xml"
m3=$(grep -o '<MessageId>[^<]*' "$W/t.xml" | cut -d'>' -f2)
outbox_inject JP-NPA "$m3" PH-NBI PH-NBI case-referral "$W/t.xml"
check "the changed envelope is refused" wait_for 30 eval '[[ $(state_of JP-NPA "$m3") == refused* ]]'
icx_at PH-NBI inbox show "$m3" >"$W/rej.txt" 2>&1
check "a refused message: exit 0, state and reason" grep -q "state rejected, reason SIG_INVALID" "$W/rej.txt"
check "a refused message: payload not shown" grep -q "payload not shown" "$W/rej.txt"
check "a refused message: its audit record named" grep -q "^audit record  *[0-9]" "$W/rej.txt"
check "a refused message: none of its text shown" eval '! grep -q FORGED "$W/rej.txt"'
icx_at PH-NBI inbox show "$m3" --json >"$W/rej.json" 2>&1
check "a refused message in JSON: no payload" python3 -c '
import json,sys; o=json.load(open(sys.argv[1])); assert o["state"]=="rejected" and "payload" not in o and o["reason"]=="SIG_INVALID", o' "$W/rej.json"

icx_at PH-NBI inbox show 00000000-dead >"$W/none" 2>&1
check "an unknown id: exit 1" test $? -eq 1
check "an unknown id: says so" grep -q "no received message with a MessageId starting 00000000-dead" "$W/none"
icx_at PH-NBI inbox show "" >/dev/null 2>&1
check "an empty id: exit 2" test $? -eq 2
# MessageIds are time-ordered (UUID v7): two sent a moment apart share
# their first characters, so their common prefix names both.
p=$(python3 -c 'import os,sys; print(os.path.commonprefix(sys.argv[1:]))' "$m" "$m2")
check "two MessageIds sent a moment apart share a prefix" test -n "$p"
icx_at PH-NBI inbox show "$p" >"$W/amb" 2>&1
check "an ambiguous prefix: exit 1" test $? -eq 1
check "an ambiguous prefix: lists the candidates" eval 'grep -q "give more of the MessageId" "$W/amb" && grep -q "$m" "$W/amb" && grep -q "$m2" "$W/amb"'
icx_at PH-NBI inbox show "$p" --from KR-KNPA >/dev/null 2>&1
check "--from another sender: nothing found, exit 1" test $? -eq 1
finish
