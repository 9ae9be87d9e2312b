#!/usr/bin/env bash
# A receiver whose disk fills up: its store sits on a small tmpfs that a
# filler file then fills to the last byte.  The sender submits N messages
# and keeps retrying them.  Nothing may be acknowledged or audited as
# accepted without its inbox row, the receiver's log must name the
# condition a handful of times (each line with a count), not once per
# attempt, and once the filler is removed every message arrives exactly
# once and the receiver's audit log verifies.
#
# Needs to mount a tmpfs (root with CAP_SYS_ADMIN, as in CI); skipped
# (exit 77) where that is refused.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

N=30
disk=$W/PH-NBI/disk
mounted=0
disk_cleanup() {
  for id in "${!GW_PID[@]}"; do kill -9 "${GW_PID[$id]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((mounted)); then umount "$disk" 2>/dev/null || umount -l "$disk"; fi
  gw_cleanup
}
trap disk_cleanup EXIT

mkdir -p "$disk"
if ! mount -t tmpfs -o size=16m,mode=0700 icx-test-disk "$disk" 2>"$W/mount.err"; then
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
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
db=$disk/icx.db

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
check "nothing was acknowledged while the disk was full" test "$delivered_now" -eq 1
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
check "the end of the condition is logged with the count held back" \
  grep -q 'event=condition.cleared key=store.commit count=[1-9]' "$W/PH-NBI/log"
check "the receiver logged as accepted only what it stored" \
  test "$(grep -c 'event=inbound.accepted' "$W/PH-NBI/log")" -eq $((N + 1))
gw_stop PH-NBI
check "the receiver's audit log verifies" "$icx" audit verify -c "$W/PH-NBI/gateway.yaml"
finish
