#!/usr/bin/env bash
# Our C code never calls the unbounded or shell-spawning functions that
# STYLE.md bans.  (Comments and strings are not exempt: keep them out.)
set -euo pipefail
src=${ICX_SOURCE_DIR:?ICX_SOURCE_DIR not set}
cd "$src"
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|system|popen)[[:space:]]*\('
hits=$(grep -rnE "$pattern" --include='*.c' --include='*.h' gateway adapters tests bench || true)
if [[ -n "$hits" ]]; then
  echo "banned calls found:"
  echo "$hits"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
