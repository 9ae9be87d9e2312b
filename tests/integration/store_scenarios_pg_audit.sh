#!/usr/bin/env bash
# Scenario tests on the PostgreSQL store (lib/pg_scenarios.sh): the audit
# log, its time-stamps and witnesses, the start-up check and what the
# inbox shows, tampered with as on SQLite.
set -uo pipefail
. "$(dirname "$0")/lib/pg_scenarios.sh"
pg_scenarios audit.sh audit_tsa.sh audit_witness.sh store_check.sh \
  inbox_show.sh
