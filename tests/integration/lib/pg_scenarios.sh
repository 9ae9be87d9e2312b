# Runs scenario scripts against a throwaway PostgreSQL 15 server: the
# same scripts, one parameter (ICX_TEST_STORE, read by lib/gateways.sh:
# each gateway's store is a database of that server, and the scripts'
# sqlite3 queries of icx.db go to that database).  Source it, then:
#
#   pg_scenarios NAME.sh...   runs each; exit status 0 when all passed
#
# Each scenario gets fresh databases and must leave audit records in
# PostgreSQL (proof that its gateways did not fall back to an icx.db).
# A scenario that exits 77 (it cannot run here, as on SQLite: a mount
# refused, not root) is reported skipped with its reason, not failed.
# Exits 77 (skipped) when the server binaries are not installed.

. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

pg_scenarios() {
  local here t db n rc records fails=0
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  pg_require
  trap pg_stop EXIT
  pg_start || { echo "FAIL PostgreSQL starts"; return 1; }
  local log="${TMPDIR:-/tmp}/icx-pg-scenario.$$.log"
  for t in "$@"; do
    # A database per gateway and scenario: drop the previous scenario's.
    for db in $(pg_psql postgres "select datname from pg_database where datname like 'gw_db_%'"); do
      pg_psql postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null
    done
    ICX_TEST_STORE=$PG_URL bash "$here/$t" >"$log" 2>&1
    rc=$?
    if [[ $rc -eq 77 ]]; then
      # The scenario cannot run here (no right to mount, not root), as
      # on SQLite: it says why; not a failure.
      echo "skip $t on PostgreSQL: $(grep -im1 -e skip "$log")"
    elif [[ $rc -eq 0 ]]; then
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
      echo "FAIL $t on PostgreSQL:"; grep -E '^FAIL|kept in' "$log" | sed 's/^/     /'
      fails=$((fails + 1))
    fi
    rm -f "$log"
  done
  echo "$fails scenario(s) failed on PostgreSQL"
  [[ $fails -eq 0 ]]
}
