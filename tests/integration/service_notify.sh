#!/usr/bin/env bash
# icx serve under a service manager: the sd_notify messages on
# $NOTIFY_SOCKET (READY=1 once serving; RELOADING=1 then READY=1 around a
# SIGHUP reload; STOPPING=1 on SIGTERM), for a socket path and an abstract
# @name; and --log-format json lines that all parse as JSON.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

# listen SOCKET OUT: prints every datagram received on SOCKET to OUT, one
# message per line (newlines within a message shown as '|').
listen() {
  python3 -u - "$1" "$2" <<'PY' &
import socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
with open(out, "a") as f:
    f.write("listening\n"); f.flush()
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", "|") + "\n"); f.flush()
PY
  LISTENER=$!
  wait_for 10 grep -q listening "$2"
}
got() { grep -q "^$1" "$2"; }

gw_keys JP-NPA
gw_write JP-NPA yes false JP-NPA
for sock in "$W/notify.sock" "@icx-test-notify-$$"; do
  msgs=$W/msgs.$RANDOM
  listen "$sock" "$msgs"
  export NOTIFY_SOCKET=$sock
  gw_start JP-NPA || { bad "JP-NPA starts"; kill "$LISTENER"; finish; exit 1; }
  unset NOTIFY_SOCKET
  check "$sock: READY=1 once serving" wait_for 10 got READY=1 "$msgs"
  check "$sock: nothing but READY=1 yet" test "$(grep -vc listening "$msgs")" -eq 1
  gw_hup JP-NPA
  check "$sock: RELOADING=1 after SIGHUP" wait_for 10 got 'RELOADING=1|MONOTONIC_USEC=[0-9]' "$msgs"
  check "$sock: READY=1 again after the reload" wait_for 10 eval '[[ $(sed -n "/^RELOADING/,\$p" "'"$msgs"'" | grep -c "^READY=1") -ge 1 ]]'
  gw_stop JP-NPA
  check "$sock: STOPPING=1 on SIGTERM" got STOPPING=1 "$msgs"
  check "$sock: in order" test "$(grep -v listening "$msgs" | cut -c1-9 | tr '\n' ' ')" = "READY=1 RELOADING READY=1 STOPPING= "
  kill "$LISTENER"; wait "$LISTENER" 2>/dev/null
done

# No NOTIFY_SOCKET: nothing to send, the daemon starts as always.
check "starts without NOTIFY_SOCKET" gw_start JP-NPA
gw_stop JP-NPA

# --log-format json: every line one JSON object with ts, level, event.
(cd "$W/JP-NPA" && exec "$icx" serve -c gateway.yaml --log-format json) >"$W/json.log" 2>&1 &
pid=$!
GW_PID[json]=$pid
wait_for 20 "$icx" partners -c "$W/JP-NPA/gateway.yaml"
kill -HUP "$pid"; sleep 0.5
kill -TERM "$pid"; wait "$pid"
unset 'GW_PID[json]'
check "json log has lines" test "$(wc -l <"$W/json.log")" -ge 3
if python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$W/json.log" 2>"$W/err"
then ok "every --log-format json line parses"; else bad "a json line does not parse"; cat "$W/err"; fi
check "json lines carry ts, level, event" python3 -c '
import json,sys
for l in sys.stdin:
    o = json.loads(l)
    assert {"ts","level","event"} <= o.keys(), l
    assert all(isinstance(v, str) for v in o.values()), l
' <"$W/json.log"
check "daemon.ready in json" grep -q '"event":"daemon.ready"' "$W/json.log"
check "config.loaded after SIGHUP in json" grep -q '"event":"config.loaded"' "$W/json.log"
"$icx" serve --log-format xml >"$W/out" 2>&1
check "--log-format xml: usage error" test $? -eq 2

# log_format: json in gateway.yaml does the same; --log-format text wins.
printf 'log_format: json\n' >>"$W/JP-NPA/gateway.yaml"
for want in json text; do
  args=(); [[ $want == text ]] && args=(--log-format text)
  (cd "$W/JP-NPA" && exec "$icx" serve -c gateway.yaml "${args[@]}") >"$W/$want.cfg.log" 2>&1 &
  pid=$!
  GW_PID[cfg]=$pid
  wait_for 20 "$icx" partners -c "$W/JP-NPA/gateway.yaml"
  kill -TERM "$pid"; wait "$pid"
  unset 'GW_PID[cfg]'
done
check "log_format: json: daemon.ready as JSON" grep -q '^{.*"event":"daemon.ready"' "$W/json.cfg.log"
check "log_format: json: every line after the config load is JSON" python3 -c '
import json,sys
lines = sys.stdin.read().splitlines()
assert lines, "no lines"
for l in lines:
    json.loads(l)
' <"$W/json.cfg.log"
check "--log-format text wins over log_format: json" grep -q '^ts=.*event=daemon.ready' "$W/text.cfg.log"
sed -i 's/^log_format: json$/log_format: xml/' "$W/JP-NPA/gateway.yaml"
"$icx" config check -c "$W/JP-NPA/gateway.yaml" >"$W/out" 2>&1
check "log_format: xml refused by config check" grep -q "log_format.*xml.*text" "$W/out"
finish
