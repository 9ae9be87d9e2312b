#!/usr/bin/env bash
# Replay and freshness checks at a running receiver, the maximum age of a
# message, and a broken configuration refused on SIGHUP.  Hostile
# envelopes are signed with JP-NPA's real key and put into JP-NPA's outbox
# directly, so they cross the real transport like any other message.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

three_gateways || { bad "three gateways start"; finish; exit 1; }
jpdb=$W/JP-NPA/icx.db
phdb=$W/PH-NBI/icx.db

# Signs an envelope from JP-NPA to PH-NBI whose MessageId and Created we
# choose, and queues its bytes in JP-NPA's outbox.
inject() { # message-id created file-tag
  local id=$1 created=$2 tag=$3
  "$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --legal-basis "$tag" --retain-until 2031-12-31 -o "$W/$tag.u.xml" \
    "$src/docs/samples/case-referral-payload.xml" 2>/dev/null
  sed -i -e "s#<MessageId>[^<]*</MessageId>#<MessageId>$id</MessageId>#" \
         -e "s#<Created>[^<]*</Created>#<Created>$created</Created>#" "$W/$tag.u.xml"
  "$icx" envelope sign --key "$W/keys/JP-NPA/key.pem" -o "$W/$tag.xml" "$W/$tag.u.xml"
  outbox_inject JP-NPA "$id" PH-NBI PH-NBI case-referral "$W/$tag.xml"
}

# 1. A MessageId reused with different bytes is a replay.
m1=$(submit_sample JP-NPA PH-NBI)
check "a first message is delivered" wait_for 20 delivered JP-NPA "$m1"
sqlite3 "$jpdb" "delete from receipts where message_id='$m1'"
inject "$m1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" replay
check "the same MessageId with other bytes is refused as REPLAY" \
  wait_for 20 bash -c "[[ \"\$(sqlite3 '$jpdb' \"select state || ' ' || reason from outbox where message_id='$m1'\")\" == 'refused REPLAY' ]]"
check "the receiver kept only the original" \
  test "$(sqlite3 "$phdb" "select count(*) from inbox where message_id='$m1'")" -eq 1
check "the replay is audited at the receiver" \
  bash -c "sqlite3 '$phdb' \"select detail from audit where event='inbound.rejected' and message_id='$m1'\" | grep -q 'reason=REPLAY replay=same-id-other-bytes original_sha256='"
rsha=$(sha256sum "$W/replay.xml" | cut -c1-64)
check "the replay is not recorded as a retry" \
  test "$(sqlite3 "$phdb" "select count(*) from audit where event='inbound.retry' and detail like '%sha256=$rsha%'")" -eq 0
check "the replay's record names its digest and the original's" \
  test "$(sqlite3 "$phdb" "select count(*) from audit where event='inbound.rejected' and message_id='$m1' and detail like '%sha256=$rsha reason=REPLAY replay=same-id-other-bytes original_sha256=%'")" -eq 1

# 2. Created outside the window (the test gateways accept one hour back).
m2=$(cat /proc/sys/kernel/random/uuid)
inject "$m2" "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)" stale
check "an envelope created three hours ago is refused (CREATED_WINDOW)" \
  wait_for 20 bash -c "[[ \"\$(sqlite3 '$jpdb' \"select state || ' ' || reason from outbox where message_id='$m2'\")\" == 'refused CREATED_WINDOW' ]]"
check "it is stored as rejected, never accepted" \
  test "$(sqlite3 "$phdb" "select state from inbox where message_id='$m2'")" = rejected
m3=$(cat /proc/sys/kernel/random/uuid)
inject "$m3" "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)" future
check "an envelope created two hours ahead is refused (CREATED_WINDOW)" \
  wait_for 20 bash -c "[[ \"\$(sqlite3 '$jpdb' \"select reason from outbox where message_id='$m3'\")\" == CREATED_WINDOW ]]"
check "no retry after a negative receipt" \
  bash -c "a=\$(sqlite3 '$jpdb' \"select attempts from outbox where message_id='$m3'\"); sleep 3; [[ \$(sqlite3 '$jpdb' \"select attempts from outbox where message_id='$m3'\") == \$a ]]"

# 3. The maximum age: a message that cannot be delivered fails, with an alert.
gw_stop PH-NBI
m4=$(submit_sample JP-NPA PH-NBI)
sqlite3 "$jpdb" "update outbox set created_at = created_at - 7200, next_attempt_at = 0 where message_id='$m4'"
check "a message older than max_age_seconds fails" \
  wait_for 20 bash -c "[[ \$(sqlite3 '$jpdb' \"select state from outbox where message_id='$m4'\") == failed ]]"
check "the failure raises an alert in the log" grep -q "event=outbound.failed alert=1 message_id=$m4" "$W/JP-NPA/log"
check "and is audited" bash -c "sqlite3 '$jpdb' \"select count(*) from audit where event='outbound.failed' and message_id='$m4'\" | grep -q '^1$'"

# 4. SIGHUP with a broken partner file: refused, the running config kept.
echo "bogus_key: 1" >>"$W/JP-NPA/partners/ph-nbi.yaml"
gw_hup JP-NPA
check "the broken config is refused and the reason logged" \
  wait_for 10 bash -c "grep -q 'event=config.error error=\".*ph-nbi.yaml:[0-9]*:[0-9]*: bogus_key: unknown key' '$W/JP-NPA/log' && grep -q 'event=config.refused .*kept=previous' '$W/JP-NPA/log'"
check "the refusal is audited" wait_for 10 bash -c "sqlite3 '$jpdb' \"select count(*) from audit where event='config.refused'\" | grep -qv '^0$'"
m5=$(submit_sample JP-NPA INT-ICPO)
check "the gateway goes on with the old config" wait_for 20 delivered JP-NPA "$m5"

# 5. SIGTERM: a clean stop, recorded.
gw_stop JP-NPA
check "SIGTERM stops cleanly and is logged" grep -q "event=daemon.stopped" "$W/JP-NPA/log"
check "the stop is audited" bash -c "sqlite3 '$jpdb' \"select event from audit order by seq desc limit 1\" | grep -q daemon.stop"
check "the audit chain is intact" bash -c "[[ \$(sqlite3 '$jpdb' 'select count(*) from audit') -gt 10 ]]"
finish
