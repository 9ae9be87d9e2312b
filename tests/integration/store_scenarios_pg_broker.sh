#!/usr/bin/env bash
# Scenario tests on the PostgreSQL store (lib/pg_scenarios.sh): the
# broker's group - crashes, policy, hostile input, a full disk (the
# database server's), the filedrop adapter, the signer, one daemon per
# node, systemd notification.
set -uo pipefail
. "$(dirname "$0")/lib/pg_scenarios.sh"
pg_scenarios broker_crash.sh broker_policy.sh receipt_failed.sh hostile.sh \
  disk_full.sh filedrop.sh signer_crash.sh signer_isolation.sh \
  single_instance.sh service_notify.sh
