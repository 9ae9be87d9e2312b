#!/usr/bin/env bash
# Two real gateways: JP-NPA publishes an image hash list, PH-NBI (connects
# out only) pulls it with `icx pull`.  Additions and removals propagate as
# deltas; a session reset brings a snapshot; a gap is refused and
# recovered; a damaged local copy is caught by the digest and repaired by
# a snapshot; a list the partner may not pull gets a signed refusal; an
# import while a pull runs leaves both sides consistent.  Every wait is
# bounded.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

JP=$W/JP-NPA/gateway.yaml
PH=$W/PH-NBI/gateway.yaml

# Partner files: the list categories both ways, and the lists PH-NBI may pull.
lists_categories() {
  sed -i -e 's/^categories_in: \[\(.*\)\]/categories_in: [\1, list-sync-request, list-update]/' \
         -e 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-sync-request, list-update]/' "$1"
}

hashes() { # from to [seed]: canonical lines of fictional hashes
  # sha256 of "SEED-I" for each I, in one process (three per line made
  # this test take minutes on a busy machine)
  python3 -c 'import hashlib, sys
lo, hi, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sys.stdout.write("".join("sha256:%s\n" % hashlib.sha256(b"%s-%d" % (seed.encode(), i)).hexdigest() for i in range(lo, hi)))' "$1" "$2" "${3:-h}"
}

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
lists_categories "$W/JP-NPA/partners/ph-nbi.yaml"
echo "lists: [csam-hashes, restricted]" >>"$W/JP-NPA/partners/ph-nbi.yaml"
cat >"$W/JP-NPA/lists.yaml" <<'EOF'
lists:
  - id: csam-hashes
    kind: hash
    allow: [PH-NBI]
    page_entries: 100
    keep_serials: 5
  - id: restricted
    kind: url
    allow: [INT-ICPO]
EOF
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
lists_categories "$W/PH-NBI/partners/jp-npa.yaml"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
ok "two gateways start"

digest_of() { "$icx" lists export csam-hashes -c "$1" | LC_ALL=C sort | sha256sum | cut -c1-64; }
same_list() { [[ $(digest_of "$JP") == $(digest_of "$PH") ]]; }
ph_state() { "$icx" lists status -c "$PH" --json | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4; }
ph_events() { sqlite3 "$W/PH-NBI/icx-lists.db" "select count(*) from event where event = '$1'"; }

# 1. First pull: a snapshot of 1000 entries in 10 pages.
hashes 0 1000 >"$W/h1.txt"
check "import of 1000 entries is serial 1" bash -c "'$icx' lists import csam-hashes '$W/h1.txt' -c '$JP' | grep -q 'serial 1 .*1000 added'"
check "icx lists import records the import in the audit log" \
  bash -c "'$icx' audit show --event lists.imported -c '$JP' | grep -q 'serial=1'"
out=$("$icx" pull JP-NPA csam-hashes -c "$PH" --wait 60)
check "first pull is a verified snapshot of 10 pages" grep -q 'serial 1 .*snapshot 0..1, 10 pages, 1000 entries, digest verified' <<<"$out"
check "PH-NBI holds the same list (export digest)" same_list

# 2. Additions and removals propagate as a delta, with reasons.
{ hashes 100 1000; hashes 0 50 new; } >"$W/h2.txt"
check "import removes 100 and adds 50 (serial 2)" bash -c "'$icx' lists import csam-hashes '$W/h2.txt' --reason appeal-upheld -c '$JP' | grep -q 'serial 2 .*50 added, 100 removed'"
check "icx lists diff names the removal reason" bash -c "'$icx' lists diff csam-hashes -c '$JP' | grep -c 'appeal-upheld' | grep -qx 100"
out=$("$icx" pull JP-NPA csam-hashes -c "$PH" --wait 60)
check "second pull is a delta 1..2 of 2 pages" grep -q 'serial 2 .*delta 1..2, 2 pages, 950 entries' <<<"$out"
check "removed entries are gone from PH-NBI's export" bash -c "! '$icx' lists export csam-hashes -c '$PH' | grep -q '$(hashes 0 1)'"
check "PH-NBI holds the same list after the delta" same_list
# PH-NBI acknowledges the serial it verified (a SyncRequest with Verified,
# answered with nothing), so the publisher's status shows it at once,
# without another pull; the digest it verified is JP-NPA's own.
check "icx lists status on JP-NPA: PH-NBI at the serial it verified, lag 0" \
  wait_for 10 bash -c "'$icx' lists status -c '$JP' | grep -Eq '^PH-NBI +csam-hashes +2 +2 +0 .* verified\$'"
check "the acknowledgement is audited with the digest matching" \
  bash -c "sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event = 'list.acknowledged' and detail = 'list=csam-hashes serial=2 digest=match'\" | grep -qx 1"
check "and nothing is sent back for it" \
  bash -c "sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event = 'list.page.served' and detail like '%from=2 to=2%'\" | grep -qx 0"
check "icx status --lists shows the same" \
  bash -c "'$icx' status --lists -c '$JP' | grep -Eq '^PH-NBI +csam-hashes +2 +2 +0 '"
check "icx lists export --format csv has a header and 950 rows" \
  bash -c "[[ \$('$icx' lists export csam-hashes --format csv -c '$PH' | wc -l) == 951 ]]"

# 3. A session reset: the next pull is a snapshot.
"$icx" lists reset csam-hashes -c "$JP" >/dev/null
out=$("$icx" pull JP-NPA csam-hashes -c "$PH" --wait 60)
check "after a session reset the pull is a snapshot" grep -q 'serial 1 .*snapshot 0..1' <<<"$out"
check "PH-NBI holds the same list after the reset" same_list

# 4. A gap: a page that does not follow the local serial is refused (nothing
#    applied) and PH-NBI asks again from what it holds.
session=$("$icx" lists status -c "$PH" --json >/dev/null; sqlite3 "$W/PH-NBI/icx-lists.db" "select session from sub")
cat >"$W/gap.xml" <<EOF
<Update xmlns="urn:icx:list:1" snapshot="false"><ListId>csam-hashes</ListId><Kind>hash</Kind><SessionId>$session</SessionId><Serial>7</Serial><PreviousSerial>6</PreviousSerial><Page>1</Page><PageCount>1</PageCount><Added><Entry><Value algorithm="sha256">$(printf 'x' | sha256sum | cut -c1-64)</Value><DetectedAt>2026-11-26T00:00:00Z</DetectedAt></Entry></Added><Digest algorithm="sha256">$(printf 'y' | sha256sum | cut -c1-64)</Digest><EntryCount>951</EntryCount></Update>
EOF
gaps=$(ph_events list.gap)
"$icx" submit "$W/gap.xml" --to PH-NBI --category list-update --legal-basis "list test" \
  --retain-until 2031-12-31 -c "$JP" >/dev/null
check "the out-of-order page is refused as a gap" wait_for 20 bash -c "(( \$(sqlite3 '$W/PH-NBI/icx-lists.db' \"select count(*) from event where event = 'list.gap'\") > $gaps ))"
check "and recovered: PH-NBI asked again and is ok" wait_for 20 bash -c "[[ \$('$icx' lists status -c '$PH' --json | grep -o '\"state\":\"[a-z]*\"' | head -1) == '\"state\":\"ok\"' ]]"
check "nothing of the refused page was applied" bash -c "! '$icx' lists export csam-hashes -c '$PH' | grep -q '$(printf 'x' | sha256sum | cut -c1-64)'"
check "PH-NBI still holds the same list" same_list

# 5. A damaged local copy: the digest after the next delta differs; the
#    pull falls back to a snapshot and repairs it.
sqlite3 "$W/PH-NBI/icx-lists.db" "delete from sub_entry where line = (select min(line) from sub_entry)"
hashes 0 30 newer >>"$W/h2.txt"
"$icx" lists import csam-hashes "$W/h2.txt" -c "$JP" >/dev/null
out=$("$icx" pull JP-NPA csam-hashes -c "$PH" --wait 60)
check "the digest mismatch is detected" bash -c "(( \$(sqlite3 '$W/PH-NBI/icx-lists.db' \"select count(*) from event where event = 'list.mismatch'\") >= 1 ))"
check "and repaired with a snapshot" grep -q 'serial 2 .*snapshot 0..2' <<<"$out"
check "PH-NBI holds the same list again" same_list

# 6. A list PH-NBI may not pull: a signed refusal.
refused=$("$icx" pull JP-NPA restricted -c "$PH" --wait 60 2>&1); rc=$?
check "pulling a list not allowed exits 1" test "$rc" -eq 1
check "with NOT_AUTHORIZED" grep -q NOT_AUTHORIZED <<<"$refused"
# The stored envelope as text: SQLite casts the BLOB, PostgreSQL
# (ICX_TEST_STORE) converts the BYTEA from UTF-8 (a cast gives its hex).
env_text="cast(envelope as text)"
[[ -n "${ICX_TEST_STORE:-}" ]] && env_text="convert_from(envelope, 'UTF8')"
check "the refusal arrived as a signed envelope, verified and accepted" \
  bash -c "sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from inbox where sender = 'JP-NPA' and category = 'list-update' and state = 'accepted' and $env_text like '%<Refusal%NOT_AUTHORIZED%Signature%'\" | grep -qx 1"
check "JP-NPA recorded the refusal" bash -c "sqlite3 '$W/JP-NPA/icx-lists.db' \"select count(*) from event where event = 'list.refused'\" | grep -qx 1"

# 7. An import while a pull runs: the pull completes the serial it
#    started (consistent), the next pull brings the new one.
{ hashes 0 4000 big; } >"$W/h3.txt"
"$icx" lists import csam-hashes "$W/h3.txt" -c "$JP" >/dev/null
"$icx" lists reset csam-hashes -c "$JP" >/dev/null
"$icx" pull JP-NPA csam-hashes -c "$PH" --wait 120 >"$W/pull7.out" 2>&1 &
pull_pid=$!
wait_for 20 bash -c "sqlite3 '$W/PH-NBI/icx-lists.db' 'select t_page from sub' | grep -q '^[1-9]'"
{ hashes 500 4000 big; hashes 0 200 late; } >"$W/h4.txt"
"$icx" lists import csam-hashes "$W/h4.txt" -c "$JP" >"$W/import7.out"
wait "$pull_pid"
check "the pull started before the import completes" grep -q 'serial 1 .*snapshot 0..1, 40 pages, 4000 entries, digest verified' "$W/pull7.out"
check "the import during the pull recorded serial 2" grep -q 'serial 2 ' "$W/import7.out"
check "PH-NBI's copy is exactly serial 1" bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx-lists.db' 'select digest from sub') == \$(sqlite3 '$W/JP-NPA/icx-lists.db' \"select digest from pub_serial where serial = 1 and session = (select session from pub_list)\") ]]"
out=$("$icx" pull JP-NPA csam-hashes -c "$PH" --wait 60)
check "the next pull brings serial 2" grep -q 'serial 2 .*delta 1..2' <<<"$out"
check "both sides hold the same list" same_list
check "every page served is in the publisher's audit log" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='list.page.served'\") -ge 3 ]]"
check "every page applied is in the subscriber's audit log" \
  bash -c "[[ \$(sqlite3 '$W/PH-NBI/icx.db' \"select count(*) from audit where event='list.page.applied'\") -ge 3 ]]"
check "the refusal is in the publisher's audit log" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='list.refused'\") -ge 1 ]]"
# Scheduled pulls inside icx serve: PH-NBI pulls every 2 s on its own.
printf 'pull:\n  every_seconds: 2\n  schedule: [JP-NPA/csam-hashes]\n' >"$W/PH-NBI/lists.yaml"
hashes 0 700 >"$W/h4.txt"
hashes 0 40 new >>"$W/h4.txt"
"$icx" lists import csam-hashes "$W/h4.txt" -c "$JP" >/dev/null
check "a scheduled pull brings the new serial without icx pull" wait_for 30 same_list
check "the scheduled pull is logged" grep -q "event=list.schedule partner=JP-NPA list=csam-hashes" "$W/PH-NBI/log"
check "JP-NPA's audit chain is intact" "$icx" audit verify -c "$JP"
check "PH-NBI's audit chain is intact" "$icx" audit verify -c "$PH"

finish
