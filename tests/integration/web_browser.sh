#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium loads every page of
# JP-NPA in a running three-gateway setup (JP-NPA, PH-NBI and GB-NCA;
# KR-KNPA configured and down) and the test checks what the pages say
# against what it sent: case messages delivered and queued, a case
# reference search, one message's timeline and receipt, partners
# connected or not with their queues, a list pulled one serial behind, a
# survey answered by one partner and awaited from the other, the audit
# chain verified; Japanese labels with ?lang=ja; values escaped.
# Screenshots go to $ICX_SCREENSHOT_DIR (default: the scenario folder;
# ICX_SCREENSHOT_DIR=$PWD/docs/img refreshes the ones in the docs).
# Skipped (exit 77) only when Chromium cannot be run.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

command -v curl >/dev/null || { echo "curl is absent (scripts/deps.sh installs it)"; exit 77; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[[ -n $CHROMIUM ]] || { echo "chromium is absent (scripts/deps.sh installs it); browser test skipped"; exit 77; }

# One Chromium run: its own profile folder, its own process group, killed
# with everything it started when it returns or after 60 s.  --no-sandbox:
# the tests may run as root (CI), where Chromium's sandbox refuses to start.
chrome() {
  local prof; prof=$(mktemp -d "$W/chromium-XXXXXX")
  setsid timeout -k 5 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --disable-extensions \
    --disable-background-networking --user-data-dir="$prof" "$@" 2>>"$W/chromium.log" &
  local pid=$! rc
  wait "$pid"; rc=$?
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$prof"
  return $rc
}
if ! chrome --dump-dom 'data:text/html,<p>chromium-runs</p>' 2>/dev/null | grep -q chromium-runs; then
  echo "chromium cannot be run here (see below); browser test skipped"
  tail -5 "$W/chromium.log" 2>/dev/null
  exit 77
fi
SHOTS=${ICX_SCREENSHOT_DIR:-$W/img}
mkdir -p "$SHOTS"

# ---- three gateways ------------------------------------------------------
cats() { # partner file: cases, surveys and lists both ways
  sed -i -e 's/^categories_in: \[/categories_in: [survey-request, survey-response, list-sync-request, list-update, /' \
         -e 's/^categories_out: \[/categories_out: [survey-request, survey-response, list-sync-request, list-update, /' "$1"
}
no_hub() { sed -i '/^  hub: /d' "$W/$1/gateway.yaml"; }
for id in JP-NPA PH-NBI GB-NCA KR-KNPA; do gw_keys "$id"; done
gw_write JP-NPA yes false; no_hub JP-NPA
for p in PH-NBI GB-NCA KR-KNPA; do
  gw_partner JP-NPA "$p" accept direct; cats "$W/JP-NPA/partners/${p,,}.yaml"
done
echo "lists: [csam-hashes]" >>"$W/JP-NPA/partners/ph-nbi.yaml"
echo "lists: [csam-hashes]" >>"$W/JP-NPA/partners/gb-nca.yaml"
cat >"$W/JP-NPA/lists.yaml" <<'EOF'
lists:
  - id: csam-hashes
    kind: hash
    allow: [PH-NBI, GB-NCA]
EOF
gw_http JP-NPA
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
ep=$(gw_endpoint JP-NPA)
for p in PH-NBI GB-NCA; do
  gw_write "$p" no false; no_hub "$p"
  gw_partner "$p" JP-NPA connect direct "$ep"; cats "$W/$p/partners/jp-npa.yaml"
  gw_start "$p" || { bad "$p starts"; finish; exit 1; }
done
ok "three gateways run"
u=$(gw_url JP-NPA)

# ---- what the pages must show --------------------------------------------
ref=JP-NPA-2026-CSE-00417   # the sample payload's CaseReference
m1=$(submit_sample JP-NPA PH-NBI)
m2=$(submit_sample JP-NPA GB-NCA)
m3=$(submit_sample JP-NPA KR-KNPA)
check "a message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$m1"
check "a message to GB-NCA is delivered" wait_for 20 delivered JP-NPA "$m2"

# A list: serial 1 pulled by PH-NBI, then serial 2 it has not pulled.
hashes() { python3 -c 'import hashlib, sys
sys.stdout.write("".join("sha256:%s\n" % hashlib.sha256(b"h-%d" % i).hexdigest() for i in range(int(sys.argv[1]), int(sys.argv[2]))))' "$1" "$2"; }
hashes 0 20 >"$W/h1.txt"; hashes 0 25 >"$W/h2.txt"
"$icx" lists import csam-hashes "$W/h1.txt" -c "$W/JP-NPA/gateway.yaml" >/dev/null
check "PH-NBI pulls serial 1" "$icx" pull JP-NPA csam-hashes -c "$W/PH-NBI/gateway.yaml" --wait 60
# The publisher learns the serial a partner holds from its next request.
check "PH-NBI pulls again (nothing new)" "$icx" pull JP-NPA csam-hashes -c "$W/PH-NBI/gateway.yaml" --wait 60
"$icx" lists import csam-hashes "$W/h2.txt" -c "$W/JP-NPA/gateway.yaml" >/dev/null

# A survey to PH-NBI and GB-NCA; PH-NBI answers.
D=$src/tests/data/survey
sed -e '/^groups_file:/d' -e 's/^recipients: .*/recipients: [PH-NBI, GB-NCA]/' "$D/g7-r1.yaml" >"$W/survey.yaml"
icx_at JP-NPA survey send "$W/survey.yaml" >"$W/send.out" 2>&1
check "the survey goes to two partners" test "$(grep -c '^queued' "$W/send.out")" -eq 2
req=$(awk '/^queued/ && /PH-NBI/ {print $2}' "$W/send.out")
has_request() { icx_at PH-NBI inbox --limit 100 | grep -q "$req"; }
check "PH-NBI received the survey" wait_for 30 has_request
icx_at PH-NBI survey answer "$req" --from "$D/gb-r1.yaml" >/dev/null 2>&1
answered() { icx_at JP-NPA survey status 2025-csam-law-r1 | grep -q '^1 answered'; }
check "PH-NBI's answer arrived" wait_for 30 answered
sleep 1.5   # the loop's next snapshot (connections, last contact)

# ---- the browser ---------------------------------------------------------
page() { # path, file: the DOM Chromium built
  chrome --dump-dom "$u$1" >"$W/$2.html"
}
sees() { # name, file, fixed string...
  local name=$1 f=$W/$2.html s; shift 2
  for s in "$@"; do
    if ! grep -qF -- "$s" "$f"; then bad "$name: \"$s\" not in the page ($(wc -c <"$f") bytes)"; return; fi
  done
  ok "$name"
}
row_has() { # name, file, row id or text anchor, fixed strings: one table row holds them all
  local name=$1 f=$W/$2.html anchor=$3; shift 3
  if python3 - "$f" "$anchor" "$@" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding='utf-8').read()
anchor, want = sys.argv[2], sys.argv[3:]
for row in re.findall(r'<tr[^>]*>.*?</tr>', html, re.S):
    text = re.sub(r'<[^>]+>', '|', row)
    if anchor in row and all(w in text for w in want):
        sys.exit(0)
sys.exit(1)
EOF
  then ok "$name"; else bad "$name: no row with $anchor and $*"; fi
}

page "" overview
sees "overview names the gateway" overview "ICX gateway JP-NPA" "Outbound"
# Delivered: the two case messages, the survey requests, the list pages.
n_del=$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox where state = 'delivered'")
row_has "overview: $n_del delivered, 1 queued" overview 'state=delivered' "|$n_del|" '|1|'
page "messages" messages
sees "messages lists all three" messages "$m1" "$m2" "$m3"
row_has "messages: the queued one to KR-KNPA" messages "$m3" queued KR-KNPA
page "messages?ref=$ref" byref
sees "search by case reference finds them" byref "$m1" "$m3"
page "messages?ref=NO-SUCH-REF" noref
check "a case reference nobody sent finds nothing" bash -c "! grep -qF '$m1' '$W/noref.html'"
page "messages?id=${m1:0:13}" byprefix
sees "search by MessageId prefix" byprefix "$m1"
check "the prefix search leaves out the others" bash -c "! grep -qF '$m3' '$W/byprefix.html'"
page "messages?partner=KR-KNPA&state=queued" bypartner
sees "search by partner and state" bypartner "$m3"
check "and only that partner" bash -c "! grep -qF '$m1' '$W/bypartner.html'"
page "message?id=$m1" message
row_has "the timeline has the delivery" message outbound.delivered 'PH-NBI'
row_has "the timeline has the queueing" message outbound.queued 'PH-NBI'
row_has "the receipt from PH-NBI is positive and final" message '<td>PH-NBI</td>' positive final
page "message?id=${m1:0:13}" message-prefix
sees "a message by its MessageId prefix" message-prefix "outbound.delivered"
page "partners" partners
row_has "PH-NBI connected, queue 0" partners 'p-PH-NBI' '|yes|' '|0|'
row_has "KR-KNPA not connected, queue 1, its message due" partners 'p-KR-KNPA' '|no|' '|1|' "$m3"
sees "the retry schedule" partners "first after 1 s, then up to 2 s, gives up after 3600 s"
page "lists" lists
row_has "PH-NBI holds serial 1 of 2: lag 1" lists '<td>PH-NBI</td>' csam-hashes '|2|' '|1|'
row_has "GB-NCA never pulled" lists '<td>GB-NCA</td>' csam-hashes '|-|'
page "surveys" surveys
sees "the survey round" surveys "2025-csam-law-r1"
row_has "PH-NBI answered" surveys '<td>PH-NBI</td>' answered
row_has "GB-NCA is awaited" surveys '<td>GB-NCA</td>' waiting
page "audit" audit
sees "the audit chain verified" audit 'id="verify" class="ok"' "chain verified"
page "partners?lang=ja" partners-ja
sees "Japanese labels with ?lang=ja" partners-ja '<html lang="ja">' "相手機関" "送信待ち" "はい"
page "surveys?lang=ja" surveys-ja
sees "Japanese survey states" surveys-ja "回答済み" "回答待ち"

# Values are escaped: a search term is shown as text, never markup; and
# no page carries a script.
scripts() { # DOM file -> number of script elements
  python3 -c 'import sys
from html.parser import HTMLParser
class P(HTMLParser):
    n = 0
    def handle_starttag(self, tag, attrs):
        P.n += tag == "script"
P().feed(open(sys.argv[1], encoding="utf-8").read()); print(P.n)' "$1"
}
page "messages?partner=%3Cscript%3Ealert(1)%3C%2Fscript%3E" xss
check "a query value shown back makes no script element" test "$(scripts "$W/xss.html")" = 0
check "it is in the form as text" grep -qF 'alert(1)' "$W/xss.html"
check "the raw page escapes it" bash -c "curl -s '${u}messages?partner=%3Cscript%3E' | grep -qF 'value=\"&lt;script&gt;\"'"
for f in overview messages message partners lists surveys audit; do
  check "the $f page has no script" test "$(scripts "$W/$f.html")" = 0
done

# Screenshots for the docs.
shot() { chrome --window-size=1280,"$3" --hide-scrollbars --screenshot="$SHOTS/$2" "$u$1" >/dev/null; }
shot "" dashboard-overview.png 560
shot "messages" dashboard-messages.png 620
shot "message?id=$m1" dashboard-message.png 720
shot "partners" dashboard-partners.png 380
for f in overview messages message partners; do
  check "screenshot $f is a PNG" bash -c "head -c 8 '$SHOTS/dashboard-$f.png' | od -An -tx1 | grep -q '89 50 4e 47'"
done

finish
