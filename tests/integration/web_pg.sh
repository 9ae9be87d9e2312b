#!/usr/bin/env bash
# The dashboard and /metrics of a gateway whose store is PostgreSQL
# (ICX_TEST_STORE, lib/pg.sh): the web service's read-only reader is a
# session of its own on the database.  The numbers of what was sent, the
# overview, the message list and the audit page (the chain verified) come
# from PostgreSQL (the reader's refused write: test_store_check); and
# icx inbox show reads the receiver's database.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v curl >/dev/null || { echo "curl is absent (scripts/deps.sh installs it)"; exit 77; }
. "$here/lib/pg_gateways.sh"
om=$src/tests/integration/tools/openmetrics_check.py

for id in JP-NPA PH-NBI KR-KNPA; do gw_keys "$id"; done
GW_CHECKPOINT_SECONDS=1 gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_partner JP-NPA KR-KNPA accept direct
gw_http JP-NPA
gw_start JP-NPA || { bad "JP-NPA starts with http: on PostgreSQL"; finish; exit 1; }
grep -q '  path: postgresql://' "$W/JP-NPA/gateway.yaml" && ok "JP-NPA's store is a PostgreSQL URL" ||
  bad "JP-NPA's store is not PostgreSQL"
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
u=$(gw_url JP-NPA)

d1=$(submit_sample JP-NPA PH-NBI); d2=$(submit_sample JP-NPA PH-NBI)
submit_sample JP-NPA KR-KNPA >/dev/null
check "a message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$d1"
check "another message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$d2"
sleep 3 # retries to KR-KNPA and a checkpoint

curl -sS -D "$W/headers" -o "$W/metrics" "${u}metrics"
check "/metrics answers 200" grep -q '^HTTP/1.1 200' "$W/headers"
if python3 "$om" "$W/metrics" >"$W/om.out"; then ok "/metrics passes the strict OpenMetrics parser"
else bad "/metrics passes the strict OpenMetrics parser: $(head -5 "$W/om.out")"; fi
value() { python3 "$om" --dump "$W/metrics" | awk -v k="$1" 'index($0, k" ") == 1 {print $2}'; }
has() { # name, sample, want | ">0"
  local got; got=$(value "$2")
  if [[ $3 == ">0" ]]; then
    if [[ -n $got ]] && awk -v g="$got" 'BEGIN{exit !(g > 0)}'; then ok "$1"; else bad "$1: $2 got \"$got\", want > 0"; fi
  elif [[ $got == "$3" ]]; then ok "$1"; else bad "$1: $2 got \"$got\", want $3"; fi
}
has "delivered to PH-NBI: 2" 'icx_outbound_messages{partner="PH-NBI",state="delivered"}' 2
has "queued to KR-KNPA: 1" 'icx_outbound_messages{partner="KR-KNPA",state="queued"}' 1
has "positive receipts from PH-NBI: 2" 'icx_receipts_total{partner="PH-NBI",reason="",status="positive"}' 2
has "retries to KR-KNPA counted" 'icx_outbound_retries_total{partner="KR-KNPA"}' ">0"
has "queue depth of KR-KNPA: 1" 'icx_queue_depth{partner="KR-KNPA"}' 1
has "a checkpoint was signed" 'icx_audit_checkpoints_total{}' ">0"
want=$(pg_psql gw_db_jp_npa "select count(*) from audit")
got=$(value 'icx_audit_records{}')
[[ -n $got && $got -ge 1 && $got -le $want ]] && ok "the audit records come from the database ($got of $want now)" ||
  bad "icx_audit_records: got \"$got\", database holds $want"

page() { curl -sS -o "$W/page" -w '%{http_code}' "$u$1"; }
[[ $(page "") == 200 ]] && grep -Eq 'state=delivered&amp;lang=[a-z]+">2<' "$W/page" &&
  grep -Eq 'state=queued&amp;lang=[a-z]+">1<' "$W/page" && ok "the overview counts 2 delivered, 1 queued" ||
  bad "overview: $(grep -o 'state=[a-z]*&amp;lang=[a-z]*">[0-9]*<' "$W/page" | tr '\n' ' ')"
[[ $(page "messages") == 200 ]] && grep -q "$d1" "$W/page" && ok "the message list shows a delivered message" ||
  bad "/messages: $(head -c 300 "$W/page")"
[[ $(page "audit") == 200 ]] && grep -qi 'verified\|intact' "$W/page" && ok "the audit page verifies the chain" ||
  bad "/audit: $(head -c 300 "$W/page")"
# The receiver's store is a database too: icx inbox show reads it.
icx_at PH-NBI inbox show "$d1" >"$W/show.txt" 2>&1 && grep -q "from JP-NPA .*state accepted" "$W/show.txt" &&
  ok "icx inbox show on PostgreSQL" || bad "icx inbox show: $(head -3 "$W/show.txt")"
gw_stop JP-NPA
check "icx audit verify after" icx_at JP-NPA audit verify
finish
