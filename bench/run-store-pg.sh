#!/usr/bin/env bash
# run-store-pg.sh - the sender's store engine end to end (bench_broker):
# JP-NPA sends to PH-NBI (always on SQLite) with JP-NPA's store
#   sqlite   SQLite, one node (the reference, in the same run)
#   pg1      PostgreSQL 15 on this machine, one node
#   pg2      the same database, two JP-NPA nodes; submissions alternate
#            between their control sockets
# For each: delivered/s (throughput mode) and latency p50/p99 at --rate
# (default 100/s, latency mode).  The PostgreSQL server is a throwaway one
# (tests/integration/lib/pg.sh, fsync on, default settings) on the same
# machine.  Prints each report and a summary table.
#
# Usage: bench/run-store-pg.sh [BUILD_DIR] [-- bench_broker options]
# Environment:
#   BENCH_ALG    algorithm (default ecdsa-p256)
#   BENCH_SIZE   envelope size (default 2048)
#   BENCH_N      throughput messages (default 3000)
#   BENCH_CASES  which cases (default "sqlite pg1 pg2")
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=
if [[ $# -gt 0 && $1 != "--" ]]; then build=$1; shift; fi
if [[ $# -gt 0 && $1 == "--" ]]; then shift; fi
build=${build:-$src/build}
build=$(cd "$build" && pwd)
bench=$build/bench/bench_broker
export ICX_BIN=$build/gateway/cli/icx ICX_SOURCE_DIR=$src
if [[ ! -x $bench || ! -x $ICX_BIN ]]; then
    echo "run-store-pg.sh: icx or bench_broker not found under $build" >&2
    exit 1
fi
export GW_RETRY_INITIAL=${GW_RETRY_INITIAL:-5} GW_RETRY_MAX=${GW_RETRY_MAX:-600}
alg=${BENCH_ALG:-ecdsa-p256}
size=${BENCH_SIZE:-2048}
n=${BENCH_N:-3000}
unset ICX_WORK ICX_TEST_STORE
# shellcheck source=../tests/integration/lib/pg.sh
. "$src/tests/integration/lib/pg.sh"
pg_start
# shellcheck source=../tests/integration/lib/gateways.sh
. "$src/tests/integration/lib/gateways.sh"
trap 'gw_cleanup; pg_stop' EXIT

echo "== machine"
model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
echo "cpu: ${model:-?}, $(nproc) CPUs; $(psql --version); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

rows=()
status=0
for case in ${BENCH_CASES:-sqlite pg1 pg2}; do
    gw_stop JP-NPA; gw_stop JP-NPA-2; gw_stop PH-NBI
    rm -rf "$W/JP-NPA" "$W/JP-NPA-2" "$W/PH-NBI" "$W/keys"
    gw_keys JP-NPA "$alg"; gw_keys PH-NBI "$alg"
    gw_write PH-NBI yes false PH-NBI
    gw_partner PH-NBI JP-NPA accept direct
    gw_start PH-NBI || { status=1; break; }
    db=$W/JP-NPA/icx.db
    if [[ $case == sqlite ]]; then
        gw_write JP-NPA no false JP-NPA
    else
        pg_psql postgres "DROP DATABASE IF EXISTS bench_$case" >/dev/null
        ICX_TEST_STORE=$PG_URL GW_STORE_DB=bench_$case gw_write JP-NPA no false JP-NPA
        db=$PG_URL/bench_$case
    fi
    gw_partner JP-NPA PH-NBI connect direct "$(gw_endpoint PH-NBI)"
    gw_start JP-NPA || { status=1; break; }
    socks=(--socket "$W/JP-NPA/icx.sock")
    pids=(--pid "JP-NPA=${GW_PID[JP-NPA]}" --pid "PH-NBI=${GW_PID[PH-NBI]}")
    if [[ $case == pg2 ]]; then
        mkdir -p "$W/JP-NPA-2"
        cp -r "$W/JP-NPA/gateway.yaml" "$W/JP-NPA/partners" "$W/JP-NPA-2/"
        gw_start JP-NPA-2 || { status=1; break; }
        socks+=(--socket "$W/JP-NPA-2/icx.sock")
        pids+=(--pid "JP-NPA-2=${GW_PID[JP-NPA-2]}")
    fi
    echo "== $case"
    out=$("$bench" "${socks[@]}" --db "$db" --keys "$W/keys/JP-NPA" --alg "$alg" \
              --size "$size" --from JP-NPA --to PH-NBI -n "$n" "${pids[@]}" \
              --mode throughput "$@") || status=1
    printf '%s\n' "$out" | grep -v '^ROW '
    tp=$(printf '%s\n' "$out" | sed -n 's/^ROW //p' | awk '{print $3}')
    sleep 1
    out=$("$bench" "${socks[@]}" --db "$db" --keys "$W/keys/JP-NPA" --alg "$alg" \
              --size "$size" --from JP-NPA --to PH-NBI "${pids[@]}" \
              --mode latency "$@") || status=1
    printf '%s\n\n' "$out" | grep -v '^ROW '
    lat=$(printf '%s\n' "$out" | sed -n 's/^ROW //p' | awk '{print $9, $10, $11}')
    rows+=("$case $tp $lat")
done

echo "== summary ($alg, $size-byte envelopes; JP-NPA's store as named, PH-NBI on SQLite)"
printf '%-8s %12s %8s %8s %8s\n' store delivered/s p50-ms p99-ms max-ms
for r in "${rows[@]}"; do
    # shellcheck disable=SC2086
    printf '%-8s %12s %8s %8s %8s\n' $r
done
[[ $status -eq 0 ]] || T_FAIL=1
exit $status
