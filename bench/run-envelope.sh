#!/bin/sh
# run-envelope.sh - envelope signing/verification benchmark (bench_envelope)
# followed, in the same run, by `openssl speed` for the same algorithms, so
# the ICX, bare-xmlsec and raw-OpenSSL figures come from one machine state.
#
# Usage: bench/run-envelope.sh [BUILD_DIR] [-- bench_envelope options]
#   BUILD_DIR   where bench_envelope was built (default: build-bench, then
#               build, under the source tree)
#   BENCH_SECONDS  environment: seconds per measurement (default 3), also
#               passed to openssl speed
# Everything runs on one core (taskset -c 0 when available).
# Build first:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-bench --target bench_envelope
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    build=$1
    shift
fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then
    shift
fi
. "$src/bench/bench-bin.sh"
bin=$(bench_bin run-envelope.sh "$build" bench_envelope) || exit 1
seconds=${BENCH_SECONDS:-3}

pin=
if command -v taskset >/dev/null 2>&1; then
    pin="taskset -c 0"
fi

echo "== machine"
model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
cpus=$(nproc 2>/dev/null || echo '?')
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo '?')
debian=$(cat /etc/debian_version 2>/dev/null || echo '?')
echo "cpu: ${model:-?}, $cpus CPUs; memory: $mem; Debian $debian"
echo "libxml2 $(pkg-config --modversion libxml-2.0 2>/dev/null || echo '?')," \
     "xmlsec1 $(pkg-config --modversion xmlsec1-openssl 2>/dev/null || echo '?')," \
     "$(openssl version 2>/dev/null || echo 'openssl ?')"
echo

echo "== bench_envelope (-t $seconds)"
cd "$src"
$pin "$bin" -t "$seconds" "$@"
echo

# openssl speed takes whole seconds.
ossl_seconds=${seconds%%.*}
case $ossl_seconds in ''|0|*[!0-9]*) ossl_seconds=1 ;; esac
echo "== openssl speed -seconds $ossl_seconds rsa2048 ecdsap256${pin:+ ($pin)}"
$pin openssl speed -seconds "$ossl_seconds" rsa2048 ecdsap256 2>/dev/null |
    awk '/sign\/s/ || /^rsa 2048 bits/ || /ecdsa \(nistp256\)/'
