#!/usr/bin/env bash
# Scenario tests on the PostgreSQL store: the same scripts, one parameter
# (ICX_TEST_STORE, read by lib/gateways.sh: each gateway's store is a
# database of a throwaway PostgreSQL 15 server, lib/pg.sh; their sqlite3
# queries of icx.db go to that database).  Listed here are the scenarios
# whose checks mean the same in both SQL dialects; the others tamper or
# inject with SQLite's own functions (readfile, DROP TRIGGER, blobs cast
# to text) and run on SQLite only.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/pg.sh"
if ! pg_have; then
  echo "SKIP: PostgreSQL server binaries not found in $PG_BIN (scripts/deps.sh installs postgresql-15)"
  exit 77
fi
trap pg_stop EXIT
pg_start || { echo "FAIL PostgreSQL starts"; exit 1; }
fails=0
for t in health.sh key_strength.sh submit_feedback.sh adapter_module.sh survey.sh \
         broker_limits.sh broker_delivery.sh translate_inbox.sh audit_witness_auto.sh web_tls.sh; do
  # A database per gateway and scenario: drop the previous scenario's.
  for db in $(pg_psql postgres "select datname from pg_database where datname like 'gw_db_%'"); do
    pg_psql postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null
  done
  if ICX_TEST_STORE=$PG_URL bash "$here/$t" >"${TMPDIR:-/tmp}/icx-pg-scenario.$$.log" 2>&1; then
    # The gateways' records went to PostgreSQL, not to an icx.db.
    records=0
    for db in $(pg_psql postgres "select datname from pg_database where datname like 'gw_db_%'"); do
      n=$(pg_psql "$db" "select count(*) from audit" 2>/dev/null) || n=0
      records=$((records + n))
    done
    echo "ok   $t on PostgreSQL ($records audit records in its databases)"
    if [[ $records -eq 0 ]]; then
      echo "FAIL $t wrote no audit record to PostgreSQL"; fails=$((fails + 1))
    fi
  else
    echo "FAIL $t on PostgreSQL:"; grep -E '^FAIL|kept in' "${TMPDIR:-/tmp}/icx-pg-scenario.$$.log" | sed 's/^/     /'
    fails=$((fails + 1))
  fi
  rm -f "${TMPDIR:-/tmp}/icx-pg-scenario.$$.log"
done
echo "$fails scenario(s) failed on PostgreSQL"
[[ $fails -eq 0 ]]
