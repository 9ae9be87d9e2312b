#!/usr/bin/env bash
# run-translate.sh - bench_translate at two sizes per input kind, one
# process per size (VmHWM is per process): rows/s and peak memory.
#
# Usage: bench/run-translate.sh [BUILD_DIR]   (run from anywhere)
# Build first (Release-like):
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench --target bench_translate
# Environment: BENCH_CASE_ROWS (default 100000; the case path is
# quadratic, see docs/PERFORMANCE.md: 100,000 rows take minutes).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
bin=$build/bench/bench_translate
[[ -x $bin ]] || { echo "no $bin: build bench_translate first" >&2; exit 2; }
cd "$src"
echo "# $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" urls-lines 500000
"$bin" urls-lines 1000000
"$bin" urls-csv 350000
"$bin" urls-csv 700000
"$bin" urls-lines 50000 --build
"$bin" urls-lines 100000 --build
"$bin" case 10000
"$bin" case 20000
"$bin" case "${BENCH_CASE_ROWS:-100000}"
