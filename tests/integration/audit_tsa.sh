#!/usr/bin/env bash
# RFC 3161 time-stamps of audit checkpoints end to end, against a local
# TSA made by openssl (tools/tsa_make.sh) behind a small HTTP server
# (tools/tsa_server.py) on 127.0.0.1: checkpoints are stamped, one request
# per checkpoint; with the TSA stopped the gateway keeps delivering and the
# checkpoints queue; when it is back they are stamped, the gap visible in
# `icx audit show --checkpoints`; replies signed under another CA or
# tampered are refused and audited; an evidence bundle carries the token
# and the steps of docs/AUDIT.md check it with openssl alone.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

T=$W/tsa
bash "$src/tests/integration/tools/tsa_make.sh" "$T" || { bad "test TSA made"; finish; exit 1; }
TSA_PID=
tsa_start() { # [port]
  rm -f "$T/port"
  python3 "$src/tests/integration/tools/tsa_server.py" "$T" ${1:-} &
  TSA_PID=$!
  wait_for 10 test -s "$T/port"
}
tsa_stop() { [[ -n $TSA_PID ]] && kill "$TSA_PID" 2>/dev/null; wait "$TSA_PID" 2>/dev/null; TSA_PID=; }
trap 'tsa_stop; gw_cleanup' EXIT
tsa_start || { bad "TSA server starts"; finish; exit 1; }
port=$(cat "$T/port")

export GW_CHECKPOINT_EVERY=1000 GW_CHECKPOINT_SECONDS=1
export GW_TSA_URL="http://127.0.0.1:$port/tsa" GW_TSA_CA="$T/ca.pem" GW_TSA_RETRY=1
gw_pair_and_absent || { bad "gateways start"; finish; exit 1; }
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
jp=$W/JP-NPA/gateway.yaml
db=$W/JP-NPA/icx.db
q() { sqlite3 "$db" "$1"; }
queued() { # checkpoints after the newest stamped one
  q "select count(*) from checkpoints where size > coalesce((select max(size) from checkpoint_stamps), 0)"
}
all_stamped() { [[ $(queued) == 0 ]]; }

m1=$(submit_sample JP-NPA PH-NBI)
check "a message is delivered" wait_for 20 delivered JP-NPA "$m1"
check "checkpoints get time-stamped" wait_for 20 bash -c "[[ \$(sqlite3 '$db' 'select count(*) from checkpoint_stamps') -ge 1 ]]"
for i in 1 2 3 4 5; do submit_sample JP-NPA PH-NBI >/dev/null; done
sleep 2
check "every checkpoint is stamped, oldest first" wait_for 20 all_stamped
# Both gateways use the TSA: every request of either made one stamp.
stamps=$(( $(q "select count(*) from checkpoint_stamps") + $(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from checkpoint_stamps") ))
cps=$(( $(q "select count(*) from checkpoints") + $(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from checkpoints") ))
msgs=$(q "select count(*) from outbox")
reqs=$(wc -l <"$T/requests")
check "one request per checkpoint, never per message ($reqs requests, $stamps stamps, $cps checkpoints, $msgs messages)" \
  test "$reqs" -eq "$stamps" -a "$stamps" -le "$cps"
check "the stamping gateway's log names the stamp" grep -q "audit.stamped size=" "$W/JP-NPA/log"
out=$("$icx" audit show --checkpoints -c "$jp")
check "audit show --checkpoints lists stamped checkpoints, verified with the CA" \
  grep -Eq "stamped +20[0-9-]+T[0-9:]+Z +-?[0-9]+ +verified" <<<"$out"
check "audit show --checkpoints --json" bash -c "'$icx' audit show --checkpoints --json -c '$jp' | grep -q '\"state\":\"stamped\"'"
# A stored token checked by openssl alone against its checkpoint's text.
# (PostgreSQL: chr for char, and the token's bytes out as base64.)
sz=$(q "select max(size) from checkpoint_stamps")
nl="char(10)"; [[ -n "${ICX_TEST_STORE:-}" ]] && nl="chr(10)"
q "select 'icx-audit-checkpoint v1' || $nl || 'gateway ' || gateway || $nl || 'size ' || size || $nl || 'root ' || root || $nl || 'time ' || time || $nl from checkpoints where size = $sz" | head -c -1 >"$W/cp.txt"
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  q "select encode(token, 'base64') from checkpoint_stamps where size = $sz" | base64 -d >"$W/cp.tst"
else
  q "select writefile('$W/cp.tst', token) from checkpoint_stamps where size = $sz" >/dev/null
fi
check "openssl ts -verify accepts a stored token over its checkpoint" \
  openssl ts -verify -token_in -in "$W/cp.tst" -data "$W/cp.txt" -CAfile "$T/ca.pem"
check "and refuses it under another CA" bash -c "! openssl ts -verify -token_in -in '$W/cp.tst' -data '$W/cp.txt' -CAfile '$T/other-ca.pem' 2>/dev/null"

# The TSA stops: the gateway keeps delivering, checkpoints queue.
tsa_stop
before=$(q "select max(size) from checkpoint_stamps")
m2=$(submit_sample JP-NPA PH-NBI)
check "with the TSA down, the gateway keeps delivering" wait_for 20 delivered JP-NPA "$m2"
m3=$(submit_sample JP-NPA PH-NBI)
check "and delivering" wait_for 20 delivered JP-NPA "$m3"
check "checkpoints queue while the TSA is down" wait_for 20 bash -c "[[ \$(sqlite3 '$db' 'select count(*) from checkpoints where size > $before') -ge 2 ]]"
sleep 2
check "nothing was stamped meanwhile" test "$(q "select max(size) from checkpoint_stamps")" = "$before"
check "the unreachable TSA is logged" grep -q "audit.stamp-deferred" "$W/JP-NPA/log"
out=$("$icx" audit show --checkpoints -c "$jp")
check "audit show --checkpoints shows them queued, with the wait" \
  grep -Eq "queued +- +[0-9]+ +-" <<<"$out"
check "and counts them" grep -Eq "[0-9]+ queued \\(the oldest waiting [0-9]+ s\\)" <<<"$out"
sleep 2
tsa_start "$port" || bad "TSA server starts again"
check "the TSA back, the queued checkpoints are stamped" wait_for 30 all_stamped
epoch="cast(strftime('%s', c.time) as integer)"
[[ -n "${ICX_TEST_STORE:-}" ]] && epoch="cast(floor(extract(epoch from cast(c.time as timestamptz))) as bigint)"
gap=$(q "select max(s.gen_epoch - $epoch) from checkpoint_stamps s join checkpoints c using (size) where s.size > $before")
check "a late stamp shows the gap ($gap s)" test "${gap:-0}" -ge 2
out=$("$icx" audit show --checkpoints -c "$jp")
check "audit show --checkpoints shows the gap" \
  grep -Eq "stamped +[0-9TZ:-]+ +([2-9]|[1-9][0-9]+) +verified" <<<"$out"

# Refused replies: signed under another CA, then tampered.
refusals() { q "select count(*) from audit where event = 'audit.stamp-refused'"; }
echo other >"$T/mode"
submit_sample JP-NPA PH-NBI >/dev/null
check "a reply signed under another CA is refused and audited" \
  wait_for 20 bash -c "[[ \$(sqlite3 '$db' \"select count(*) from audit where event = 'audit.stamp-refused'\") -ge 1 ]]"
check "the refusal is alerted in the log" grep -q "audit.stamp-refused alert=1" "$W/JP-NPA/log"
check "its checkpoint stays queued" bash -c "[[ \$(sqlite3 '$db' 'select count(*) from checkpoints where size > (select max(size) from checkpoint_stamps)') -ge 1 ]]"
n1=$(refusals)
echo tamper >"$T/mode"
check "a tampered reply is refused and audited" wait_for 20 bash -c "[[ \$(sqlite3 '$db' \"select count(*) from audit where event = 'audit.stamp-refused'\") -gt $n1 ]]"
sleep 2
check "each refusal is audited once, not at every retry" test "$(refusals)" -le $((n1 + 1))
check "no refused token was stored" bash -c "'$icx' audit show --checkpoints -c '$jp' >/dev/null"
rm -f "$T/mode"
check "a good TSA again: every checkpoint stamped" wait_for 30 all_stamped

# The evidence bundle carries the token; the documented steps check it.
check "bundle written" "$icx" audit bundle "$m1" --out "$W/m1.icxb" -c "$jp"
check "the bundle carries the token and the TSA's CA" \
  bash -c "grep -q '^-----BEGIN ICX checkpoint.tst-----' '$W/m1.icxb' && grep -q '^-----BEGIN ICX tsa-ca.pem-----' '$W/m1.icxb'"
check "icx audit check-bundle checks the token" \
  bash -c "'$icx' audit check-bundle '$W/m1.icxb' | grep -q 'time-stamp token over the checkpoint'"
sed -n '/^```sh verify-timestamp$/,/^```$/{//!p}' "$src/docs/AUDIT.md" >"$W/verify-timestamp.sh"
check "the documented steps are in docs/AUDIT.md" test -s "$W/verify-timestamp.sh"
mkdir -p "$W/manual" && (cd "$W/manual" && BUNDLE=$W/m1.icxb bash "$W/verify-timestamp.sh") >"$W/manual.out" 2>&1
check "the documented openssl steps verify the token (data and digest)" \
  test "$(grep -c '^Verification: OK' "$W/manual.out")" -eq 2
check "and print its genTime" grep -q "^genTime: " "$W/manual.out"
sed -n '/^```sh verify-bundle$/,/^```$/{//!p}' "$src/docs/AUDIT.md" >"$W/verify-bundle.sh"
(cd "$W/manual" && BUNDLE=$W/m1.icxb bash "$W/verify-bundle.sh") >"$W/bundle.out" 2>&1
check "the bundle's records still verify against the stamped checkpoint" grep -q "^bundle verified" "$W/bundle.out"
# The checkpoint text changed by one byte: the token no longer covers it.
sed '/^-----BEGIN ICX checkpoint-----$/,/^-----END ICX checkpoint-----$/s/^size /size 1/' \
  "$W/m1.icxb" >"$W/edited.icxb"
(cd "$W/manual" && BUNDLE=$W/edited.icxb bash "$W/verify-timestamp.sh") >"$W/manual2.out" 2>&1
check "the documented steps refuse a token over other bytes" \
  bash -c "! grep -q '^Verification: OK' '$W/manual2.out'"
check "icx audit check-bundle refuses it too" bash -c "! '$icx' audit check-bundle '$W/edited.icxb' >/dev/null 2>&1"

gw_stop PH-NBI
gw_stop JP-NPA
check "icx audit verify: the log with stamps is intact" "$icx" audit verify -c "$jp"
check "icx store check: the stored tokens are over their checkpoints" \
  bash -c "'$icx' store check -c '$jp' | grep -q 'time-stamp tokens are over their checkpoints'"
# A token put under another checkpoint: icx store check and show refuse it.
# (PostgreSQL: a copy of the database, its append-only trigger disabled.)
swap="update checkpoint_stamps set token = (select token from checkpoint_stamps where size = (select max(size) from checkpoint_stamps)) where size = (select min(size) from checkpoint_stamps)"
cp "$db.head" "$W/t.db.head"
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  gw_db_copy "$(gw_db JP-NPA)" gw_db_tampered
  psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/gw_db_tampered" \
    -c "alter table checkpoint_stamps disable trigger checkpoint_stamps_append_only; $swap" >/dev/null
  sed -e "s#^  path: .*#  path: $ICX_TEST_STORE/gw_db_tampered#" -e "s#head: icx.db.head#head: $W/t.db.head#" \
    "$jp" >"$W/JP-NPA/t.yaml"
else
  cp "$db" "$W/t.db"
  sqlite3 "$W/t.db" "drop trigger checkpoint_stamps_no_update; $swap"
  sed "s#path: icx.db#path: $W/t.db#" "$jp" >"$W/JP-NPA/t.yaml"
fi
check "icx store check names a token over the wrong checkpoint" \
  bash -c "'$icx' store check -c '$W/JP-NPA/t.yaml' 2>&1 | grep -q 'time-stamp of checkpoint'"
check "icx audit show --checkpoints exits 1 on it" \
  bash -c "'$icx' audit show --checkpoints -c '$W/JP-NPA/t.yaml' >/dev/null 2>&1; [[ \$? -eq 1 ]]"
finish
