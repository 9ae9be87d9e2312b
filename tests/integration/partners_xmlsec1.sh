#!/usr/bin/env bash
# A partner without ICX, exactly as docs/PARTNERS.md tells it: the shell
# blocks of that page (```sh partner-keys```, ```sh partner-answer```,
# ```sh partner-respond``` and ```sh partner-survey-answer```)
# are extracted and run as they are, with only xmlsec1, openssl and shell,
# against a real ICX gateway (JP-NPA) that reaches the partner (PH-NBI)
# through filedrop folders.  The partner verifies the envelope with the
# gateway's certificate and answers with a receipt it signs itself; the
# gateway verifies that receipt and marks the message delivered.  A
# tampered copy gets a negative receipt that the gateway also verifies.
# Then the partner answers the referral with a case response it signs;
# the gateway accepts it and receipts it, and the partner verifies that
# receipt; and it answers a survey round JP-NPA sends it.  (The list
# pull over HTTPS: lists_https.sh.)
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
command -v xmlsec1 >/dev/null || { echo "xmlsec1 command line missing (scripts/deps.sh installs it)"; exit 1; }

block() { sed -n "/^\`\`\`sh $1\$/,/^\`\`\`\$/{//!p}" "$src/docs/PARTNERS.md"; }
block partner-keys >"$W/partner-keys.sh"
block partner-answer >"$W/partner-answer.sh"
check "the documented steps are in docs/PARTNERS.md" \
  test -s "$W/partner-keys.sh" -a -s "$W/partner-answer.sh"
check "the partner's steps use no ICX program" \
  bash -c "! grep -qE '(^|[[:space:];|&(])icx[[:space:]]' '$W/partner-keys.sh' '$W/partner-answer.sh'"

# The partner: its key and certificate, made with the documented step.
P=$W/partner
mkdir -p "$P" "$W/to-ph" "$W/from-ph"
check "partner-keys runs" bash -c "cd '$P' && bash '$W/partner-keys.sh' >/dev/null 2>&1"
check "it made a key and a certificate" test -s "$P/ph-key.pem" -a -s "$P/ph-cert.pem"

# The ICX side: JP-NPA with PH-NBI as a filedrop partner.
gw_keys JP-NPA
gw_write JP-NPA no false JP-NPA
GW_PEER_CERT=$P/ph-cert.pem gw_partner_filedrop JP-NPA PH-NBI direct "$W/to-ph" "$W/from-ph"
sed -i -e 's/^categories_in: \[\(.*\)\]/categories_in: [\1, survey-response]/' \
       -e 's/^categories_out: \[\(.*\)\]/categories_out: [\1, survey-request]/' "$W/JP-NPA/partners/ph-nbi.yaml"
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }

# The partner's answer step, with the settings of the documented table.
answer() {
  (cd "$P" && ME=PH-NBI PEER=JP-NPA INBOX=$W/to-ph OUTBOX=$W/from-ph \
     PEER_CERT=$W/keys/JP-NPA/cert.pem KEY=$P/ph-key.pem WORK=$(mktemp -d) \
     bash "$W/partner-answer.sh") >"$W/answer.log" 2>&1
}

m1=$(submit_sample JP-NPA PH-NBI)
check "JP-NPA wrote the envelope into the partner's folder" \
  wait_for 20 bash -c "ls '$W/to-ph'/*.xml >/dev/null 2>&1"
sent=$(ls "$W/to-ph"/*.xml)
check "partner-answer runs" answer
check "the partner verified it and moved it to processed/" test -f "$W/to-ph/processed/$(basename "$sent")"
check "its receipt is a .receipt.xml file" bash -c "ls '$W/from-ph'/*.receipt.xml >/dev/null 2>&1 || ls '$W/from-ph/processed'/*.receipt.xml >/dev/null 2>&1"
check "JP-NPA accepted the partner's receipt: delivered" wait_for 20 delivered JP-NPA "$m1"
check "the timeline shows PH-NBI's final receipt" bash -c \
  "'$icx' status '$m1' -c '$W/JP-NPA/gateway.yaml' | grep -q 'receipt from PH-NBI.*final'"
# The stored bytes in upper-case hex: SQLite's hex(), PostgreSQL's encode.
hex_env="hex(envelope)"
[[ -n "${ICX_TEST_STORE:-}" ]] && hex_env="upper(encode(envelope, 'hex'))"
check "the stored receipt is the partner's file, byte for byte" bash -c \
  "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select $hex_env from receipts where message_id='$m1'\") == \
      \$(od -An -v -tx1 '$W/from-ph/processed/'*.receipt.xml | tr -d ' \n' | tr a-f A-F) ]]"

# A tampered copy: the partner's steps answer SIG_INVALID.
sed 's/Osaka/Kyoto/' "$W/to-ph/processed/$(basename "$sent")" >"$W/to-ph/.t.tmp"
mv "$W/to-ph/.t.tmp" "$W/to-ph/tampered.xml"
check "partner-answer runs again" answer
check "the partner rejected the tampered copy with its reason" \
  grep -q '^SIG_INVALID: ' "$W/to-ph/rejected/tampered.xml.reason"
check "JP-NPA verified the partner's negative receipt (for bytes it never sent)" \
  wait_for 20 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='receipt.mismatch' and message_id='$m1'\") -ge 1 ]]"
check "and the message stays delivered" delivered JP-NPA "$m1"
check "no receipt from the partner was refused" \
  test "$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from audit where event='receipt.rejected'")" -eq 0
# The partner answers the referral with a case response it signs itself
# (```sh partner-respond```); JP-NPA accepts it and receipts it, and the
# partner's answer step verifies that receipt.
block partner-respond >"$W/partner-respond.sh"
check "partner-respond is in docs/PARTNERS.md and uses no ICX program" bash -c \
  "test -s '$W/partner-respond.sh' && ! grep -qE '(^|[[:space:];|&(])icx[[:space:]]' '$W/partner-respond.sh'"
respond() {
  (cd "$P" && ME=PH-NBI PEER=JP-NPA OUTBOX=$W/from-ph KEY=$P/ph-key.pem WORK=$(mktemp -d) \
     REQ=$W/to-ph/processed/$(basename "$sent") STATUS=answered LEGAL_BASIS='MLAT Art. 4' \
     ANSWER='Account preserved for 90 days; subscriber data follows <via the central authority> & "MLA".' \
     bash "$W/partner-respond.sh") >"$W/respond.log" 2>&1
}
response() { sqlite3 "$W/JP-NPA/icx.db" "select envelope from inbox where sender='PH-NBI' and category='case-response' and state='$1'"; }
check "partner-respond runs" respond
has_response() { [[ -n $(response accepted) ]]; }
response_has() { response accepted | grep -qF "$1"; }
check "JP-NPA accepted PH-NBI's case response" wait_for 20 has_response
check "it answers the referral (RefToMessageId)" response_has "<RefToMessageId>$m1</RefToMessageId>"
check "with the case reference and the answer, escaped" response_has \
  '<RefCaseReference>JP-NPA-2026-CSE-00417</RefCaseReference><Status>answered</Status><Answer>Account preserved for 90 days; subscriber data follows &lt;via the central authority&gt; &amp; "MLA".</Answer>'
check "nothing from the partner was rejected" test -z "$(response rejected)"
check "JP-NPA's receipt for the response reached the partner" \
  wait_for 20 bash -c "ls '$W/to-ph'/*.receipt.xml >/dev/null 2>&1"
receipt=$(basename "$(ls "$W/to-ph"/*.receipt.xml | head -1)")
check "partner-answer runs on it" answer
check "the partner verified that receipt" test -f "$W/to-ph/processed/$receipt"

# A questionnaire: JP-NPA sends a survey round to PH-NBI, the partner
# verifies it (partner-answer) and answers every question
# (```sh partner-survey-answer```); JP-NPA counts PH-NBI as answered.
block partner-survey-answer >"$W/partner-survey-answer.sh"
check "partner-survey-answer is in docs/PARTNERS.md and uses no ICX program" bash -c \
  "test -s '$W/partner-survey-answer.sh' && ! grep -qE '(^|[[:space:];|&(])icx[[:space:]]' '$W/partner-survey-answer.sh'"
R=2025-csam-law-r1
sed -e '/^groups_file:/d' -e 's/^recipients: .*/recipients: [PH-NBI]/' \
  "$src/tests/data/survey/g7-r1.yaml" >"$W/survey.yaml"
check "JP-NPA sends round $R to PH-NBI" bash -c \
  "'$icx' survey send '$W/survey.yaml' -c '$W/JP-NPA/gateway.yaml' | grep -q '^queued .* to PH-NBI'"
request_file() { grep -l '<Category>survey-request</Category>' "$W/to-ph"/*.xml "$W/to-ph/processed"/*.xml 2>/dev/null | head -n 1; }
check "the questionnaire reached the partner's folder" wait_for 20 bash -c "$(declare -f request_file); W='$W'; [[ -n \$(request_file) ]]"
check "partner-answer verifies and receipts it" answer
req=$(W=$W request_file)
check "it is in processed/" bash -c "[[ '$req' == '$W/to-ph/processed/'* ]]"
cat >"$W/answers.txt" <<'EOF'
q01 yes
q02 yes
q03 partial
q04 yes
q05 Providers must report & preserve <material>
q05 cite Act No. 52 of 1999|Art. 16-3
q05 cite Provider Liability Act|Art. 4 "reporting"
q06 5
q07 2014-07-15
q08 A bill on "grooming" is before the Diet.
EOF
check "partner-survey-answer runs" bash -c \
  "cd '$P' && ME=PH-NBI PEER=JP-NPA OUTBOX='$W/from-ph' KEY='$P/ph-key.pem' WORK=\$(mktemp -d) \
     REQ='$req' ANSWERS='$W/answers.txt' LEGAL_BASIS='Survey of foreign legislation' \
     bash '$W/partner-survey-answer.sh' >'$W/survey-answer.log' 2>&1"
check "JP-NPA counts PH-NBI as answered" wait_for 20 bash -c \
  "'$icx' survey status $R -c '$W/JP-NPA/gateway.yaml' | grep -q '^1 answered'"
check "with the partner's values, escaped as they were written" bash -c \
  "sqlite3 '$W/JP-NPA/icx.db' \"select envelope from inbox where category='survey-response' and state='accepted'\" |
     grep -qF '<Answer question=\"q05\"><Value>Providers must report &amp; preserve &lt;material&gt;</Value><Citations><Citation><Statute>Act No. 52 of 1999</Statute><Article>Art. 16-3</Article></Citation><Citation><Statute>Provider Liability Act</Statute><Article>Art. 4 \"reporting\"</Article></Citation></Citations></Answer>'"
finish
