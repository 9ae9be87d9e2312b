#!/usr/bin/env bash
# run-translate.sh - bench_translate at several sizes per input kind, one
# process per size (VmHWM is per process): rows/s and peak memory.
#
# Usage: bench/run-translate.sh [BUILD_DIR]   (run from anywhere)
# Build first (Release-like):
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench --target bench_translate
# Environment: BENCH_CASE_ROWS (default 100000), TMPDIR (where list rows
# are spilled; a disk, not a tmpfs, or the spill is memory again).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
bin=$build/bench/bench_translate
[[ -x $bin ]] || { echo "no $bin: build bench_translate first" >&2; exit 2; }
cd "$src"
echo "# $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)," \
     "TMPDIR on $(df --output=fstype "${TMPDIR:-/tmp}" | tail -1)"
# Lists: read, checked, spilled, merged, written as validated pages.
"$bin" urls-lines 500000 --build
"$bin" urls-lines 1000000 --build
"$bin" urls-lines 2000000 --build
"$bin" urls-lines 2000000 --build --page-bytes 1048576
"$bin" urls-csv 500000 --build
"$bin" urls-csv 1000000 --build
# Lists, checked only (no pages): the cost of reading and sorting.
"$bin" urls-lines 1000000
"$bin" urls-lines 2000000
# Case exports: held whole (one file is one case).
"$bin" case 10000
"$bin" case "${BENCH_CASE_ROWS:-100000}"
