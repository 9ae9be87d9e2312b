#!/bin/sh
# count-envelope.sh - instructions per envelope operation, ICX against the
# bare libxmlsec1 loop, counted by valgrind (callgrind) rather than timed.
#
# Rates on a shared machine move by 10-30 % from run to run; instruction
# counts do not.  For each algorithm and size this runs bench_envelope
# --op under callgrind with collection switched on only inside the
# operation (--toggle-collect), divides the count by the number of calls,
# and prints bare/icx (above 1: ICX executes fewer instructions).  Counts
# are not time (cache misses, branch mispredictions and the cost of each
# instruction differ), so docs/PERFORMANCE.md gives both.
#
# Usage: bench/count-envelope.sh [BUILD_DIR]     (needs valgrind; ~5 min)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/bench-bin.sh"
bin=$(bench_bin count-envelope.sh "${1:-}" bench_envelope) || exit 1
command -v valgrind >/dev/null || { echo "count-envelope.sh: no valgrind" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/icx-count-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# per_call SIDE OP ALG SIZE: instructions per call of SIDE_OP_once.
per_call() {
    out=$tmp/$1-$2
    valgrind --tool=callgrind --toggle-collect="$1_$2_once" \
        --callgrind-out-file="$out" "$bin" --alg "$3" --size "$4" \
        --op "$1-$2" -t 0.5 >/dev/null 2>&1
    total=$(callgrind_annotate "$out" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    calls=$(callgrind_annotate --inclusive=yes --tree=calling "$out" \
                2>/dev/null |
            grep -E ">   .*bench_envelope.c:$1_$2_once|>   .*(envelope.c:icx_envelope_$2|bare_xmlsec.c:bare_xmlsec_$2) " |
            head -1 | sed 's/.*(\([0-9,]*\)x).*/\1/' | tr -d ,)
    echo $((total / calls))
}

printf '%-10s %6s  %12s %12s %6s   %12s %12s %6s\n' alg size "icx sign" \
    "bare sign" ratio "icx verify" "bare verify" ratio
for alg in rsa2048 ecdsa-p256; do
    for size in 2048 16384; do
        is=$(per_call icx sign $alg $size)
        bs=$(per_call bare sign $alg $size)
        iv=$(per_call icx verify $alg $size)
        bv=$(per_call bare verify $alg $size)
        printf '%-10s %6s  %12s %12s %6s   %12s %12s %6s\n' $alg $size \
            "$is" "$bs" "$(awk "BEGIN { printf \"%.3f\", $bs / $is }")" \
            "$iv" "$bv" "$(awk "BEGIN { printf \"%.3f\", $bv / $iv }")"
    done
done
