#!/usr/bin/env bash
# icx submit --profile with lists longer than one message: JP-NPA (64 KiB
# messages) submits a URL list of several pages to PH-NBI in one step;
# every page is its own envelope, PH-NBI receives them all, and together
# they are the list with its Digest.  An invalid list (alone, or after a
# long one) sends nothing; a small list goes as one payload, as before.  A
# control socket that refuses the third page shows what is said and sent
# when a submission stops mid-way; a recipient that is not a partner
# (what it may not receive is then not known) makes it send nothing.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

P=$src/config/mappings
JP=$W/JP-NPA/gateway.yaml
LEGAL=(--legal-basis "Act No. 52 of 1999; ICPO cooperation" --retain-until 2036-01-01)

lists_categories() {
  sed -i -e 's/^categories_in: \[\(.*\)\]/categories_in: [\1, list-update]/' \
         -e 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-update]/' "$1"
}
small_messages() { printf 'limits:\n  max_message_bytes: 65536\n' >>"$1"; }

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
small_messages "$JP"
gw_partner JP-NPA PH-NBI accept direct
lists_categories "$W/JP-NPA/partners/ph-nbi.yaml"
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false PH-NBI
small_messages "$W/PH-NBI/gateway.yaml"
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
lists_categories "$W/PH-NBI/partners/jp-npa.yaml"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
ok "two gateways start (messages of at most 64 KiB)"

# 2,000 fictional URLs (about 200 KiB of payload), one repeated.
L=$W/list; mkdir -p "$L"
awk 'BEGIN { print "# FICTIONAL"; for (i = 1; i <= 2000; i++) print "https://h" i % 97 ".example/c/" i ".jpg";
             print "HTTPS://H5.EXAMPLE/c/5.jpg" }' >"$L/urls.txt"
{ cat "$L/urls.txt"; echo "not a url"; } >"$L/bad.txt"
outbox_count() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox"; }

# 1. An invalid list sends nothing, alone or after a long list.
before=$(outbox_count)
"$icx" submit "$L/bad.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI "${LEGAL[@]}" -c "$JP" >"$W/out" 2>"$W/err"
check "an invalid long list: refused, exit 1" test $? -eq 1
check "the invalid row is named" grep -q "bad.txt:2003:1:entry.url:" "$W/err"
check "and nothing was sent" grep -q "bad.txt: not translated for PH-NBI; nothing was sent" "$W/err"
"$icx" submit "$L/urls.txt" "$L/bad.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI "${LEGAL[@]}" -c "$JP" >"$W/out" 2>"$W/err"
check "a long list before an invalid one: exit 1" test $? -eq 1
check "no page of the long list was sent" bash -c "! grep -q queued '$W/out' '$W/err'"
check "JP-NPA queued nothing" test "$(outbox_count)" -eq "$before"

# 2. The long list in one step: one envelope per page, all delivered.
"$icx" submit "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI "${LEGAL[@]}" -c "$JP" >"$W/out" 2>"$W/err"
check "a long list is submitted (exit 0)" test $? -eq 0
n=$(grep -c '^queued ' "$W/out")
check "as several pages, one message each ($n)" test "$n" -gt 2
check "each page's answer on stderr: page N of N" grep -q "urls.txt: page $n of $n queued" "$W/err"
check "a summary names the pages and the session" grep -q "urls.txt: $n pages of list csam-urls (SessionId [0-9a-f-]*) queued to PH-NBI" "$W/err"
ids=$(awk '/^queued/ {print $2}' "$W/out")
all_delivered() { local m; for m in $ids; do delivered JP-NPA "$m" || return 1; done; }
check "every page is delivered" wait_for 60 all_delivered
got=$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from inbox where sender = 'JP-NPA' and category = 'list-update' and state = 'accepted'")
check "PH-NBI accepted every page ($got of $n)" test "$got" -eq "$n"
mkdir -p "$L/in"
for m in $ids; do
  gw_blob_out PH-NBI "select envelope from inbox where message_id = '$m'" "$L/in/$m.xml"
done
"$icx" audit show --event inbound.accepted -c "$W/PH-NBI/gateway.yaml" >"$L/audit" 2>&1
check "PH-NBI's audit records each page accepted" bash -c \
  "for m in $(echo $ids); do grep -q \"\$m\" '$L/audit' || exit 1; done"
pages=$(cat "$L"/in/*.xml | grep -o '<Page>[0-9]*</Page><PageCount>[0-9]*' | sed 's/<[^>]*>/ /g' | sort -n | tr -s ' ' | tr '\n' ',')
want=$(for ((i = 1; i <= n; i++)); do printf ' %d %d,' "$i" "$n"; done)
check "pages 1..$n of $n, each once" test "$pages" == "$want"
check "one SessionId across the pages" test "$(grep -ho '<SessionId>[^<]*' "$L"/in/*.xml | sort -u | wc -l)" -eq 1
# The entries of pages 1..N, in page order, are the list, and their sorted
# lines give the Digest every page carries.
for ((i = 1; i <= n; i++)); do grep -l "<Page>$i</Page>" "$L"/in/*.xml; done | xargs cat |
  grep -o '<Value>[^<]*</Value>' | sed 's/<[^>]*>//g' >"$L/values"
check "2,000 entries once, in order" bash -c "LC_ALL=C sort -c '$L/values' && [[ \$(wc -l <'$L/values') -eq 2000 ]]"
digest=$(LC_ALL=C sort "$L/values" | sha256sum | cut -c1-64)
check "every page carries the Digest of the whole list" test \
  "$(grep -l "<Digest algorithm=\"sha256\">$digest</Digest><EntryCount>2000</EntryCount>" "$L"/in/*.xml | wc -l)" -eq "$n"
# PH-NBI does not pull csam-urls from JP-NPA: its lists module records the
# pages as unsolicited and applies none of them.
check "PH-NBI's lists module records each page as unsolicited" test \
  "$(sqlite3 "$W/PH-NBI/icx-lists.db" "select count(*) from event where event = 'list.unsolicited'")" -eq "$n"
check "and holds no copy of the list" test \
  "$(sqlite3 "$W/PH-NBI/icx-lists.db" "select count(*) from sub")" -eq 0

# 3. A small list: one payload, one message, as before.
"$icx" submit "$src/tests/data/translate/urls.csv" --profile "$P/npa-urls.yaml" --to PH-NBI "${LEGAL[@]}" -c "$JP" >"$W/out" 2>"$W/err"
check "a small list: exit 0" test $? -eq 0
check "one message" test "$(grep -c '^queued ' "$W/out")" -eq 1
check "no page lines" bash -c "! grep -q 'page' '$W/err'"
m=$(awk '/^queued/ {print $2}' "$W/out")
check "it is delivered" wait_for 20 delivered JP-NPA "$m"
check "Page 1 of 1" bash -c "sqlite3 '$W/PH-NBI/icx.db' \"select envelope from inbox where message_id = '$m'\" | grep -q '<Page>1</Page><PageCount>1</PageCount>'"

# 4. A long list after a small one: the small one goes first as before,
#    then the long one (checked with it, then read again) page by page.
"$icx" submit "$L/urls.txt" "$src/tests/data/translate/urls.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI "${LEGAL[@]}" -c "$JP" >"$W/out" 2>"$W/err"
check "a long list and a small one: exit 0" test $? -eq 0
check "one message for the small list, one per page for the long one" test "$(grep -c '^queued ' "$W/out")" -eq $((n + 1))
first=$(awk '/^queued/ {print $2; exit}' "$W/out")
gw_blob_out JP-NPA "select e.envelope from outbox_envelope e join outbox o on o.id = e.outbox_id where o.message_id = '$first'" "$W/first.xml"
check "the small list went first" grep -q '<PageCount>1</PageCount>' "$W/first.xml"

# 5. A control socket that accepts two pages and refuses the third.
#    INT-ICPO, the second recipient, is a partner of JP-NPA (submit
#    refuses a recipient without a partner file before sending anything).
gw_keys INT-ICPO
gw_partner JP-NPA INT-ICPO accept direct
cat >"$W/fake.py" <<'PY'
import socket, struct, sys, os
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
open(path + ".ready", "w").close()
def rd(c, n):
    b = b""
    while len(b) < n:
        k = c.recv(n - len(b))
        if not k: raise EOFError
        b += k
    return b
k = 0
while True:
    c, _ = s.accept()
    assert rd(c, 4) == b"ICXC"; rd(c, 4)
    argv = [rd(c, struct.unpack(">I", rd(c, 4))[0]).decode() for _ in range(struct.unpack(">I", rd(c, 4))[0])]
    blobs = [rd(c, struct.unpack(">Q", rd(c, 8))[0]) for _ in range(struct.unpack(">I", rd(c, 4))[0])]
    k += 1
    with open(log, "a") as f:
        f.write("%d %s blobs=%d to=%s\n" % (k, argv[0], len(blobs), argv[argv.index("--to") + 1]))
    if k < 3:
        code, text = 0, "queued fake-%d to PH-NBI via PH-NBI (sha256 0)\n" % k
    else:
        code, text = 1, "icx: refused: fake-%d to PH-NBI: policy\nicx: nothing was queued\n" % k
    t = text.encode()
    c.sendall(b"ICXR" + struct.pack(">II", code, len(t)) + t)
    c.close()
PY
python3 "$W/fake.py" "$W/fake.sock" "$W/fake.log" &
fake=$!
wait_for 10 test -e "$W/fake.sock.ready"
"$icx" submit "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI,XX-NONE "${LEGAL[@]}" -c "$JP" --socket "$W/fake.sock" >"$W/out" 2>"$W/err"
check "a recipient that is not a partner: exit 1" test $? -eq 1
check "it is named" grep -q "^icx: error: --to XX-NONE is not a partner in $JP" "$W/err"
check "no request reached the socket" test ! -e "$W/fake.log"
"$icx" submit "$L/urls.txt" --profile "$P/npa-urls-lines.yaml" --to PH-NBI,INT-ICPO "${LEGAL[@]}" -c "$JP" --socket "$W/fake.sock" >"$W/out" 2>"$W/err"
rc=$?
kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null
check "a page refused mid-way: exit 1 (the daemon's code)" test "$rc" -eq 1
check "the daemon's answer for the refused page is shown" grep -q "icx: refused: fake-3" "$W/err"
check "the refused page is named" grep -q "^icx: error: .*urls.txt: page 3 of $n was refused (the daemon's answer is above)$" "$W/err"
check "the pages accepted are named" grep -q "urls.txt: pages 1-2 of $n are queued to PH-NBI,INT-ICPO (SessionId [0-9a-f-]*) and stay queued" "$W/err"
check "the pages not sent are named" grep -q "urls.txt: pages 3-$n were not sent$" "$W/err"
check "and why the receiver applies nothing" grep -q "applies a list only from a complete set of pages whose Digest matches" "$W/err"
check "the submission stopped at the refused page" test "$(wc -l <"$W/fake.log")" -eq 3
check "one request per page, one page each, for every recipient" test \
  "$(grep -c ' submit blobs=1 to=PH-NBI,INT-ICPO$' "$W/fake.log")" -eq 3
finish
