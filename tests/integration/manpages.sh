#!/usr/bin/env bash
# The man pages (help2man on the --help texts, the `man` target): icx.1
# and one page per command family, each with NAME and SYNOPSIS, rendered
# by `man -l` without a warning.  The commands that share the daemon
# clients' help (status, outbox, inbox, partners, health) are on
# icx-submit.1.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
build=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}
command -v help2man >/dev/null || { echo "help2man is absent (scripts/deps.sh installs it)"; exit 77; }
command -v man >/dev/null || { echo "man is absent"; exit 77; }

if cmake --build "$build" --target man >"$W/build.log" 2>&1; then ok "the man target builds"
else bad "the man target fails"; tail -5 "$W/build.log"; finish; exit; fi
M=$build/man
pages=(icx)
for c in $("$icx" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
  [[ $c == version ]] && continue # on icx.1
  if [[ -e $M/icx-$c.1 ]]; then pages+=("icx-$c")
  elif cmp -s <("$icx" "$c" --help) <("$icx" submit --help); then ok "icx $c is on icx-submit.1"
  else bad "icx $c has no man page"; fi
done
check "one page per family (at least 11)" test "${#pages[@]}" -ge 12
for p in "${pages[@]}"; do
  f=$M/$p.1
  warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
  if [[ -z $warn ]]; then ok "$p.1 renders without warnings"; else bad "$p.1: $warn"; fi
  MANWIDTH=80 man -l "$f" 2>/dev/null >"$W/$p.txt"
  check "$p.1 has NAME" grep -q "^NAME" "$W/$p.txt"
  check "$p.1 has SYNOPSIS" grep -q "^SYNOPSIS" "$W/$p.txt"
  check "$p.1 names its command" grep -q "^       ${p/-/ }" "$W/$p.txt"
done
check "icx-serve.1 documents --log-format" grep -q -- "--log-format" "$W/icx-serve.txt"
check "icx-serve.1 points at the other pages" grep -q "icx-submit(1)" "$W/icx-serve.txt"
finish
