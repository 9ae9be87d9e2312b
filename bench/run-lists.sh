#!/usr/bin/env bash
# run-lists.sh - list distribution end to end (bench_lists is the module
# alone): JP-NPA publishes an N-entry hash list, PH-NBI pulls it with
# `icx pull` through two real gateways on 127.0.0.1 (signed pages, CURVE,
# receipts, both stores).  Measures the import, the snapshot pull (time,
# envelope bytes, pages), a D-entry delta (import and pull) and the peak
# memory (VmHWM) of both daemons and of the import command.
#
# Usage: bench/run-lists.sh [BUILD_DIR]
# Environment:
#   BENCH_ENTRIES  list size (default 1000000)
#   BENCH_DELTA    entries changed for the delta (default 10000: half
#                  removed, half added)
#   BENCH_PAGE     entries per page (default 10000)
#   BENCH_KEEP     set: keep the work folder
# Build first (Release-like):
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench --target icx bench_lists
# Every wait is bounded (gateway start 20 s, each pull 600 s).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
[[ -n $build ]] && build=$(cd "$build" && pwd)
if [[ -z $build ]]; then
    for d in "$src/build-bench" "$src/build"; do
        if [[ -x $d/gateway/cli/icx ]]; then build=$d; break; fi
    done
fi
export ICX_BIN=$build/gateway/cli/icx
[[ -x $ICX_BIN ]] || { echo "run-lists.sh: no icx under $build" >&2; exit 1; }
export ICX_SOURCE_DIR=$src
unset ICX_WORK
[[ -n ${BENCH_KEEP:-} ]] && export ICX_KEEP=1
N=${BENCH_ENTRIES:-1000000} D=${BENCH_DELTA:-10000} P=${BENCH_PAGE:-10000}
# shellcheck source=../tests/integration/lib/gateways.sh
. "$src/tests/integration/lib/gateways.sh"

echo "== machine"
LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1
echo "cpus $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
echo "== list: $N entries, delta $D, $P entries per page"

lists_categories() {
  sed -i -e 's/^categories_in: \[\(.*\)\]/categories_in: [\1, list-sync-request, list-update]/' \
         -e 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-sync-request, list-update]/' "$1"
}
limits() { printf 'limits:\n  max_message_bytes: 4194304\n' >>"$1"; }

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA; limits "$W/JP-NPA/gateway.yaml"
gw_partner JP-NPA PH-NBI accept direct
lists_categories "$W/JP-NPA/partners/ph-nbi.yaml"
echo "lists: [bench-hashes]" >>"$W/JP-NPA/partners/ph-nbi.yaml"
printf 'lists:\n  - id: bench-hashes\n    kind: hash\n    allow: [PH-NBI]\n    page_entries: %s\n' \
  "$P" >"$W/JP-NPA/lists.yaml"
gw_start JP-NPA
gw_write PH-NBI no false PH-NBI; limits "$W/PH-NBI/gateway.yaml"
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
lists_categories "$W/PH-NBI/partners/jp-npa.yaml"
gw_start PH-NBI
JP=$W/JP-NPA/gateway.yaml PH=$W/PH-NBI/gateway.yaml

gen() { # from to seed -> canonical lines
  python3 -c "
import hashlib,sys
f,t,s=int(sys.argv[1]),int(sys.argv[2]),sys.argv[3]
w=sys.stdout.write
for i in range(f,t): w('sha256:'+hashlib.sha256(f'{s}-{i}'.encode()).hexdigest()+'\n')
" "$1" "$2" "$3"
}
gen 0 "$N" a >"$W/a.txt"
{ gen $((D / 2)) "$N" a; gen 0 $((D - D / 2)) b; } >"$W/b.txt"

now() { date +%s.%N; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/${GW_PID[$1]}/status"; }
bytes() { sleep 1; sqlite3 "$W/PH-NBI/icx.db" "select coalesce(sum(length(envelope)), 0) from inbox where category = 'list-update'"; }

t0=$(now)
/usr/bin/time -f '%M' -o "$W/import.rss" "$ICX_BIN" lists import bench-hashes "$W/a.txt" -c "$JP"
t_import=$(echo "$(now) - $t0" | bc)
t0=$(now)
"$ICX_BIN" pull JP-NPA bench-hashes -c "$PH" --wait 600
t_snap=$(echo "$(now) - $t0" | bc)
b_snap=$(bytes)
t0=$(now)
"$ICX_BIN" lists import bench-hashes "$W/b.txt" -c "$JP"
t_import2=$(echo "$(now) - $t0" | bc)
t0=$(now)
"$ICX_BIN" pull JP-NPA bench-hashes -c "$PH" --wait 600
t_delta=$(echo "$(now) - $t0" | bc)
b_delta=$(( $(bytes) - b_snap ))
same=no
[[ $("$ICX_BIN" lists export bench-hashes -c "$JP" | sha256sum) == \
   $("$ICX_BIN" lists export bench-hashes -c "$PH" | sha256sum) ]] && same=yes

echo "== summary"
printf '%-44s %s\n' "import of $N entries (first serial)" "${t_import} s, peak RSS $(cat "$W/import.rss") KiB"
printf '%-44s %s\n' "snapshot pull, applied and verified" "${t_snap} s, $((b_snap / 1000000)) MB of envelopes"
printf '%-44s %s\n' "import of the next export ($D changed)" "${t_import2} s"
printf '%-44s %s\n' "delta pull ($D entries), applied, verified" "${t_delta} s, $((b_delta / 1000)) kB of envelopes"
printf '%-44s %s\n' "peak RSS publisher daemon (VmHWM)" "$(hwm JP-NPA) KiB"
printf '%-44s %s\n' "peak RSS subscriber daemon (VmHWM)" "$(hwm PH-NBI) KiB"
printf '%-44s %s\n' "both copies identical" "$same"
ls -l "$W/JP-NPA/"*lists.db "$W/PH-NBI/"*lists.db | awk '{print $5, $9}'
T_PASS=1
