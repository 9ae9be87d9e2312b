#!/usr/bin/env bash
# lists_https.sh against the real server: the partner steps of
# docs/PARTNERS.md run verbatim against `icx serve`'s HTTPS dashboard
# (TLS, client certificates required, the lists under /lists/).
ICX_LISTS_HTTPS_SERVER="$(cd "$(dirname "$0")" && pwd)/lib/lists_https_serve.sh" \
  exec bash "$(dirname "$0")/lists_https.sh"
