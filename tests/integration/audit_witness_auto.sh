#!/usr/bin/env bash
# Witnessing between the daemons (docs/AUDIT.md, "Witnesses"): with
# audit.witness_seconds set and audit-checkpoint in the partner files,
# three gateways send each other their checkpoints with consistency
# proofs, keep and co-sign each other's, and keep the co-signatures they
# get back (evidence bundles carry them).  A gateway whose log goes back
# (an older copy of its store put back) is detected by both others at the
# next exchange: audited, alerted, shown by `icx audit witnesses`.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_CHECKPOINT_EVERY=1000 GW_CHECKPOINT_SECONDS=1 GW_WITNESS_SECONDS=1
three_gateways || { bad "three gateways start"; finish; exit 1; }
ids=(JP-NPA PH-NBI INT-ICPO)
q() { sqlite3 "$W/$1/icx.db" "$2"; }
good_from() { # witness partner: consistent checkpoints kept
  [[ $(q "$1" "select count(*) from witnessed where partner = '$2' and verdict = 'consistent'") -ge 1 ]]
}
cosigned_by() { # id witness
  [[ $(q "$1" "select count(*) from cosignatures where witness = '$2'") -ge 1 ]]
}

m1=$(submit_sample JP-NPA PH-NBI)
check "a message is delivered" wait_for 20 delivered JP-NPA "$m1"
for w in "${ids[@]}"; do
  for p in "${ids[@]}"; do
    [[ $w == "$p" ]] && continue
    check "$w witnesses $p: consistent checkpoints kept" wait_for 30 good_from "$w" "$p"
    check "$p keeps $w's co-signatures" wait_for 30 cosigned_by "$p" "$w"
  done
done
check "nothing alarming while the logs only grow" \
  test "$(q JP-NPA "select count(*) from witnessed where verdict in ('fork','rollback','badsig')")" -eq 0
out=$(icx_at JP-NPA audit witnesses --json)
check "icx audit witnesses lists both partners, without alarms" \
  bash -c "[[ \$(grep -Ec '\"partner\":\"(PH-NBI|INT-ICPO)\"[^}]*\"alarms\":0,\"good_size\":[1-9]' <<<\"\$1\") -eq 2 ]]" _ "$out"
check "bundle of m1 written" icx_at JP-NPA audit bundle "$m1" --out "$W/m1.icxb"
# The co-signatures kept so far may all be of checkpoints older than m1's
# last record: a bundle carries those of a checkpoint that covers it, which
# the next round brings.
cosigned_bundle() {
  icx_at JP-NPA audit bundle "$m1" --out "$W/m1.icxb" >/dev/null 2>&1 &&
    grep -q '^-----BEGIN ICX cosig-' "$W/m1.icxb"
}
check "it carries partners' co-signatures" wait_for 30 cosigned_bundle
check "icx audit check-bundle verifies them" \
  bash -c "'$icx' audit check-bundle '$W/m1.icxb' | grep -q 'co-signature of the checkpoint by'"

# PH-NBI's log goes back: an older copy of its store is put back (on
# PostgreSQL, ICX_TEST_STORE: a copy of its database).
ph_save() {
  cp "$W/PH-NBI/icx.db.head" "$W/ph-old.db.head"
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then
    psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" -c "CREATE DATABASE gw_db_ph_old TEMPLATE gw_db_ph_nbi" >/dev/null
  else
    cp "$W/PH-NBI/icx.db" "$W/ph-old.db"
  fi
}
ph_restore() {
  cp "$W/ph-old.db.head" "$W/PH-NBI/icx.db.head"
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then
    psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" -c "DROP DATABASE gw_db_ph_nbi WITH (FORCE)" \
      -c "CREATE DATABASE gw_db_ph_nbi TEMPLATE gw_db_ph_old" >/dev/null
  else
    cp "$W/ph-old.db" "$W/PH-NBI/icx.db"
    rm -f "$W/PH-NBI/icx.db-wal" "$W/PH-NBI/icx.db-shm"
  fi
}
gw_stop PH-NBI
check "PH-NBI's store copied" ph_save
gw_start PH-NBI || bad "PH-NBI starts again"
sleep 4 # its log grows and its witnesses see it
gw_stop PH-NBI
check "PH-NBI's older store put back" ph_restore
gw_start PH-NBI || bad "PH-NBI starts on its older store"
alarmed() { # witness
  [[ $(q "$1" "select count(*) from witnessed where partner = 'PH-NBI' and verdict in ('fork','rollback')") -ge 1 ]]
}
for w in JP-NPA INT-ICPO; do
  check "$w detects that PH-NBI's log went back" wait_for 30 alarmed "$w"
  check "$w audited it" bash -c "[[ \$(sqlite3 '$W/$w/icx.db' \"select count(*) from audit where partner = 'PH-NBI' and event in ('witness.fork','witness.rollback')\") -ge 1 ]]"
  check "$w alerted in its log" grep -q "witness.alarm alert=1 partner=PH-NBI" "$W/$w/log"
  check "$w's icx audit witnesses shows the alarm" \
    bash -c "icx_at() { local id=\$1; shift; '$icx' \"\$@\" -c '$W/'\$id/gateway.yaml; }; icx_at $w audit witnesses --json | grep -Eq '\"partner\":\"PH-NBI\"[^}]*\"alarms\":[1-9]'"
done
check "the witnesses' own logs verify" icx_at JP-NPA audit verify
finish
