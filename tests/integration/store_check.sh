#!/usr/bin/env bash
# The store is checked before it is served from (docs/STORE.md, "Start-up
# checks"): a clean store passes `icx store check` and serves; a store that
# lost its WAL tail after a kill -9, an older copy put back in place of the
# store, and a store with a damaged page are refused by `icx store check`
# and by `icx serve`, each with its reason; a stored envelope whose bytes
# no longer match their recorded SHA-256 is named by the check, never sent
# and never put in an evidence bundle.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_CHECKPOINT_EVERY=1 GW_CHECKPOINT_SECONDS=1
three_gateways || { bad "three gateways start"; finish; exit 1; }
ph=$W/PH-NBI
jp=$W/JP-NPA

# `icx store check` of gateway ID: exit code in $SC_RC, output in $SC_OUT.
store_check() { # id [args...]
  local id=$1; shift
  SC_OUT=$("$icx" store check -c "$W/$id/gateway.yaml" "$@" 2>&1); SC_RC=$?
  echo "$SC_OUT" | sed 's/^/     | /'
}
# `icx serve` must exit 1 at once, saying why, before it serves.
serve_refuses() { # id pattern
  local log=$W/$1/refused.log
  (cd "$W/$1" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$log" 2>&1
  local rc=$?
  sed 's/^/     | /' "$log" | tail -3
  [[ $rc -eq 1 ]] && grep -q -- "$2" "$log"
}
says() { grep -q -- "$1" <<<"$SC_OUT"; }   # the last check's output has it
# On PostgreSQL (ICX_TEST_STORE) the store is a database, set aside as a
# copy (gw_db_kept_NAME) beside the head file.
pg() { [[ -n "${ICX_TEST_STORE:-}" ]]; }
keep() { # id name: the store files (daemon stopped or killed) set aside
  mkdir -p "$W/$2"; rm -f "$W/$2"/*
  cp -p "$W/$1"/icx.db* "$W/$2"/
  if pg; then gw_db_copy "$(gw_db "$1")" "gw_db_kept_$2"; fi
}
put_back() { # id name
  rm -f "$W/$1"/icx.db "$W/$1"/icx.db-wal "$W/$1"/icx.db-shm "$W/$1"/icx.db.head
  cp -p "$W/$2"/icx.db* "$W/$1"/
  if pg; then gw_db_copy "gw_db_kept_$2" "$(gw_db "$1")"; fi
}

m1=$(submit_sample JP-NPA PH-NBI)
check "a message is delivered" wait_for 30 delivered JP-NPA "$m1"

# --- a clean store passes and serves --------------------------------------
gw_stop PH-NBI
check "the head file is written beside the store" test -s "$ph/icx.db.head"
check "the head file is mode 0600" test "$(stat -c %a "$ph/icx.db.head")" = 600
check "the head file names the last checkpoint (shutdown included)" \
  test "$(sed -n 's/^size //p' "$ph/icx.db.head")" = \
       "$(sqlite3 "$ph/icx.db" 'select max(size) from checkpoints')"
store_check PH-NBI
check "icx store check: a clean store is ok (exit 0)" test "$SC_RC" -eq 0
check "it says the chain matches its last checkpoint" says "matches them"
check "that the store holds the head file's checkpoint" says "holds its checkpoint"
check "that the envelopes match their digests" says "match their SHA-256"
check "icx serve starts on the clean store" gw_start PH-NBI
store_check JP-NPA
check "icx store check beside a running daemon: ok" test "$SC_RC" -eq 0

# --- a lost WAL tail (kill -9, then the end of the -wal file gone) ------
# On PostgreSQL the commits lost are those a snapshot of the running
# database lacks (pg_dump, as an asynchronous standby or a backup would
# hold it), put in its place after the kill -9.
if pg; then pg_dump -Fc -f "$W/ph-running.dump" "$ICX_TEST_STORE/$(gw_db PH-NBI)"; fi
for i in 1 2 3 4 5; do submit_sample JP-NPA PH-NBI >/dev/null; done
check "five more are delivered (the sender holds their receipts)" \
  wait_for 30 bash -c "[[ \$(sqlite3 '$jp/icx.db' \"select count(*) from outbox where state='delivered'\") -ge 6 ]]"
sleep 1.5   # a checkpoint after the last commit
gw_kill PH-NBI
keep PH-NBI intact
if pg; then
  psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" -c "DROP DATABASE $(gw_db PH-NBI)" \
    -c "CREATE DATABASE $(gw_db PH-NBI)" >/dev/null
  pg_restore --exit-on-error -d "$ICX_TEST_STORE/$(gw_db PH-NBI)" "$W/ph-running.dump"
  n_all=$(psql -X -tA "$ICX_TEST_STORE/gw_db_kept_intact" -c "select count(*) from audit")
  n_now=$(sqlite3 "$ph/icx.db" "select count(*) from audit")
  echo "     the receiver's database went back from $n_all to $n_now audit records"
  check "the receiver's database had committed records to lose" test "$n_now" -lt "$n_all"
else
  wal=$ph/icx.db-wal
  frames=$(( ($(stat -c %s "$wal") - 32) / (4096 + 24) ))
  echo "     the receiver's WAL holds $frames frames; the second half is cut"
  truncate -s $(( 32 + (frames / 2) * (4096 + 24) )) "$wal"
  check "the receiver's WAL had committed frames to lose" test "$frames" -ge 4
fi
lost=$(( 6 - $(sqlite3 "$ph/icx.db" "select count(*) from inbox where sender='JP-NPA'") ))
echo "     messages the sender holds receipts for and the receiver lost: $lost"
store_check PH-NBI
check "icx store check refuses the store that lost its WAL tail (exit 1)" test "$SC_RC" -eq 1
check "and says it went back in time" says "went back in time"
SC_OUT=$("$icx" audit verify -c "$ph/gateway.yaml" 2>&1); SC_RC=$?
echo "     | $SC_OUT"
check "icx audit verify no longer passes it: the head file tells" test "$SC_RC" -eq 1
check "saying so" says "went back in time"
records=$(sqlite3 "$ph/icx.db" "select count(*) from audit")
check "icx serve refuses to start on it, with the reason" serve_refuses PH-NBI "went back in time"
check "and writes nothing first (no daemon.start record)" \
  test "$(sqlite3 "$ph/icx.db" "select count(*) from audit")" -eq "$records"
put_back PH-NBI intact
store_check PH-NBI
check "the intact files of the same kill -9 pass" test "$SC_RC" -eq 0
check "and serve" gw_start PH-NBI

# --- an older copy put back ---------------------------------------------
gw_stop PH-NBI
keep PH-NBI older
gw_start PH-NBI
m2=$(submit_sample JP-NPA PH-NBI)
check "another message is delivered" wait_for 30 delivered JP-NPA "$m2"
gw_stop PH-NBI
keep PH-NBI newer
cp -p "$ph/icx.db.head" "$W/head.new"
put_back PH-NBI older
cp -p "$W/head.new" "$ph/icx.db.head"   # the head file stays where it was
store_check PH-NBI
check "icx store check refuses the store older than its head file" test "$SC_RC" -eq 1
check "naming the head file's checkpoint" \
  says "head file names the checkpoint of size $(sed -n 's/^size //p' "$W/head.new") "
check "and the store's" says "store's last checkpoint is size"
check "icx serve refuses it" serve_refuses PH-NBI "went back in time"
rm -f "$ph/icx.db.head"
store_check PH-NBI
check "deleting the head file is no way around it (exit 1)" test "$SC_RC" -eq 1
check "the missing head file is named, with the way to adopt" says "--adopt-head"
check "icx serve refuses a store with checkpoints and no head file" serve_refuses PH-NBI "head file"
put_back PH-NBI newer

# --- a damaged page -------------------------------------------------------
# On PostgreSQL the page is one of the inbox table's file, its header made
# invalid (PostgreSQL refuses such a page when it reads it, as it refuses
# a bad checksum): the database is first copied file by file (FILE_COPY)
# and renamed into place, so that no page of it sits in the server's
# buffers and the next read comes from the damaged file.
keep PH-NBI sound
if pg; then
  psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" \
    -c "CREATE DATABASE gw_db_damaged TEMPLATE $(gw_db PH-NBI) STRATEGY = FILE_COPY" \
    -c "DROP DATABASE $(gw_db PH-NBI)" -c "ALTER DATABASE gw_db_damaged RENAME TO $(gw_db PH-NBI)"
  data=$(psql -X -tA "$ICX_TEST_STORE/postgres" -c "show data_directory")
  rel=$(psql -X -tA "$ICX_TEST_STORE/$(gw_db PH-NBI)" -c "select pg_relation_filepath('inbox')")
  printf '\377\377\377\377\377\377' | dd of="$data/$rel" bs=1 seek=10 conv=notrunc status=none
else
  root=$(sqlite3 "$ph/icx.db" "select rootpage from sqlite_schema where name='inbox'")
  psize=$(sqlite3 "$ph/icx.db" "pragma page_size")
  printf '\377\377\377\377' | dd of="$ph/icx.db" bs=1 seek=$(( (root - 1) * psize )) conv=notrunc status=none
fi
store_check PH-NBI
check "icx store check refuses a damaged page (exit 1)" test "$SC_RC" -eq 1
check "naming the page" says "damaged page"
check "and its table" says "table inbox"
check "icx serve refuses it" serve_refuses PH-NBI "damaged page"
put_back PH-NBI sound
check "the sound store serves again" gw_start PH-NBI

# --- a changed stored byte ------------------------------------------------
gw_stop PH-NBI
mq=$(submit_sample JP-NPA PH-NBI)
check "a message waits in the sender's outbox" test "$(state_of JP-NPA "$mq")" = queued
gw_stop JP-NPA
flip() { # db table where
  if pg; then
    sqlite3 "$1" "update $2 set envelope = convert_to(replace(convert_from(envelope, 'UTF8'),
      'MLAT test', 'MLAT tesT'), 'UTF8') where $3"
  else
    sqlite3 "$1" "update $2 set envelope = cast(replace(cast(envelope as text),
      'MLAT test', 'MLAT tesT') as blob) where $3"
  fi
}
flip "$jp/icx.db" outbox_envelope "outbox_id = (select id from outbox where message_id = '$mq')"
flip "$jp/icx.db" outbox_envelope "outbox_id = (select id from outbox where message_id = '$m1')"
flip "$ph/icx.db" inbox "message_id = '$m2'"
store_check JP-NPA
check "icx store check refuses the sender's store (exit 1)" test "$SC_RC" -eq 1
check "naming the queued message" says "outbox message $mq .*stored bytes damaged"
check "and the delivered one" says "outbox message $m1 .*stored bytes damaged"
store_check PH-NBI
check "and the receiver's, naming the inbox message" says "inbox message $m2 .*stored bytes damaged"
SC_OUT=$("$icx" audit bundle "$m1" --out "$W/m1.icxb" -c "$jp/gateway.yaml" 2>&1); SC_RC=$?
echo "     | $SC_OUT"
check "no evidence bundle of a damaged outbound envelope (exit 1)" \
  test "$SC_RC" -eq 1 -a ! -s "$W/m1.icxb"
check "the refusal names the damage" says "stored bytes damaged"
SC_OUT=$("$icx" audit bundle "$m2" --out "$W/m2.icxb" -c "$ph/gateway.yaml" 2>&1); SC_RC=$?
check "nor of a damaged inbound one" test "$SC_RC" -eq 1 -a ! -s "$W/m2.icxb"
gw_start JP-NPA
gw_start PH-NBI
check "the damaged queued message is failed, not sent" \
  wait_for 30 bash -c "[[ \$(sqlite3 '$jp/icx.db' \"select state from outbox where message_id='$mq'\") == failed ]]"
check "with the reason" \
  bash -c "sqlite3 '$jp/icx.db' \"select reason from outbox where message_id='$mq'\" | grep -q damaged"
check "the damage is audited with both digests" \
  bash -c "sqlite3 '$jp/icx.db' \"select detail from audit where event='store.damaged' and message_id='$mq'\" | grep -q 'expected_sha256=.*actual_sha256='"
check "it was never put on the wire" \
  test "$(sqlite3 "$jp/icx.db" "select count(*) from audit where message_id='$mq' and event='outbound.sent'")" -eq 0
check "the receiver never got it" \
  test "$(sqlite3 "$ph/icx.db" "select count(*) from inbox where message_id='$mq'")" -eq 0
m3=$(submit_sample JP-NPA PH-NBI)
check "the gateway goes on delivering the others" wait_for 30 delivered JP-NPA "$m3"
check "the audit log of the sender still verifies" "$icx" audit verify -c "$jp/gateway.yaml"

finish
