#!/usr/bin/env bash
# A receiver whose disk fills up: its store sits on a small tmpfs that a
# filler file then fills to the last byte.  The sender submits N messages
# and keeps retrying them.  Nothing may be acknowledged or audited as
# accepted without its inbox row, the receiver's log must name the
# condition a handful of times (each line with a count), not once per
# attempt, and once the filler is removed every message arrives exactly
# once and the receiver's audit log verifies.
#
# On PostgreSQL (ICX_TEST_STORE) the disk that fills is the database
# server's: the receiver's database lives in a tablespace on the tmpfs,
# owned by the server's user, and the server's error (disk full, SQLSTATE
# 53100) must come out the same way.  The server's WAL stays on its own
# disk, so rows that fit in pages the tables already hold may still be
# committed: there, nothing may be acknowledged that was not stored.
#
# Needs to mount a tmpfs (root with CAP_SYS_ADMIN, as in CI); skipped
# (exit 77) where that is refused.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

N=30
disk=$W/PH-NBI/disk
owner=""
mounted=0
pg() { psql -X -q -tA -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" -c "$1"; }
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  # The server's user must reach the tablespace: a folder of its own
  # (the scenario's folder is private), the tmpfs owned by that user.
  disk=$(mktemp -d "${TMPDIR:-/tmp}/icx-pgdisk-XXXXXX")
  chmod 0755 "$disk"
  pgdata=$(pg "show data_directory") || { bad "the server names its data directory"; finish; exit 1; }
  owner=,uid=$(stat -c %u "$pgdata"),gid=$(stat -c %g "$pgdata")
fi
disk_cleanup() {
  for id in "${!GW_PID[@]}"; do kill -9 "${GW_PID[$id]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n "${ICX_TEST_STORE:-}" ]] && ((mounted)); then
    pg "DROP DATABASE IF EXISTS gw_db_ph_nbi WITH (FORCE)" >/dev/null 2>&1
    pg "DROP TABLESPACE IF EXISTS icx_test_disk" >/dev/null 2>&1
  fi
  if ((mounted)); then umount "$disk" 2>/dev/null || umount -l "$disk"; fi
  [[ -n "${ICX_TEST_STORE:-}" ]] && rmdir "$disk" 2>/dev/null
  gw_cleanup
}
trap disk_cleanup EXIT

mkdir -p "$disk"
if ! mount -t tmpfs -o "size=16m,mode=0700$owner" icx-test-disk "$disk" 2>"$W/mount.err"; then
  echo "SKIP: cannot mount a tmpfs for the full disk ($(cat "$W/mount.err")); needs root with CAP_SYS_ADMIN"
  exit 77
fi
mounted=1

export GW_RETRY_INITIAL=1 GW_RETRY_MAX=1
for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false PH-NBI
sed -i 's#^  path: icx.db#  path: disk/icx.db#' "$W/PH-NBI/gateway.yaml"
db=$disk/icx.db
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  # The receiver's (new, empty) database moves onto the tmpfs.
  pg "CREATE TABLESPACE icx_test_disk LOCATION '$disk'" &&
    pg "ALTER DATABASE gw_db_ph_nbi SET TABLESPACE icx_test_disk"
  check "the receiver's database is on the small disk" test $? -eq 0
  db=$W/PH-NBI/icx.db # lib/gateways.sh sends its queries to gw_db_ph_nbi
fi
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

m0=$(submit_sample JP-NPA PH-NBI)
check "with room on the disk a message is delivered" wait_for 30 delivered JP-NPA "$m0"

# Fill the disk: every new page the store needs now fails with ENOSPC.
dd if=/dev/zero of="$disk/filler" bs=64k 2>/dev/null
sync
free=$(df --output=avail -B1 "$disk" | tail -1)
echo "     the receiver's disk is full ($free bytes free)"

: >"$W/ids"
for i in $(seq "$N"); do submit_sample JP-NPA PH-NBI >>"$W/ids"; done
check "the sender queued $N messages" test "$(sort -u "$W/ids" | grep -c .)" -eq "$N"
check "the receiver's store reports the full disk" \
  wait_for 60 grep -q 'disk full' "$W/PH-NBI/log"
# Let the sender retry for a while (every second) against the full disk.
sleep 15
attempts=$(sqlite3 "$W/JP-NPA/icx.db" "select coalesce(sum(attempts),0) from outbox where recipient='PH-NBI'")
lines=$(grep -c -e 'level=error' -e 'level=warn' "$W/PH-NBI/log")
echo "     $attempts send attempts met the full disk; the receiver logged $lines warn/error lines"
check "the sender kept retrying (more attempts than messages)" test "$attempts" -gt "$N"
check "the receiver logged the condition a handful of times, not per attempt" test "$lines" -le 6
check "each store-failure line carries a count" \
  bash -c "! grep -e 'level=error' -e 'level=warn' '$W/PH-NBI/log' | grep -v ' count=[0-9]'"
delivered_now=$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from outbox where recipient='PH-NBI' and state='delivered'")
if [[ -z "${ICX_TEST_STORE:-}" ]]; then
  check "nothing was acknowledged while the disk was full" test "$delivered_now" -eq 1
else
  # Read after the sender's count: a receipt follows its commit.
  stored_now=$(sqlite3 "$db" "select count(*) from inbox where state='accepted' and sender='JP-NPA'")
  echo "     $delivered_now acknowledged, $stored_now stored while the disk was full"
  check "nothing was acknowledged that the receiver had not stored" \
    test "$delivered_now" -ge 1 -a "$delivered_now" -le "$stored_now"
  check "the full disk held messages back" test "$delivered_now" -lt "$((N + 1))"
fi
check "no message is audited as accepted without its inbox row" \
  test "$(sqlite3 "$db" "select count(*) from audit a where event='inbound.accepted' and not exists (select 1 from inbox i where i.message_id = a.message_id and i.state='accepted')")" -eq 0

# Space comes back: the retries go through.
rm -f "$disk/filler"
check "after space returns all $N messages are delivered" \
  wait_for 120 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where recipient='PH-NBI' and state='delivered'\") -eq $((N + 1)) ]]"
got=$(sqlite3 "$db" "select message_id from inbox where state='accepted' and sender='JP-NPA'" | sort)
check "the receiver holds each MessageId" \
  test -z "$(comm -23 <(sort -u "$W/ids") <(echo "$got"))"
check "and each exactly once" \
  test "$(sqlite3 "$db" "select count(*) - count(distinct message_id) from inbox")" -eq 0
check "every accepted message is audited once" \
  test "$(sqlite3 "$db" "select count(*) from audit where event='inbound.accepted'")" -eq $((N + 1))
# SQLite writes its pages at COMMIT; PostgreSQL extends a table's file
# within the statement (the inbox insert) and fails there.
key=store.commit
[[ -n "${ICX_TEST_STORE:-}" ]] && key=store.write
check "the end of the condition is logged with the count held back" \
  grep -q "event=condition.cleared key=$key count=[1-9]" "$W/PH-NBI/log"
check "the receiver logged as accepted only what it stored" \
  test "$(grep -c 'event=inbound.accepted' "$W/PH-NBI/log")" -eq $((N + 1))
gw_stop PH-NBI
check "the receiver's audit log verifies" "$icx" audit verify -c "$W/PH-NBI/gateway.yaml"
finish
