#!/usr/bin/env bash
# Scenario tests on the PostgreSQL store: the same scripts, one parameter
# (ICX_TEST_STORE; lib/pg_scenarios.sh).  The scenarios are split over
# store_scenarios_pg*.sh so that ctest runs the groups side by side; this
# one holds the exchanges between gateways.
set -uo pipefail
. "$(dirname "$0")/lib/pg_scenarios.sh"
pg_scenarios health.sh key_strength.sh submit_feedback.sh adapter_module.sh \
  survey.sh broker_limits.sh broker_delivery.sh translate_inbox.sh \
  audit_witness_auto.sh web_tls.sh
