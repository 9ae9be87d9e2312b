#!/usr/bin/env bash
# Scenario tests on the PostgreSQL store (lib/pg_scenarios.sh): lists over
# ZeroMQ and HTTPS, the dashboard and /metrics, key rotation, partners
# without ICX, keys in a token, lists submitted in pages.  cli.sh and
# translate.sh start no gateway and open no store: nothing to run here.
set -uo pipefail
. "$(dirname "$0")/lib/pg_scenarios.sh"
pg_scenarios lists.sh lists_https.sh lists_https_serve.sh web_browser.sh \
  web_metrics.sh key_rotation.sh partners_xmlsec1.sh pkcs11.sh \
  translate_submit.sh
