#!/usr/bin/env bash
# Scenario: two rounds of a legislation survey between real gateways.
# JP-NPA carries the ministry's survey; GB-NCA, US-FBI and CA-RCMP answer
# with the FICTIONAL answers of tests/data/survey/.  Round 1: everyone
# answers.  Round 2: GB-NCA answers (some "unchanged since round 1", some
# changed), US-FBI's answer is refused locally (wrong type, unknown
# question) and then sent by other means and marked rejected by the
# ministry, CA-RCMP does not answer (late).  Then status and compile.
set -uo pipefail
source "$(dirname "$0")/lib/gateways.sh"
D=$src/tests/data/survey
R1=2025-csam-law-r1
R2=2026-csam-law-r2
PARTNERS=(GB-NCA US-FBI CA-RCMP)

survey_partner() { # at peer direction [endpoint]
  gw_partner "$1" "$2" "$3" direct "${4:-}"
  sed -i -e 's/^categories_in: \[/categories_in: [survey-request, survey-response, /' \
         -e 's/^categories_out: \[/categories_out: [survey-request, survey-response, /' \
         "$W/$1/partners/${2,,}.yaml"
}
no_hub() { sed -i '/^  hub: /d' "$W/$1/gateway.yaml"; }

for id in JP-NPA "${PARTNERS[@]}"; do gw_keys "$id"; done
gw_write JP-NPA yes false; no_hub JP-NPA
for p in "${PARTNERS[@]}"; do survey_partner JP-NPA "$p" accept; done
gw_start JP-NPA || exit 1
ep=$(gw_endpoint JP-NPA)
for p in "${PARTNERS[@]}"; do
  gw_write "$p" no false; no_hub "$p"
  survey_partner "$p" JP-NPA connect "$ep"
  gw_start "$p" || exit 1
done

# The ministry's groups and survey definitions (groups.yaml beside
# gateway.yaml is the default groups file).
printf 'groups:\n  G7: [CA-RCMP, GB-NCA, JP-NPA, US-FBI]\n' >"$W/JP-NPA/groups.yaml"
for r in r1 r2; do
  sed -e '/^groups_file:/d' -e 's/^recipients: .*/recipients: [G7]/' \
    "$D/g7-$r.yaml" >"$W/g7-$r.yaml"
done
jp() { icx_at JP-NPA "$@"; }

# ---- a definition with mistakes sends nothing --------------------------
jp survey send "$D/bad-survey.yaml" >"$W/bad.out" 2>"$W/bad.err"; rc=$?
check "bad definition refused (exit 1)" test "$rc" -eq 1
check "errors at file:line:col" grep -q \
  'bad-survey.yaml:13:11: questions\[0\].type: unknown value "yes-no-maybe"' "$W/bad.err"
check "nothing queued for a bad definition" \
  test "$(jp outbox --limit 100 | grep -c survey-request)" -eq 0

# ---- round 1 ------------------------------------------------------------
jp survey send "$W/g7-r1.yaml" >"$W/send1.out" 2>&1
check "round 1 sent to three partners" test "$(grep -c '^queued' "$W/send1.out")" -eq 3
check "this gateway is not sent its own survey" bash -c "! grep -q 'to JP-NPA' '$W/send1.out'"
declare -A REQ1=() REQ2=()
while read -r _ id _ to _; do REQ1[$to]=$id; done < <(grep '^queued' "$W/send1.out")

jp survey send "$W/g7-r1.yaml" >"$W/send1b.out" 2>&1
check "sending round 1 again reaches nobody twice" \
  test "$(grep -c '^already sent' "$W/send1b.out")" -eq 3

sed 's/^title: .*/title: Changed title/' "$W/g7-r1.yaml" >"$W/g7-r1-changed.yaml"
jp survey send "$W/g7-r1-changed.yaml" >/dev/null 2>"$W/changed.err"; rc=$?
check "a changed definition under the same round id is refused" test "$rc" -eq 1

has_request() { icx_at "$1" inbox --limit 1000 | grep -q "$2"; }
for p in "${PARTNERS[@]}"; do
  check "$p received round 1" wait_for 30 has_request "$p" "${REQ1[$p]}"
done
check "status before any answer: three waiting" bash -c \
  "'$icx' survey status $R1 -c '$W/JP-NPA/gateway.yaml' | grep -q '0 answered, 0 rejected, 0 late, 3 waiting'"

# The person who answers reads the questionnaire first.
icx_at GB-NCA survey show "${REQ1[GB-NCA]}" >"$W/show1.out" 2>&1
check "survey show: exit 0" test $? -eq 0
check "survey show names the round, the sender and the deadline" bash -c \
  "grep -q '^Survey round $R1: ' '$W/show1.out' && grep -q '^From JP-NPA, MessageId ${REQ1[GB-NCA]}' '$W/show1.out' && grep -q '^Answers due by ' '$W/show1.out'"
check "survey show lists each question with its type" \
  grep -q '^  q01  (yes-no-partial)$' "$W/show1.out"
check "and ends with the answers file to fill" bash -c \
  "grep -q '^round: $R1\$' '$W/show1.out' && grep -q '^  q01:    # yes, no or partial\$' '$W/show1.out'"
icx_at GB-NCA survey show 00000000-0000-4000-8000-000000000000 >"$W/show0.out" 2>&1
check "survey show of a request not received: exit 1" test $? -eq 1
check "and says so" grep -q 'no survey request with that MessageId' "$W/show0.out"

for p in "${PARTNERS[@]}"; do
  f=$D/$(echo "${p%%-*}" | tr 'A-Z' 'a-z')-r1.yaml
  icx_at "$p" survey answer "${REQ1[$p]}" --from "$f" >"$W/ans1-$p.out" 2>&1
  check "$p answered round 1" grep -q '^queued .* to JP-NPA' "$W/ans1-$p.out"
done
answered() { jp survey status "$1" | grep -q "^$2 answered"; }
check "round 1: three answers arrived" wait_for 30 answered $R1 3

# ---- round 2 ------------------------------------------------------------
jp survey send "$W/g7-r2.yaml" >"$W/send2.out" 2>&1
check "round 2 sent to three partners" test "$(grep -c '^queued' "$W/send2.out")" -eq 3
while read -r _ id _ to _; do REQ2[$to]=$id; done < <(grep '^queued' "$W/send2.out")
for p in "${PARTNERS[@]}"; do
  check "$p received round 2" wait_for 30 has_request "$p" "${REQ2[$p]}"
done

icx_at GB-NCA survey answer "${REQ2[GB-NCA]}" --from "$D/gb-r2.yaml" >"$W/ans2-gb.out" 2>&1
check "GB-NCA answered round 2" grep -q '^queued' "$W/ans2-gb.out"

# US-FBI: its answers do not fit the questions; nothing leaves.
icx_at US-FBI survey answer "${REQ2[US-FBI]}" --from "$D/us-r2-bad.yaml" \
  >"$W/ans2-us.out" 2>"$W/ans2-us.err"; rc=$?
check "wrong answers refused at the partner (exit 1)" test "$rc" -eq 1
check "wrong type named at file:line:col" grep -q \
  'us-r2-bad.yaml:7:8: answers.q06: "many" is not a number' "$W/ans2-us.err"
check "unknown question named at file:line:col" grep -q \
  'us-r2-bad.yaml:10:3: answers.q99: unknown question' "$W/ans2-us.err"
check "nothing queued by the refused answer" \
  test "$(icx_at US-FBI outbox --limit 100 | grep -c survey-response)" -eq 1
# ... so it sends them by other means: schema-valid, checked at the ministry.
icx_at US-FBI submit "$D/us-r2-bad-response.xml" --to JP-NPA --category survey-response \
  --legal-basis "Survey answer" --retain-until 2036-12-31 --ref "${REQ2[US-FBI]}" >/dev/null
# CA-RCMP does not answer round 2.

two_in() { jp survey status $R2 | grep -q '^1 answered, 1 rejected'; }
check "round 2: one answer, one rejected" wait_for 30 two_in
jp survey status $R2 >"$W/status2.out"
check "CA-RCMP may still answer before the deadline" grep -q '^CA-RCMP .* waiting ' "$W/status2.out"
jp survey status $R2 --as-of 2099-02-01 >"$W/status2-late.out"
check "CA-RCMP is late after the deadline" grep -q '^CA-RCMP .* late .*deadline passed' "$W/status2-late.out"
check "US-FBI rejected with the reason" grep -q \
  '^US-FBI .* rejected .*q06: "many" is not a number; q99: unknown question' "$W/status2-late.out"
check "GB-NCA answered" grep -q '^GB-NCA .* answered ' "$W/status2-late.out"
check "summary line" grep -q '^1 answered, 1 rejected, 1 late, 0 waiting' "$W/status2-late.out"
jp survey status $R2 --json >"$W/status2.json"
check "status --json" grep -q '"agency":"US-FBI".*"state":"rejected"' "$W/status2.json"
check "the daemon audited each sound answer" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='survey.answered'\") -ge 4 ]]"
check "and the unsound one, with its reasons" \
  bash -c "sqlite3 '$W/JP-NPA/icx.db' \"select detail from audit where event='survey.answer.rejected' and partner='US-FBI'\" | grep -q 'unknown question'"

# ---- compile ------------------------------------------------------------
jp survey compile $R2 --format md --since $R1 -o "$W/r2.md"
check "md: unchanged answers resolved against round 1" grep -qF \
  '| GB (GB-NCA) | yes<br>*unchanged since 2025-csam-law-r1* | yes<br>*unchanged since 2025-csam-law-r1*<br>Fictional Protection of Children Act 1978 (fixture), s. 7 |' "$W/r2.md"
check "md: missing answers marked" grep -qF \
  '| CA (CA-RCMP) | **missing** | **missing** |' "$W/r2.md"
check "md: rejected answer marked, with the reason" grep -qF \
  '| US-FBI | ' "$W/r2.md"
check "md: rejected row" grep -qF '| US (US-FBI) | **rejected** |' "$W/r2.md"
check "md: changes since round 1" grep -qF '| GB (GB-NCA) | q06 | 10 | 14 |' "$W/r2.md"
check "md: a changed answer" grep -qF '| GB (GB-NCA) | q04 | partial | yes |' "$W/r2.md"
check "md: only GB-NCA changed" test "$(grep -c '^| GB (GB-NCA) | q0' "$W/r2.md")" -eq 4

jp survey compile $R2 --format csv --since $R1 >"$W/r2.csv"
check "csv: one row per country" grep -q '^GB,GB-NCA,answered,"yes \[unchanged since 2025-csam-law-r1\]"' "$W/r2.csv"
check "csv: changes section" grep -q '^GB,GB-NCA,q06,"10","14"$' "$W/r2.csv"

jp survey compile $R2 --format html --since $R1 -o "$W/r2.html"
check "html: one printable file" grep -q '@media print' "$W/r2.html"
check "html: nothing loaded from elsewhere" bash -c "! grep -qE '<script|<link|src=' '$W/r2.html'"
check "html: missing marked" grep -q '<span class="missing">missing</span>' "$W/r2.html"

jp survey compile $R1 --format md >"$W/r1.md"
check "round 1 compiles: three answered" grep -q '3 asked, 3 answered' "$W/r1.md"
jp survey compile 2019-unknown --format md >/dev/null 2>&1; rc=$?
check "an unknown round is refused (exit 1)" test "$rc" -eq 1

finish
