#!/usr/bin/env bash
# icx store migrate: a single-node gateway on SQLite moves to PostgreSQL
# without losing history.  Refused while the daemon runs (its lock) and
# into a database that holds anything; after the move, the same answers
# to `icx status` and `icx outbox`, the audit log and its checkpoints
# verify, the head file still matches, and new messages flow.  Both
# gateways time-stamp their checkpoints (a local TSA, tools/tsa_make.sh)
# and witness each other's: the tokens, the witnessed checkpoints and the
# co-signatures move too, and on PostgreSQL the daemon goes on stamping
# and witnessing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/pg.sh"
pg_require
pg_start || { echo "FAIL PostgreSQL starts"; exit 1; }
. "$here/lib/gateways.sh"
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
T=$W/tsa
bash "$src/tests/integration/tools/tsa_make.sh" "$T" || { bad "test TSA made"; finish; exit 1; }
python3 "$src/tests/integration/tools/tsa_server.py" "$T" &
TSA_PID=$!
trap 'kill $TSA_PID 2>/dev/null; wait $TSA_PID 2>/dev/null; gw_cleanup; pg_stop' EXIT
wait_for 10 test -s "$T/port" || { bad "TSA server starts"; finish; exit 1; }
export GW_CHECKPOINT_EVERY=5 GW_CHECKPOINT_SECONDS=1 GW_WITNESS_SECONDS=1
export GW_TSA_URL="http://127.0.0.1:$(cat "$T/port")/tsa" GW_TSA_CA="$T/ca.pem" GW_TSA_RETRY=1
jpq() { sqlite3 "$W/JP-NPA/icx.db" "$1"; }

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write PH-NBI yes false PH-NBI
gw_partner PH-NBI JP-NPA accept direct
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
gw_write JP-NPA no false JP-NPA
gw_partner JP-NPA PH-NBI connect direct "$(gw_endpoint PH-NBI)"
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }

ids=()
for i in 1 2 3; do ids+=("$(submit_sample JP-NPA PH-NBI)"); done
for m in "${ids[@]}"; do check "$m delivered on SQLite" wait_for 30 delivered JP-NPA "$m"; done
for t in checkpoint_stamps witnessed cosignatures; do
  check "JP-NPA's $t holds rows on SQLite" wait_for 30 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' 'select count(*) from $t') -ge 1 ]]"
done
icx_at JP-NPA status "${ids[0]}" --json >"$W/status.before"
# (checkpoints sent to the witness go on after the move: the case
# messages are compared)
icx_at JP-NPA outbox --limit 1000 | grep -v audit-checkpoint >"$W/outbox.before"
url=$PG_URL/jp_migrated
pg_createdb jp_migrated >/dev/null
migrate() { "$icx" store migrate --from "sqlite:$W/JP-NPA/icx.db" --to "$url" -c "$W/JP-NPA/gateway.yaml" >"$W/out" 2>&1; }

migrate; code=$?
[[ $code -eq 1 ]] && grep -q "held by pid" "$W/out" && ok "refused while icx serve runs (exit 1, its lock is held)" ||
  bad "while running: got exit $code: $(head -3 "$W/out")"
[[ $(pg_psql jp_migrated "select count(*) from pg_tables where tablename='audit'") -eq 0 ]] &&
  ok "and nothing was written" || bad "the database was written while the daemon ran"

gw_stop JP-NPA
migrate; code=$?
[[ $code -eq 0 ]] && ok "migrated (exit 0)" || bad "migrate: got exit $code: $(cat "$W/out")"
grep -qE "^ok: [0-9]+ audit records and [1-9][0-9]* signed checkpoints verified" "$W/out" &&
  ok "the copy's chain and checkpoints verified" || bad "no verification line: $(cat "$W/out")"
grep -q "postgresql://icx@" "$W/out" && ok "the store is named by its URL" || bad "URL not named"
want=$(sqlite3 "$W/JP-NPA/icx.db" "select count(*) from audit")
got=$(pg_psql jp_migrated "select count(*) from audit")
[[ $got -eq $want ]] && ok "all $want audit records moved" || bad "audit records: got $got, want $want"
for t in checkpoint_stamps witnessed cosignatures; do
  want=$(jpq "select count(*) || ' ' || coalesce(max(size), 0) from $t")
  got=$(pg_psql jp_migrated "select count(*) || ' ' || coalesce(max(size), 0) from $t")
  [[ $got == "$want" ]] && ok "$t moved (${want% *} rows)" || bad "$t: got '$got', want '$want'"
  grep -q "^copied: $t ${want% *} rows" "$W/out" && ok "the report counts $t" || bad "no report line for $t"
done
want=$(jpq "select hex(token) from checkpoint_stamps order by size desc limit 1")
got=$(pg_psql jp_migrated "select upper(encode(token, 'hex')) from checkpoint_stamps order by size desc limit 1")
[[ -n $want && $got == "$want" ]] && ok "the newest time-stamp token moved byte for byte" || bad "token differs after the move"
migrate; code=$?
[[ $code -eq 1 ]] && grep -q "is not empty" "$W/out" && ok "refused into a database that holds a store (exit 1)" ||
  bad "second migrate: got exit $code: $(head -3 "$W/out")"

# The gateway now runs on PostgreSQL, keeping its head file.
sed -i "s#  path: icx.db#  path: $url\n  head: icx.db.head#" "$W/JP-NPA/gateway.yaml"
gw_start JP-NPA || { bad "JP-NPA starts on PostgreSQL"; finish; exit 1; }
icx_at JP-NPA status "${ids[0]}" --json >"$W/status.after"
check "icx status: the same timeline after the move" cmp -s "$W/status.before" "$W/status.after"
icx_at JP-NPA outbox --limit 1000 | grep -v audit-checkpoint >"$W/outbox.after"
check "icx outbox: the same answer after the move" cmp -s "$W/outbox.before" "$W/outbox.after"
m4=$(submit_sample JP-NPA PH-NBI)
check "a new message is delivered from PostgreSQL" wait_for 30 delivered JP-NPA "$m4"
cases="select count(*) from outbox where category = 'case-referral'"
[[ $(pg_psql jp_migrated "$cases") -eq 4 ]] && ok "it is in the PostgreSQL outbox" ||
  bad "PostgreSQL outbox case rows: $(pg_psql jp_migrated "$cases")"
stamps=$(pg_psql jp_migrated "select max(size) from checkpoint_stamps")
witnessed=$(pg_psql jp_migrated "select max(id) from witnessed")
newer() { [[ $(pg_psql jp_migrated "$1") -gt $2 ]]; }
check "the daemon on PostgreSQL time-stamps its new checkpoints" wait_for 30 newer "select max(size) from checkpoint_stamps" "$stamps"
check "and keeps witnessing PH-NBI's" wait_for 30 newer "select max(id) from witnessed" "$witnessed"
check "audit show --checkpoints verifies the stamps on PostgreSQL" \
  bash -c "'$icx' audit show --checkpoints -c '$W/JP-NPA/gateway.yaml' | grep -Eq 'stamped +20[0-9-]+T[0-9:]+Z +-?[0-9]+ +verified'"
check "icx audit witnesses on PostgreSQL" bash -c "'$icx' audit witnesses --json -c '$W/JP-NPA/gateway.yaml' | grep -q '\"partner\":\"PH-NBI\"'"
gw_stop JP-NPA
check "icx audit verify after the move" icx_at JP-NPA audit verify
check "icx store check after the move (the head file matches)" icx_at JP-NPA store check
finish
