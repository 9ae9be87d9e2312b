#!/usr/bin/env bash
# The HTTP server inside icx serve and its /metrics: the exposition passes
# a strict OpenMetrics parser and carries the numbers of what was sent
# (messages by state and partner, receipts, retries, queue depth, oldest
# undelivered age, commit latency histogram, checkpoints); the server is
# read-only (405 for anything but GET and HEAD) and bounded (long target
# 414, too many query parameters 400); a non-loopback address without TLS
# is refused by `icx config check` and by `icx serve`.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
om=$src/tests/integration/tools/openmetrics_check.py

command -v curl >/dev/null || { echo "curl is absent (scripts/deps.sh installs it)"; exit 77; }

# 0. The checker itself refuses what is not OpenMetrics (so that its
# "ok" below means something).
refuses() { # name, text
  if printf '%b' "$2" | python3 "$om" - >/dev/null; then bad "checker refuses $1"; else ok "checker refuses $1"; fi
}
refuses "a missing # EOF" '# TYPE a gauge\na 1\n'
refuses "text after # EOF" '# TYPE a gauge\na 1\n# EOF\na 2\n'
refuses "a counter sample without _total" '# TYPE c counter\nc 1\n# EOF\n'
refuses "a counter family named _total" '# TYPE c_total counter\nc_total 1\n# EOF\n'
refuses "a sample without TYPE" 'x 1\n# EOF\n'
refuses "a bad label escape" '# TYPE a gauge\na{l="\\q"} 1\n# EOF\n'
refuses "a repeated label" '# TYPE a gauge\na{l="1",l="2"} 1\n# EOF\n'
refuses "a repeated sample" '# TYPE a gauge\na{l="1"} 1\na{l="1"} 2\n# EOF\n'
refuses "interleaved families" '# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n# EOF\n'
refuses "decreasing buckets" '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 1\n# EOF\n'
refuses "a histogram without +Inf" '# TYPE h histogram\nh_bucket{le="1"} 5\nh_count 5\nh_sum 1\n# EOF\n'
refuses "_count other than +Inf" '# TYPE h histogram\nh_bucket{le="+Inf"} 5\nh_count 4\nh_sum 1\n# EOF\n'
refuses "a unit that is not the suffix" '# TYPE a gauge\n# UNIT a seconds\na 1\n# EOF\n'
refuses "a stray comment" '# TYPE a gauge\n# hello\na 1\n# EOF\n'
if printf '# TYPE h histogram\n# UNIT h_seconds seconds\n' | python3 "$om" - >/dev/null; then bad "checker: UNIT of another family"; else ok "checker refuses metadata of a family that has not begun"; fi
if printf '# TYPE a gauge\n# HELP a the a\na{l="x\\"y"} 1\n# TYPE c counter\nc_total 3\n# EOF\n' | python3 "$om" - >/dev/null; then ok "checker accepts a good exposition"; else bad "checker accepts a good exposition"; fi

# 1. Three gateways: JP-NPA (dashboard on), PH-NBI connected, KR-KNPA down.
for id in JP-NPA PH-NBI KR-KNPA; do gw_keys "$id"; done
GW_CHECKPOINT_SECONDS=1 gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_partner JP-NPA KR-KNPA accept direct
gw_http JP-NPA
gw_start JP-NPA || { bad "JP-NPA starts with http:"; finish; exit 1; }
check "the URL file names a loopback URL" grep -qE '^http://127\.0\.0\.1:[0-9]+/$' "$W/JP-NPA/http-url"
check "the log says where it listens" grep -q 'web.listening url=http://127.0.0.1:' "$W/JP-NPA/log"
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
u=$(gw_url JP-NPA)

d1=$(submit_sample JP-NPA PH-NBI); d2=$(submit_sample JP-NPA PH-NBI)
q1=$(submit_sample JP-NPA KR-KNPA)
check "a message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$d1"
check "another message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$d2"
# Retries to KR-KNPA (retry initial 1 s, max 2 s) and a checkpoint.
sleep 4

metrics() { curl -sS -D "$W/headers" -o "$W/metrics" "${u}metrics"; }
value() { # sample line prefix as --dump prints it -> its value
  python3 "$om" --dump "$W/metrics" | awk -v k="$1" 'index($0, k" ") == 1 {print $2}'
}
has() { # name, sample, want (exact) | ">0"
  local got; got=$(value "$2")
  if [[ $3 == ">0" ]]; then
    if [[ -n $got ]] && awk -v g="$got" 'BEGIN{exit !(g > 0)}'; then ok "$1"; else bad "$1: $2 got \"$got\", want > 0"; fi
  elif [[ $got == "$3" ]]; then ok "$1"; else bad "$1: $2 got \"$got\", want $3"; fi
}

metrics
check "/metrics answers 200" grep -q '^HTTP/1.1 200' "$W/headers"
check "/metrics has the OpenMetrics content type" grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$W/headers"
if python3 "$om" "$W/metrics" >"$W/om.out"; then ok "/metrics passes the strict OpenMetrics parser"
else bad "/metrics passes the strict OpenMetrics parser: $(head -5 "$W/om.out")"; fi
check "/metrics ends with one # EOF" bash -c "[[ \$(tail -c 6 '$W/metrics') == '# EOF' ]] && [[ \$(grep -c '^# EOF' '$W/metrics') == 1 ]]"
has "delivered to PH-NBI: 2" 'icx_outbound_messages{partner="PH-NBI",state="delivered"}' 2
has "queued to KR-KNPA: 1" 'icx_outbound_messages{partner="KR-KNPA",state="queued"}' 1
has "positive receipts from PH-NBI: 2" 'icx_receipts_total{partner="PH-NBI",reason="",status="positive"}' 2
has "retries to KR-KNPA counted" 'icx_outbound_retries_total{partner="KR-KNPA"}' ">0"
# Retries to a partner that is up are rare but legitimate (a slow machine,
# a sanitizer build): the metric must say what the store says.
# (the larger of two values: SQLite's max(a, b), PostgreSQL's greatest)
larger=max; [[ -n "${ICX_TEST_STORE:-}" ]] && larger=greatest
ph_retries=$(sqlite3 -cmd ".timeout 5000" "$W/JP-NPA/icx.db" "select coalesce(sum($larger(attempts - 1, 0)), 0) from outbox where next_hop = 'PH-NBI'")
has "retries to PH-NBI as the store counts them ($ph_retries)" 'icx_outbound_retries_total{partner="PH-NBI"}' "$ph_retries"
has "queue depth of KR-KNPA: 1" 'icx_queue_depth{partner="KR-KNPA"}' 1
has "the oldest undelivered message has an age" 'icx_oldest_undelivered_age_seconds{}' ">0"
has "PH-NBI connected" 'icx_partner_connected{partner="PH-NBI"}' 1
has "KR-KNPA not connected" 'icx_partner_connected{partner="KR-KNPA"}' 0
has "commits were timed" 'icx_store_commit_duration_seconds_count{}' ">0"
has "the +Inf bucket holds every commit" 'icx_store_commit_duration_seconds_bucket{le="+Inf"}' "$(value 'icx_store_commit_duration_seconds_count{}')"
has "a checkpoint was signed" 'icx_audit_checkpoints_total{}' ">0"
has "the audit log has records" 'icx_audit_records{}' ">0"

# An accepted message from PH-NBI, then its bytes altered and sent again
# under the same hop: JP-NPA rejects it, and the rejection is counted.
m3=$(submit_sample PH-NBI JP-NPA)
check "a message from PH-NBI is accepted" wait_for 20 bash -c "curl -s '${u}metrics' | grep -q '^icx_inbound_messages{partner=\"PH-NBI\",state=\"accepted\"} 1$'"
gw_blob_out PH-NBI "select e.envelope from outbox o
  join outbox_envelope e on e.outbox_id = o.id where o.message_id = '$m3'" "$W/env.xml"
sed -i 's/JP-NPA-2026-CSE-00417/JP-NPA-2026-CSE-99999/' "$W/env.xml"
m4=$(python3 -c 'import uuid; print(uuid.uuid4())')
sed -i "s/$m3/$m4/" "$W/env.xml"
outbox_inject PH-NBI "$m4" JP-NPA JP-NPA case-referral "$W/env.xml"
check "the altered envelope is rejected and counted by reason" wait_for 20 bash -c "curl -s '${u}metrics' | grep -qF 'icx_inbound_rejections_total{partner=\"PH-NBI\",reason=\"SIG_INVALID\"} 1'"

# 2. Read-only and bounded.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "POST is refused with 405" test "$(code -X POST "${u}metrics")" = 405
check "PUT is refused with 405" test "$(code -X PUT "${u}messages")" = 405
check "DELETE is refused with 405" test "$(code -X DELETE "${u}")" = 405
check "405 names the allowed methods" bash -c "curl -s -D - -o /dev/null -X POST '${u}' | grep -qi '^Allow: GET, HEAD'"
check "HEAD is answered 200" test "$(code -I "${u}metrics")" = 200
check "HEAD sends no body" test -z "$(curl -s -I "${u}metrics" | sed '1,/^\r$/d')"
long=$(head -c 2000 /dev/zero | tr '\0' a)
check "a request target over 1024 bytes is refused (414)" test "$(code "${u}messages?id=$long")" = 414
many=$(for i in $(seq 1 20); do printf 'p%d=1&' "$i"; done)
check "more than 16 query parameters are refused (400)" test "$(code "${u}messages?$many")" = 400
head -c 8000000 /dev/zero >"$W/big"
check "a GET with a body is refused (413), the body unread" test "$(code --max-time 10 -X GET -H 'Expect:' --data-binary @"$W/big" "${u}metrics")" = 413
check "an unknown path is 404" test "$(code "${u}nothing-here")" = 404
check "pages are not cached" bash -c "curl -s -D - -o /dev/null '${u}' | grep -qi '^Cache-Control: no-store'"
check "the daemon still answers its CLI" icx_at JP-NPA partners

# 3. The store is only read: the daemon keeps serving while the
# dashboard is asked many times.
pids=()
for i in $(seq 1 30); do curl -s -o /dev/null "${u}metrics" & pids+=($!); done
wait "${pids[@]}"
check "thirty scrapes at once leave the daemon serving" icx_at JP-NPA partners
check "and the dashboard too" test "$(code "${u}metrics")" = 200

# 4. A non-loopback address without TLS is refused.
mkdir -p "$W/open"
cp "$W/JP-NPA/gateway.yaml" "$W/open/gateway.yaml"
cp -r "$W/JP-NPA/partners" "$W/open/partners"
sed -i 's/^  address: 127.0.0.1/  address: 0.0.0.0/; s#\.\./keys#../keys#' "$W/open/gateway.yaml"
sed -i 's#^  path: icx.db#  path: open.db#; s#^  control: icx.sock#  control: open.sock#; s#listen: tcp://127.0.0.1:[0-9]*#listen: tcp://127.0.0.1:*#' "$W/open/gateway.yaml"
# On PostgreSQL (ICX_TEST_STORE) the copy's store is an empty database of
# its own (gw_db_*: the scenario runner drops it), and its head file open.db.head.
open_db=gw_db_open_copy
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  psql -X -q "$ICX_TEST_STORE/postgres" -c "CREATE DATABASE $open_db" >/dev/null
  sed -i "s#^  path: .*#  path: $ICX_TEST_STORE/$open_db#; s#^  head: icx.db.head#  head: open.db.head#" "$W/open/gateway.yaml"
fi
out=$("$icx" config check -c "$W/open/gateway.yaml" 2>&1); rc=$?
check "config check refuses 0.0.0.0 without TLS (exit != 0)" test $rc -ne 0
if grep -q 'http.address: 0.0.0.0 is not a loopback address' <<<"$out"; then ok "the refusal names http.address and why"
else bad "the refusal names http.address: got \"$out\""; fi
check "the refusal names the file and line" grep -qE 'gateway.yaml:[0-9]+:[0-9]+' <<<"$out"
out=$(cd "$W/open" && timeout 20 "$icx" serve -c gateway.yaml 2>&1); rc=$?
check "icx serve refuses it too" test $rc -ne 0
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  check "and serves nothing: no table made in its database" test \
    "$(psql -X -q -tA "$ICX_TEST_STORE/$open_db" -c "select count(*) from pg_tables where schemaname = 'public'")" = 0
  check "nor an open.db.head written" test ! -e "$W/open/open.db.head"
else
  check "and serves nothing: no open.db written" test ! -e "$W/open/open.db"
fi
sed -i 's/^  address: 0.0.0.0/  address: 127.0.0.1/' "$W/open/gateway.yaml"
printf '  tls_certificate: ../keys/JP-NPA/cert.pem\n' >>"$W/open/gateway.yaml"
out=$("$icx" config check -c "$W/open/gateway.yaml" 2>&1)
if grep -q 'TLS needs http.tls_certificate, http.tls_key and http.client_ca together' <<<"$out"; then ok "half a TLS setup is refused"
else bad "half a TLS setup is refused: got \"$out\""; fi

finish
