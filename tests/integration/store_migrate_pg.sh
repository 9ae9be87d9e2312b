#!/usr/bin/env bash
# icx store migrate: a single-node gateway on SQLite moves to PostgreSQL
# without losing history.  Refused while the daemon runs (its lock) and
# into a database that holds anything; after the move, the same answers
# to `icx status` and `icx outbox`, the audit log and its checkpoints
# verify, the head file still matches, and new messages flow.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/pg.sh"
if ! pg_have; then
  echo "SKIP: PostgreSQL server binaries not found in $PG_BIN (scripts/deps.sh installs postgresql-15)"
  exit 77
fi
pg_start || { echo "FAIL PostgreSQL starts"; exit 1; }
. "$here/lib/gateways.sh"
trap 'gw_cleanup; pg_stop' EXIT
export GW_CHECKPOINT_EVERY=5

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
icx_at JP-NPA status "${ids[0]}" --json >"$W/status.before"
icx_at JP-NPA outbox --limit 1000 >"$W/outbox.before"
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
migrate; code=$?
[[ $code -eq 1 ]] && grep -q "is not empty" "$W/out" && ok "refused into a database that holds a store (exit 1)" ||
  bad "second migrate: got exit $code: $(head -3 "$W/out")"

# The gateway now runs on PostgreSQL, keeping its head file.
sed -i "s#  path: icx.db#  path: $url\n  head: icx.db.head#" "$W/JP-NPA/gateway.yaml"
gw_start JP-NPA || { bad "JP-NPA starts on PostgreSQL"; finish; exit 1; }
icx_at JP-NPA status "${ids[0]}" --json >"$W/status.after"
check "icx status: the same timeline after the move" cmp -s "$W/status.before" "$W/status.after"
icx_at JP-NPA outbox --limit 1000 >"$W/outbox.after"
check "icx outbox: the same answer after the move" cmp -s "$W/outbox.before" "$W/outbox.after"
m4=$(submit_sample JP-NPA PH-NBI)
check "a new message is delivered from PostgreSQL" wait_for 30 delivered JP-NPA "$m4"
[[ $(pg_psql jp_migrated "select count(*) from outbox") -eq 4 ]] && ok "it is in the PostgreSQL outbox" ||
  bad "PostgreSQL outbox rows: $(pg_psql jp_migrated "select count(*) from outbox")"
gw_stop JP-NPA
check "icx audit verify after the move" icx_at JP-NPA audit verify
check "icx store check after the move (the head file matches)" icx_at JP-NPA store check
finish
