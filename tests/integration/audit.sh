#!/usr/bin/env bash
# The audit log end to end: records and signed checkpoints written by real
# gateways, verification of the store, each kind of tampering detected and
# named, segments verified across files, an evidence bundle checked by
# icx and by the documented steps with sha256sum and openssl alone, and a
# kill -9 in the middle of a burst leaving a log that verifies and matches
# the store.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_CHECKPOINT_EVERY=20 GW_CHECKPOINT_SECONDS=1
three_gateways || { bad "three gateways start"; finish; exit 1; }
jp=$W/JP-NPA/gateway.yaml
m1=$(submit_sample JP-NPA PH-NBI)
check "a message is delivered" wait_for 20 delivered JP-NPA "$m1"
for i in 1 2 3; do submit_sample JP-NPA PH-NBI >/dev/null; done
sleep 2
check "checkpoints are signed while the daemon runs" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' 'select count(*) from checkpoints') -ge 1 ]]"
check "icx audit verify: the running gateway's log is intact" "$icx" audit verify -c "$jp"

# Evidence bundle of m1 (outbound at JP-NPA, inbound at PH-NBI).
check "bundle written" "$icx" audit bundle "$m1" --out "$W/m1.icxb" -c "$jp"
check "icx audit check-bundle accepts it" "$icx" audit check-bundle "$W/m1.icxb"
check "the receiver can bundle the same message" "$icx" audit bundle "$m1" --out "$W/m1-ph.icxb" -c "$W/PH-NBI/gateway.yaml"
check "and check it" "$icx" audit check-bundle "$W/m1-ph.icxb"
sed -n '/^```sh verify-bundle$/,/^```$/{//!p}' "$src/docs/AUDIT.md" >"$W/verify-bundle.sh"
check "the documented steps are in docs/AUDIT.md" test -s "$W/verify-bundle.sh"
mkdir -p "$W/manual" && (cd "$W/manual" && BUNDLE=$W/m1.icxb bash "$W/verify-bundle.sh") >"$W/manual.out" 2>&1
check "the documented sha256sum/openssl steps verify the bundle" grep -q "^bundle verified" "$W/manual.out"
check "the documented steps checked the checkpoint signature" grep -q "Verified OK" "$W/manual.out"
jp_fp=$("$icx" keys show "$W/keys/JP-NPA" | awk '$1 == "agency" {print $NF}')
check "the documented fingerprint is in the form icx keys show prints" \
  grep -qx "$jp_fp  -" "$W/manual.out"
# A bundle with one record line changed fails both ways.
awk 'BEGIN{d=0} /^-----BEGIN ICX record-/{r=1; print; next} r==1 && d==0 {sub(/outbound/,"outbounD"); d=1; r=0} {print}' \
  "$W/m1.icxb" >"$W/tampered.icxb"
check "icx check-bundle refuses an edited record" bash -c "! '$icx' audit check-bundle '$W/tampered.icxb' >/dev/null"
(cd "$W/manual" && BUNDLE=$W/tampered.icxb bash "$W/verify-bundle.sh") >"$W/manual2.out" 2>&1
check "the documented steps refuse it too" bash -c "! grep -q '^bundle verified' '$W/manual2.out'"

# show and export.
check "audit show --message lists the message's records" \
  bash -c "'$icx' audit show --message '$m1' -c '$jp' | grep -q outbound.delivered"
check "audit show --json" bash -c "'$icx' audit show --event outbound.queued --json -c '$jp' | grep -q '\"event\":\"outbound.queued\"'"
gw_stop JP-NPA
check "a checkpoint is signed at shutdown" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' 'select max(size) from checkpoints') == \$(sqlite3 '$W/JP-NPA/icx.db' 'select max(seq) from audit') ]]"
mid=$(sqlite3 "$W/JP-NPA/icx.db" "select ts from audit where seq = (select max(seq)/2 from audit)")
"$icx" audit export --until "$mid" --out "$W/a.seg" -c "$jp" >/dev/null
"$icx" audit export --since "$mid" --out "$W/b.seg" -c "$jp" >/dev/null
total=$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from audit")
segs=$(( $(grep -c '^R ' "$W/a.seg") + $(grep -c '^R ' "$W/b.seg") ))
check "two segments hold every record once" test "$segs" -eq "$total"
check "verification continues across segments" \
  "$icx" audit verify --from "$W/a.seg" --from "$W/b.seg" --cert "$W/keys/JP-NPA/cert.pem"
check "a later segment alone verifies its own chain" \
  "$icx" audit verify --from "$W/b.seg" --cert "$W/keys/JP-NPA/cert.pem"
sed '5s/|\([a-z]\)/|X\1/' "$W/a.seg" >"$W/a-bad.seg"
out=$("$icx" audit verify --from "$W/a-bad.seg" --from "$W/b.seg" --cert "$W/keys/JP-NPA/cert.pem")
check "an edited segment line is named" grep -q "audit record 3: edited" <<<"$out"
check "segments given out of order are refused" \
  bash -c "! '$icx' audit verify --from '$W/b.seg' --from '$W/a.seg' --cert '$W/keys/JP-NPA/cert.pem' >/dev/null"

# Each kind of tampering on a copy of the store, by someone with the
# rights to switch the append-only triggers off.  On PostgreSQL the copy
# is a database made from the gateway's (stopped: no session on it) as a
# template, and its statement triggers are disabled.
tamper() { # name, sql, expected text
  local t=$W/t.db
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then
    t=$ICX_TEST_STORE/gw_db_tampered
    # (Both tables' triggers are off; SQLite's trigger names are dropped.)
    gw_db_copy "$(gw_db JP-NPA)" gw_db_tampered &&
      psql -X -q -v ON_ERROR_STOP=1 "$t" -c "alter table audit disable trigger audit_append_only;
        alter table checkpoints disable trigger checkpoints_append_only;
        ${2//drop trigger checkpoints_no_update;/}" >/dev/null ||
      { bad "$1: the tampered copy is made"; return; }
  else
    cp "$W/JP-NPA/icx.db" "$t"
    sqlite3 "$t" "drop trigger audit_no_update; drop trigger audit_no_delete; $2"
  fi
  local got; got=$("$icx" audit verify --store "$t" --cert "$W/keys/JP-NPA/cert.pem"); local rc=$?
  if [[ $rc -eq 1 ]] && grep -q "$3" <<<"$got"; then ok "$1 is detected: $got"
  else bad "$1: got exit $rc \"$got\", want \"$3\""; fi
}
tamper "an edited record" "update audit set detail = 'x' || detail where seq = 5" "audit record 5: edited"
tamper "a deleted record" "delete from audit where seq = 6" "audit record 6: deleted"
tamper "two reordered records" "update audit set seq = 1000000 where seq = 7; update audit set seq = 7 where seq = 8; update audit set seq = 8 where seq = 1000000" "audit record 7: reordered"
# An inserted record with a correct hash of its own, linked to record 8.
h8=$(sqlite3 "$W/JP-NPA/icx.db" "select hash from audit where seq = 8")
ts8=$(sqlite3 "$W/JP-NPA/icx.db" "select ts from audit where seq = 8")
line="9|$ts8|outbound.delivered|forged||issuer=PH-NBI|$h8"
leaf=$( { printf '\000'; printf '%s' "$line"; } | sha256sum | cut -c1-64)
tamper "an inserted record" "update audit set seq = seq + 1000000 where seq >= 9; update audit set seq = seq - 999999 where seq >= 1000000; insert into audit values (9, '$ts8', 'outbound.delivered', 'forged', '', 'issuer=PH-NBI', '$h8', '$leaf')" "audit record 9: inserted"
tamper "a truncated log" "delete from audit where seq > 10" "truncated"
tamper "a rewritten hash" "update audit set hash = (select hash from audit where seq = 3) where seq = 4" "audit record 4: edited"
tamper "a forged checkpoint" "drop trigger checkpoints_no_update; update checkpoints set signature = 'AAAA' where size = (select min(size) from checkpoints)" "checkpoint"

# kill -9 in the middle of a burst: the log verifies and matches the store.
gw_start JP-NPA
files=(); for i in $(seq 200); do files+=("$src/docs/samples/case-referral-payload.xml"); done
"$icx" submit "${files[@]}" --to PH-NBI --category case-referral --legal-basis t \
  --retain-until 2031-01-01 -c "$jp" >/dev/null
wait_for 30 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered'\") -ge 60 ]]"
gw_kill JP-NPA
check "after kill -9 the log verifies" "$icx" audit verify -c "$jp"
db=$W/JP-NPA/icx.db
check "every queued row has its outbound.queued record" test \
  "$(sqlite3 "$db" "select count(*) from outbox")" -eq "$(sqlite3 "$db" "select count(*) from audit where event='outbound.queued'")"
check "every delivered row has exactly one outbound.delivered record" test \
  "$(sqlite3 "$db" "select count(*) from outbox where state='delivered'")" -eq "$(sqlite3 "$db" "select count(*) from audit where event='outbound.delivered'")"
check "no delivered record for a row that is not delivered" test \
  "$(sqlite3 "$db" "select count(*) from audit a where event='outbound.delivered' and not exists (select 1 from outbox o where o.message_id=a.message_id and o.state='delivered')")" -eq 0
gw_start JP-NPA
check "after the restart all 200 are delivered" \
  wait_for 60 bash -c "[[ \$(sqlite3 '$db' \"select count(*) from outbox where state='delivered'\") -ge 204 ]]"
gw_stop JP-NPA
check "and the log still verifies" "$icx" audit verify -c "$jp"
finish
