#!/usr/bin/env bash
# The bash completion (packaging/bash-completion/icx): commands, their
# subcommands and options, as bash would ask for them.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
. "$src/packaging/bash-completion/icx"

complete_at() { # words...: the completions of the last word
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMPREPLY=()
  _icx icx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() { # name, want, words...
  local name=$1 want=$2; shift 2
  local got; got=$(complete_at "$@")
  if [[ "$got" == "$want" ]]; then ok "$name"; else bad "$name: got '$got', want '$want'"; fi
}
check "complete -p names _icx for icx" bash -c ". '$src/packaging/bash-completion/icx'; complete -p icx | grep -q _icx"
expect "icx se -> serve" "serve " icx se
expect "icx he -> health" "health " icx he
expect "icx health --m -> --max-age" "--max-age " icx health --m
expect "icx submit --wa -> --wait" "--wait " icx submit --wa
expect "icx s -> the s commands" "serve status store submit survey " icx s
expect "icx audit v -> verify" "verify " icx audit v
expect "icx lists h -> history http-get" "history http-get " icx lists h
expect "icx lists http-get --cl -> --client-cert" "--client-cert " icx lists http-get --cl
expect "icx keys -> gen show" "gen show " icx keys ""
expect "icx serve --log -> --log-format" "--log-format " icx serve --log
expect "icx serve --log-format j -> json" "json " icx serve --log-format j
expect "icx envelope sign --tem -> --template" "--template " icx envelope sign --tem
cd "$src" || exit 1
expect "--profile npa-c -> npa-case" "npa-case " icx translate f.csv --profile npa-c
# Every command of icx --help is completed.
for c in $("$icx" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
  check "command $c is known to the completion" grep -q " $c " <<<" $(complete_at icx "") "
done
finish
