#!/usr/bin/env bash
# The store's unit tests (tests/unit/store/test_store.c, test_store_check.c) on the PostgreSQL
# engine: a throwaway PostgreSQL 15 server (lib/pg.sh), ICX_TEST_STORE
# pointing at it; each test makes a database of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/pg.sh"
build=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}
pg_require
trap pg_stop EXIT
pg_start
ICX_TEST_STORE=$PG_URL "$build/tests/test_store"
ICX_TEST_STORE=$PG_URL "$build/tests/test_store_check"
echo "store_pg: the store's unit tests pass on PostgreSQL"
