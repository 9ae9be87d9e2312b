#!/usr/bin/env bash
# Runs a chosen subset of the tests under valgrind memcheck, from the
# normal build (build/): the unit tests of the parsers, signatures, store,
# the loop's group commit, receipts, audit log and configuration, and the
# offline `icx` commands on a signed, a tampered and a hostile envelope.
# Any memory error or a definite or indirect leak fails the run.
# Usage: scripts/valgrind.sh [TEST...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/deps.sh"
bash "$top/scripts/build.sh" >/dev/null
build=$top/build
export ICX_SOURCE_DIR=$top ICX_BIN=$build/gateway/cli/icx ICX_BUILD_DIR=$build
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --error-exitcode=99)
tests=("$@")
((${#tests[@]})) || tests=(test_frame test_envelope test_schemas test_xsdre
                           test_xsdv test_config test_store test_turn
                           test_receipt test_audit test_csv test_normalize
                           test_translate test_xml cli)
# test_xsdv's random edits: fewer under valgrind (each is a parse and two
# validations); every code path is still reached.
export ICX_TEST_EDITS=${ICX_TEST_EDITS:-40}
work=$(mktemp -d "${TMPDIR:-/tmp}/icx-valgrind-XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0

run() { # name command...: runs under valgrind, keeps the log on failure
  local name=$1 log=$work/$1.log; shift
  local rc=0
  "${vg[@]}" "$@" >"$log" 2>&1 || rc=$?
  if grep -q '^==[0-9]*==' "$log" || [[ $rc -eq 99 ]]; then
    echo "valgrind: $name: FAILED (memcheck)"; grep '^==[0-9]*==' "$log" | head -60
    failed=1; return 1
  fi
  return "$rc"
}

# The offline commands: keys, build, sign, verify ok / tampered / DOCTYPE.
cli() {
  local icx=$ICX_BIN d=$work/cli
  mkdir -p "$d"
  run cli.keys "$icx" keys gen JP-NPA --out "$d/jp" --alg ecdsa-p256 >/dev/null || return 1
  run cli.build "$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --legal-basis "MLAT test" --retain-until 2031-12-31 -o "$d/u.xml" \
    "$top/docs/samples/case-referral-payload.xml" 2>/dev/null || return 1
  run cli.sign "$icx" envelope sign --key "$d/jp/key.pem" -o "$d/s.xml" "$d/u.xml" || return 1
  local v=("$icx" envelope verify --as PH-NBI --trust "JP-NPA=$d/jp/cert.pem")
  run cli.verify "${v[@]}" "$d/s.xml" >/dev/null || return 1
  sed 's#<Title>#<Title>X#' "$d/s.xml" >"$d/t.xml"
  { printf '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n'; tail -n +2 "$d/s.xml"; } >"$d/d.xml"
  local rc=0
  run cli.tampered "${v[@]}" "$d/t.xml" >/dev/null || rc=$?
  [[ $rc -eq 1 ]] || { echo "valgrind: tampered envelope: exit $rc, want 1"; return 1; }
  rc=0; run cli.doctype "${v[@]}" "$d/d.xml" >/dev/null || rc=$?
  [[ $rc -eq 1 ]] || { echo "valgrind: DOCTYPE envelope: exit $rc, want 1"; return 1; }
  run cli.show "$icx" envelope show --json "$d/s.xml" >/dev/null
}

for t in "${tests[@]}"; do
  start=$SECONDS
  if [[ $t == cli ]]; then
    if cli; then echo "valgrind: cli: ok ($((SECONDS - start)) s)"; else failed=1; fi
    continue
  fi
  if run "$t" "$build/tests/$t"; then
    echo "valgrind: $t: ok ($((SECONDS - start)) s)"
  elif [[ -s $work/$t.log ]]; then
    echo "valgrind: $t: FAILED"; tail -30 "$work/$t.log"; failed=1
  fi
done
exit $failed
