#!/usr/bin/env bash
# External adapters: two real gateways load the example adapter module
# (adapters/example, built as icx_adapter_example.so) from paths.adapters
# and exchange envelopes and receipts through it, both ways.  A partner
# whose module is missing is refused by icx config check.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
build=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}
modules=$build/adapters/modules
broken=$build/adapters/broken

check "the example module is built" test -f "$modules/icx_adapter_example.so"
for id in JP-NPA PH-NBI; do
  gw_keys "$id"
  gw_write "$id" no false "$id"
  gw_adapters_dir "$id" "$modules"
done
gw_partner_module JP-NPA PH-NBI example "spool=$W/spool"
gw_partner_module PH-NBI JP-NPA example "spool=$W/spool"
check "icx config check accepts the external adapter" \
  "$icx" config check -c "$W/JP-NPA/gateway.yaml"
gw_start JP-NPA && gw_start PH-NBI || { bad "two gateways start"; finish; exit 1; }
ok "two gateways start with adapter example loaded from paths.adapters"

m1=$(submit_sample JP-NPA PH-NBI)
check "JP-NPA -> PH-NBI delivered through the module, receipt verified" \
  wait_for 30 delivered JP-NPA "$m1"
m2=$(submit_sample PH-NBI JP-NPA)
check "PH-NBI -> JP-NPA delivered through the module, receipt verified" \
  wait_for 30 delivered PH-NBI "$m2"
check "PH-NBI stored the envelope once, as accepted" test \
  "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) from inbox where message_id='$m1' and state='accepted'")" -eq 1
check "the timeline names the adapter" bash -c \
  "'$icx' status '$m1' -c '$W/JP-NPA/gateway.yaml' | grep -q 'adapter=example'"
check "the spool folders are the module's" test -d "$W/spool/JP-NPA-to-PH-NBI"
gw_stop JP-NPA
gw_stop PH-NBI

# Refused modules.  The exact refusals (another ABI number, no ops symbol)
# are checked by tests/unit/adapters/test_registry.c; here the operator's first
# line of defence: icx config check names a module that is not there.
mkdir -p "$W/refused/partners"
sed -e "s#^  adapters: .*#  adapters: $broken#" -e "s#\.\./keys/#$W/keys/#" \
  "$W/JP-NPA/gateway.yaml" >"$W/refused/gateway.yaml"
printf 'id: PH-NBI\ncertificate: %s\nadapter: pigeon\n' "$W/keys/PH-NBI/cert.pem" \
  >"$W/refused/partners/ph-nbi.yaml"
out=$("$icx" config check -c "$W/refused/gateway.yaml" 2>&1)
rc=$?
check "a missing module is refused by icx config check (exit 1)" test "$rc" -eq 1
check "naming the module and the folder" grep -qF \
  "adapter: no module icx_adapter_pigeon.so in paths.adapters ($broken)" <<<"$out"
finish
