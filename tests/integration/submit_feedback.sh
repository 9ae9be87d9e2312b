#!/usr/bin/env bash
# What `icx submit` tells the liaison officer: why a submission was
# refused (the field of a schema error, the partner that is unknown, the
# egress rule), never the payload's content; and with --wait, whether
# each message was delivered, refused or is still waiting.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

# JP-NPA listens; PH-NBI connects to it; KR-KNPA is a partner of JP-NPA
# that never starts.
gw_pair_and_absent || { bad "JP-NPA starts"; finish; exit 1; }
# PH-NBI takes no case requests from JP-NPA: they get a negative receipt.
sed -i 's/^categories_in: .*/categories_in: [case-referral, case-response, receipt]/' \
  "$W/PH-NBI/partners/jp-npa.yaml"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

sample=$src/docs/samples/case-referral-payload.xml
run_submit() { # file, extra args...: output in $W/out, exit code in $code
  local f=$1; shift
  icx_at JP-NPA submit "$f" --category "${CATEGORY:-case-referral}" --legal-basis "MLAT test" \
    --retain-until 2031-12-31 "$@" >"$W/out" 2>&1
  code=$?
}
has() { grep -qF -- "$1" "$W/out"; }
shows() { # name, text
  if has "$2"; then ok "$1"; else bad "$1: got \"$(head -c 400 "$W/out")\", want \"$2\""; fi
}
shows_re() { # name, extended regex
  if grep -qE -- "$2" "$W/out"; then ok "$1"; else bad "$1: got \"$(head -c 400 "$W/out")\", want /$2/"; fi
}
exit_is() { # name, want
  if [[ $code -eq $2 ]]; then ok "$1"; else bad "$1: got exit $code, want $2"; fi
}
queued() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox"; }

# 1. A payload that is not schema-valid: the field is named, its value is not.
sed 's#<BirthDate>1981-05-17</BirthDate>#<BirthDate>SECRET-VALUE-42</BirthDate>#' \
  "$sample" >"$W/bad-date.xml"
before=$(queued)
run_submit "$W/bad-date.xml" --to PH-NBI
exit_is "schema-invalid payload: exit 1" 1
shows "schema-invalid payload: an error line" "icx: error: "
shows "schema-invalid payload: the field is named" "BirthDate"
shows "schema-invalid payload: the recipient is named" "to PH-NBI"
if has "SECRET-VALUE-42"; then bad "the payload's value is not echoed"; else ok "the payload's value is not echoed"; fi
if grep -q "SECRET-VALUE-42" "$W/JP-NPA/log"; then bad "the payload's value is not logged"; else ok "the payload's value is not logged"; fi
if has "could not be built or signed" && ! has "BirthDate"; then bad "more than the generic line"; else ok "more than the generic line"; fi
check "schema-invalid payload: nothing queued" test "$(queued)" -eq "$before"

# 2. An unknown recipient is named.
run_submit "$sample" --to XX-NOPE
exit_is "unknown partner: exit 1" 1
shows "unknown partner: an error line naming it" "icx: error: "
shows "unknown partner: named" "XX-NOPE is not a configured partner"

# 3. A category the partner file does not allow names the rule.
CATEGORY=survey-request run_submit "$sample" --to PH-NBI
exit_is "category not allowed: exit 1" 1
shows "category not allowed: the rule is named" "categories_out"
shows "category not allowed: the category is named" "category survey-request may not be sent to PH-NBI"

# 4. --wait: delivered.
run_submit "$sample" --to PH-NBI --wait 30
exit_is "--wait, partner up: exit 0" 0
shows "--wait, partner up: delivered is printed" "delivered "
sent=$(awk '/^queued/ {print $2}' "$W/out")

# 5. --wait: a partner that is down times out naming the state.
run_submit "$sample" --to KR-KNPA --wait 2
exit_is "--wait, partner down: exit 3" 3
shows "--wait, partner down: the state is named" "still queued"
shows "--wait, partner down: the partner is named" "KR-KNPA"
down=$(awk '/^queued/ {print $2}' "$W/out")

# status: the next attempt of an undelivered message; a MessageId prefix.
icx_at JP-NPA status "$down" >"$W/out" 2>&1; code=$?
exit_is "status of the waiting message: exit 0" 0
shows "status names the next attempt" "next attempt at 20"
icx_at JP-NPA status "$down" --json >"$W/out" 2>&1
check "status --json names the next attempt and the reason" python3 -c "import json,sys; d=json.load(open('$W/out')); sys.exit(0 if d['state']=='queued' and d['next_attempt'].startswith('20') and 'reason' in d else 1)"
icx_at JP-NPA status "${down:0:32}" >"$W/out" 2>&1; code=$?
exit_is "status by a unique prefix: exit 0" 0
shows "status by a unique prefix finds the message" "$down  outbound to KR-KNPA"
# Two messages of one request: their ids share their time-ordered start.
run_submit "$sample" --to PH-NBI,KR-KNPA
mapfile -t pair < <(awk '/^queued/ {print $2}' "$W/out")
common=${pair[0]:0:8}
for ((k = 9; k <= 36; k++)); do
  [[ ${pair[0]:0:k} == "${pair[1]:0:k}" ]] && common=${pair[0]:0:k} || break
done
icx_at JP-NPA status "$common" >"$W/out" 2>&1; code=$?
exit_is "status by an ambiguous prefix: exit 1" 1
shows "an ambiguous prefix says so" "is the start of"
shows "an ambiguous prefix lists the candidates" "  ${pair[0]}"
shows "an ambiguous prefix lists each candidate" "  ${pair[1]}"
icx_at JP-NPA status "${down:0:6}" >"$W/out" 2>&1; code=$?
exit_is "status by a prefix under 8 characters: exit 1 (not found)" 1

# 6. --wait: a negative receipt names its reason code.
CATEGORY=case-request run_submit "$src/docs/samples/case-request-payload.xml" \
  --to PH-NBI --wait 30
exit_is "--wait, refused by the partner: exit 1" 1
shows "--wait, refused by the partner: the reason code is printed" "refused: CATEGORY"

# status of a message shows the partner's response to it.
icx_at PH-NBI submit "$src/schemas/examples/valid/case-response.xml" --to JP-NPA \
  --category case-response --legal-basis "MLAT test" --retain-until 2031-12-31 \
  --ref "$sent" >"$W/out" 2>&1
answer=$(awk '/^queued/ {print $2}' "$W/out")
check "the partner's response is queued" test -n "$answer"
check "status of the referral shows the response" wait_for 20 bash -c \
  "'$icx' status '$sent' -c '$W/JP-NPA/gateway.yaml' | grep -q 'inbound.response  *PH-NBI  *response_id=$answer category=case-response'"

# status --case: the messages whose case payload names the reference.
ref=$(sed -n 's#.*<CaseReference>\(.*\)</CaseReference>.*#\1#p' "$sample" | head -1)
icx_at JP-NPA status --case "$ref" >"$W/out" 2>&1; code=$?
exit_is "status --case at the sender: exit 0" 0
shows_re "status --case lists the delivered message" "^$sent  outbound  PH-NBI +case-referral +delivered "
shows "status --case lists the one still queued" "$down  outbound  KR-KNPA"
icx_at PH-NBI status --case "$ref" >"$W/out" 2>&1; code=$?
exit_is "status --case at the receiver: exit 0" 0
shows_re "status --case lists the received message" "^$sent  inbound +JP-NPA +case-referral +accepted "
icx_at JP-NPA status --case "$ref" --json >"$W/out" 2>&1; code=$?
check "status --case --json: one JSON document" python3 -c "import json,sys; d=json.load(open('$W/out')); sys.exit(0 if any(m['message_id']=='$sent' and m['state']=='delivered' for m in d) else 1)"
shows "status --case --json" "\"message_id\":\"$sent\",\"direction\":\"outbound\""
icx_at JP-NPA status --case "XX-NONE-0000" >"$W/out" 2>&1; code=$?
exit_is "status --case of an unknown reference: exit 1" 1
shows "an unknown reference is named" "names case XX-NONE-0000"

# --wait --json: one document, each message's last state.
run_submit "$sample" --to PH-NBI,KR-KNPA --wait 10 --json
exit_is "--wait --json, one partner down: exit 3" 3
check "--wait --json: one JSON document, PH-NBI delivered, KR-KNPA not final" python3 -c "
import json, sys
d = {m['recipient']: m for m in json.load(open('$W/out'))}
sys.exit(0 if d['PH-NBI']['state'] == 'delivered' and d['PH-NBI']['final']
         and d['KR-KNPA']['state'] == 'queued' and not d['KR-KNPA']['final'] else 1)"

# 7. --wait needs a number.
run_submit "$sample" --to PH-NBI --wait soon
exit_is "--wait soon: exit 2" 2
finish
