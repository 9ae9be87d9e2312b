# Gateways whose stores are databases of a throwaway PostgreSQL server
# (lib/pg.sh): skips the test (exit 77) without the server binaries,
# starts the server, points lib/gateways.sh at it (ICX_TEST_STORE), then
# sources lib/gateways.sh, and stops both on exit.  A test that sets a
# trap of its own keeps `gw_cleanup; pg_stop` in it.
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
pg_require
pg_start || { echo "FAIL PostgreSQL starts"; exit 1; }
export ICX_TEST_STORE=$PG_URL
. "$(dirname "${BASH_SOURCE[0]}")/gateways.sh"
trap 'gw_cleanup; pg_stop' EXIT
