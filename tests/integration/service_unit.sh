#!/usr/bin/env bash
# packaging/systemd/icx.service as installed (ExecStart naming the built
# icx) passes `systemd-analyze verify` with no complaint at all (verify
# exits 0 even on an unknown setting: its output must be empty), and
# carries the hardening the service relies on.  Exit 77 without
# systemd-analyze.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is absent"; exit 77; }
build=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}

unit=$W/icx.service
sed "s|@ICX_BINDIR@|$(dirname "$icx")|" "$src/packaging/systemd/icx.service.in" >"$unit"
# Documentation= names man pages: verify looks them up (the built ones).
mkdir -p "$W/man/man1"
if ls "$build"/man/*.1 >/dev/null 2>&1; then cp "$build"/man/*.1 "$W/man/man1/"; man=(); else man=(--man=no); fi
MANPATH=$W/man systemd-analyze verify "${man[@]}" "$unit" >"$W/out" 2>&1
check "systemd-analyze verify exits 0" test $? -eq 0
if [[ -s $W/out ]]; then bad "systemd-analyze verify complains:"; sed 's/^/     /' "$W/out"; else ok "systemd-analyze verify: no complaint"; fi
for want in Type=notify User=icx ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
            NoNewPrivileges=yes PrivateDevices=yes ProtectKernelTunables=yes \
            ProtectKernelModules=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
            SystemCallFilter=@system-service StateDirectory=icx ConfigurationDirectory=icx \
            'ExecReload=/bin/kill -HUP $MAINPID'; do
  check "unit has $want" grep -qxF -- "$want" "$unit"
done
# The check sees a broken unit (so that an empty output means something).
sed 's/^Type=notify/Type=notifyy/' "$unit" >"$W/bad.service"
MANPATH=$W/man systemd-analyze verify "${man[@]}" "$W/bad.service" >"$W/out" 2>&1
check "a broken unit is reported" grep -q "service type" "$W/out"
finish
