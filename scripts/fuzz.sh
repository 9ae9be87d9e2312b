#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one for
# FUZZ_SECONDS (default 30) from a copy of its seed corpus in tests/fuzz/.
# Fails when any target crashes, leaks or times out; prints one line per
# target.  Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
# Crash inputs are kept in build-fuzz/fuzz-artifacts/.
# Then the differential verification test (tests/diff/diff_verify.c, same
# sanitizers) for DIFF_SECONDS (default 120) with a fresh seed, which it
# prints; its differing documents go to build-fuzz/fuzz-artifacts/ too.
# Named alone: scripts/fuzz.sh diff_verify
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
bash "$top/scripts/deps.sh" --fuzz
bash "$top/scripts/build.sh" --fuzz fuzz_all diff_verify >/dev/null
dir=$top/build-fuzz/tests/fuzz
art=$top/build-fuzz/fuzz-artifacts
mkdir -p "$art"
targets=("$@")
((${#targets[@]})) || targets=(envelope_verify receipt csv config frame list_sync schema_fast c14n witness
                             signer_wire diff_verify)
# Largest input each target sees: a little above its seeds, well below
# the limits the code enforces, so the time goes into structure, not size.
declare -A max_len=([envelope_verify]=16384 [receipt]=8192 [csv]=4096
                    [config]=4096 [frame]=256 [list_sync]=8192
                    [schema_fast]=16384 [c14n]=4096 [witness]=8192
                    [signer_wire]=9000)
work=$(mktemp -d "${TMPDIR:-/tmp}/icx-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  if [[ $t == diff_verify ]]; then
    log=$work/diff_verify.log
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       LSAN_OPTIONS=suppressions=$top/tests/diff/lsan.supp \
       ICX_SOURCE_DIR=$top DIFF_OUT=$art \
       "$top/build-fuzz/tests/diff/diff_verify" --seconds "${DIFF_SECONDS:-120}" \
         >"$log" 2>&1; then
      seed=$(grep -o 'seed 0x[0-9a-f]*' "$log" | head -1)
      runs=$(grep -o '^diff_verify: [0-9]* variants' "$log" | grep -o '[0-9]*')
      echo "diff_verify: $runs variants, $seed, ok"
    else
      echo "diff_verify: FAILED; the end of its log:"
      tail -80 "$log"
      failed=1
    fi
    continue
  fi
  bin=$dir/fuzz_$t
  [[ -x $bin ]] || { echo "fuzz_$t: no such target" >&2; failed=1; continue; }
  mkdir -p "$work/$t"
  cp "$top/tests/fuzz/corpus/$t/"* "$work/$t/"
  log=$work/$t.log
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$bin" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$art/fuzz_$t-" "$work/$t" >"$log" 2>&1; then
    runs=$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz_$t: $runs runs, ok"
  else
    echo "fuzz_$t: FAILED; the end of its log:"
    tail -40 "$log"
    failed=1
  fi
done
exit $failed
