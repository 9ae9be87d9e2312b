#!/usr/bin/env bash
# run-broker.sh - two real gateways end to end (bench_broker): for RSA-2048
# and ECDSA P-256, start JP-NPA (sender) and PH-NBI (receiver, listening) on
# 127.0.0.1 with ephemeral ports and fresh stores, then run bench_broker
# against JP-NPA for 2 KiB and 16 KiB envelopes: throughput, latency at a
# fixed rate, and the bare libxmlsec1 ceiling, all in one run.  Prints the
# machine, each case's report, and a summary table.
#
# Usage: bench/run-broker.sh [BUILD_DIR] [-- bench_broker options]
#   BUILD_DIR  where icx and bench_broker were built (default: build-bench,
#              then build, under the source tree)
# Environment:
#   BENCH_ALGS   algorithms (default "rsa2048 ecdsa-p256")
#   BENCH_SIZES  signed envelope sizes (default "2048 16384")
#   BENCH_KEEP   set: keep the work folder (gateway logs and stores)
#   TMPDIR       where the work folder goes (default /tmp)
# Build first:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench --target icx bench_broker
# Every wait is bounded: gateway start 20 s, deliveries --wait (180 s).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=
if [[ $# -gt 0 && $1 != "--" ]]; then build=$1; shift; fi
if [[ $# -gt 0 && $1 == "--" ]]; then shift; fi
if [[ -z $build ]]; then
    for d in "$src/build-bench" "$src/build"; do
        if [[ -x $d/bench/bench_broker && -x $d/gateway/cli/icx ]]; then build=$d; break; fi
    done
fi
build=${build:-$src/build-bench}
[[ -d $build ]] && build=$(cd "$build" && pwd) # the gateways run elsewhere
bench=$build/bench/bench_broker
export ICX_BIN=$build/gateway/cli/icx
[[ -x $ICX_BIN ]] || ICX_BIN=$(find "$build" -name icx -type f -perm -u+x | head -n 1)
if [[ ! -x $bench || ! -x ${ICX_BIN:-} ]]; then
    echo "run-broker.sh: icx or bench_broker not found under $build; build the icx and bench_broker targets" >&2
    exit 1
fi
export ICX_SOURCE_DIR=$src
# Retries as configured by default (config/README.md), so that a backlog
# is not sent twice; log level as shipped.
export GW_RETRY_INITIAL=${GW_RETRY_INITIAL:-5} GW_RETRY_MAX=${GW_RETRY_MAX:-600}
unset ICX_WORK
[[ -n ${BENCH_KEEP:-} ]] && export ICX_KEEP=1
# shellcheck source=../tests/integration/lib/gateways.sh
. "$src/tests/integration/lib/gateways.sh"

echo "== machine"
model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
echo "cpu: ${model:-?}, $(nproc) CPUs; memory:" \
     "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo);" \
     "Debian $(cat /etc/debian_version 2>/dev/null || echo '?'); kernel $(uname -r)"
echo "libxml2 $(pkg-config --modversion libxml-2.0 2>/dev/null || echo '?')," \
     "xmlsec1 $(pkg-config --modversion xmlsec1-openssl 2>/dev/null || echo '?')," \
     "$(openssl version 2>/dev/null || echo 'openssl ?'), sqlite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
echo "store: $(df -hT "$W" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')"
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Two gateways: PH-NBI listens, JP-NPA connects to it; no hub.
two_gateways() { # alg
    gw_keys JP-NPA "$1"
    gw_keys PH-NBI "$1"
    gw_write PH-NBI yes false PH-NBI
    gw_partner PH-NBI JP-NPA accept direct
    gw_start PH-NBI || return 1
    gw_write JP-NPA no false JP-NPA
    gw_partner JP-NPA PH-NBI connect direct "$(gw_endpoint PH-NBI)"
    gw_start JP-NPA || return 1
}

# The signer process of a gateway (docs/SECURITY.md): its CPU time is the
# signatures', counted beside the daemon's.
signer_of() { # id -> pid
    local d
    for d in /proc/[0-9]*; do
        [[ $(cat "$d/comm" 2>/dev/null) == icx-signer ]] || continue
        [[ $(awk '{print $4}' "$d/stat" 2>/dev/null) == "${GW_PID[$1]}" ]] && { echo "${d#/proc/}"; return; }
    done
}

rows=()
status=0
for alg in ${BENCH_ALGS:-rsa2048 ecdsa-p256}; do
    rm -rf "$W/JP-NPA" "$W/PH-NBI" "$W/keys"
    if ! two_gateways "$alg"; then status=1; break; fi
    signer_pids=()
    for id in JP-NPA PH-NBI; do
        p=$(signer_of "$id")
        [[ -n $p ]] && signer_pids+=(--pid "${id%%-*}-signer=$p")
    done
    for size in ${BENCH_SIZES:-2048 16384}; do
        out=$("$bench" --socket "$W/JP-NPA/icx.sock" --db "$W/JP-NPA/icx.db" \
                  --keys "$W/keys/JP-NPA" --alg "$alg" --size "$size" \
                  --from JP-NPA --to PH-NBI \
                  --pid "JP-NPA=${GW_PID[JP-NPA]}" --pid "PH-NBI=${GW_PID[PH-NBI]}" \
                  "${signer_pids[@]}" \
                  "$@") || status=1
        printf '%s\n\n' "$out" | grep -v '^ROW '
        rows+=("$(printf '%s\n' "$out" | sed -n 's/^ROW //p')")
    done
    gw_stop JP-NPA
    gw_stop PH-NBI
done

echo "== summary (ceiling: bare libxmlsec1, 2 signatures + 2 verifications per message;"
echo "   ceil-2core measured on two threads at once; ratio = delivered/s / ceil-2core,"
echo "   x2-ratio = delivered/s / (2 x ceil-1core); targets: ratio >= 0.6, p50 < 5 ms,"
echo "   p99 < 25 ms at 100/s)"
printf '%-10s %6s %11s %10s %10s %6s %-6s %8s %8s %8s %8s %-6s\n' alg bytes delivered/s \
    ceil-1core ceil-2core ratio '>=0.6' x2-ratio p50-ms p99-ms max-ms latency
for r in "${rows[@]}"; do
    [[ -n $r ]] || continue
    # shellcheck disable=SC2086
    printf '%-10s %6s %11s %10s %10s %6s %-6s %8s %8s %8s %8s %-6s\n' $r
done
# A failed case keeps the work folder (gateways.sh removes it otherwise).
# shellcheck disable=SC2034 # read by gw_cleanup (gateways.sh)
[[ $status -eq 0 ]] || T_FAIL=1
exit $status
