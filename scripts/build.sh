#!/usr/bin/env bash
# Configures and builds ICX.
# Usage: scripts/build.sh [--sanitize|--fuzz] [TARGET...]   (default: all)
#   default     build/        (RelWithDebInfo; warnings are errors in all three)
#   --sanitize  build-asan/   (AddressSanitizer + UndefinedBehaviorSanitizer)
#   --fuzz      build-fuzz/   (clang, libFuzzer targets)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DICX_WERROR=ON)
case "${1:-}" in
  --sanitize) dir=$top/build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DICX_SANITIZE=ON -DICX_WERROR=ON) ;;
  --fuzz) dir=$top/build-fuzz; args=(-DCMAKE_BUILD_TYPE=Debug -DICX_FUZZ=ON -DCMAKE_C_COMPILER=clang -DICX_WERROR=ON) ;;
  "") ;;
  -*) echo "usage: scripts/build.sh [--sanitize|--fuzz] [TARGET...]" >&2; exit 2 ;;
esac
[[ "${1:-}" == --* ]] && shift
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake -S "$top" -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
