#!/usr/bin/env bash
# `icx health` as a monitoring probe sees it: exit 0 with two gateways
# that reach each other; exit 1, naming the partner and the message, when
# a partner is down and its message is older than --max-age; exit 4 when
# no daemon runs.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

# JP-NPA listens; PH-NBI connects to it; KR-KNPA is a partner of JP-NPA
# that never starts.
gw_pair_and_absent || { bad "JP-NPA starts"; finish; exit 1; }
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

health() { # id args...: output in $W/out, exit code in $code
  local id=$1; shift
  icx_at "$id" health "$@" >"$W/out" 2>&1
  code=$?
}
shows() { # name, regex
  if grep -qE -- "$2" "$W/out"; then ok "$1"; else bad "$1: got \"$(head -c 600 "$W/out")\", want /$2/"; fi
}
exit_is() { # name, want
  if [[ $code -eq $2 ]]; then ok "$1"; else bad "$1: got exit $code, want $2"; sed 's/^/     /' "$W/out" | head -12; fi
}

# 1. Healthy: a message delivered, both gateways up.
m1=$(submit_sample JP-NPA PH-NBI)
check "a message to PH-NBI is delivered" wait_for 20 delivered JP-NPA "$m1"
check "PH-NBI is connected" wait_for 20 bash -c "'$icx' health -c '$W/JP-NPA/gateway.yaml' | grep -q 'PH-NBI  *connected'"
health JP-NPA
exit_is "healthy: exit 0" 0
shows "healthy: the store is ok" "^store +ok"
shows "healthy: PH-NBI connected, with its last contact" "^partner +PH-NBI +connected +last contact [0-9]{4}-"
shows "healthy: the queue is empty" "^queue +0 undelivered"
shows "healthy: the last checkpoint is named" "^checkpoint "
shows "healthy: says ok" "^health +ok"
health JP-NPA --json
exit_is "healthy --json: exit 0" 0
shows "healthy --json: healthy true" '"healthy":true'
check "healthy --json: one JSON document" python3 -c "import json,sys; d=json.load(open('$W/out')); sys.exit(0 if d['store']=='ok' and d['queue']==0 and len(d['partners'])==2 else 1)"
health PH-NBI
exit_is "healthy at PH-NBI too: exit 0" 0

# 2. Unhealthy: KR-KNPA is down, its message older than --max-age.
m2=$(submit_sample JP-NPA KR-KNPA)
[[ -n $m2 ]] && ok "a message to KR-KNPA is queued" || bad "a message to KR-KNPA is queued"
health JP-NPA
exit_is "a message queued a moment ago to a partner never reached: exit 1" 1
shows "the partner never reached is named" "^problem +KR-KNPA has 1 message\(s\) queued and has not been reached since the daemon started"
sleep 3
health JP-NPA --max-age 1
exit_is "down partner, message older than --max-age: exit 1" 1
shows "the queue names the oldest message" "^queue +1 undelivered, oldest [0-9]+ s \($m2 to KR-KNPA, queued\)"
shows "the age problem names the message" "^problem +the oldest undelivered message \($m2 to KR-KNPA\) is [0-9]+ s old, above --max-age 1"
shows "says NOT OK" "^health +NOT OK"
health JP-NPA --json --max-age 1
exit_is "unhealthy --json: exit 1" 1
shows "unhealthy --json: healthy false" '"healthy":false'
shows "unhealthy --json: the oldest message" "\"oldest_undelivered\":\\{\"message_id\":\"$m2\""
check "unhealthy --json: one JSON document naming both problems" python3 -c "import json,sys; d=json.load(open('$W/out')); sys.exit(0 if len(d['problems'])==2 and d['oldest_undelivered']['recipient']=='KR-KNPA' else 1)"
health JP-NPA --max-age soon
exit_is "--max-age soon: exit 2" 2

# 3. No daemon: exit 4.
gw_stop PH-NBI
health PH-NBI
exit_is "no daemon running: exit 4" 4
finish
