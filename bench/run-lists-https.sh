#!/usr/bin/env bash
# run-lists-https.sh - the lists over HTTPS end to end (bench_lists_http is
# lists_rrdp.c alone): JP-NPA's `icx serve` with its dashboard on TLS
# (client certificates required, docs/DASHBOARD.md) serves an N-entry hash
# list to PH-NBI, which fetches it with curl and its certificate as
# docs/PARTNERS.md does.  Measures the first notification (every snapshot
# page built, signed by the signer process, stored, audited), the
# snapshot's pages over one keep-alive TLS connection (each one an audit
# record committed before it is sent), the notification again with
# If-None-Match (304), and the daemon's peak memory (VmHWM).
#
# Usage: bench/run-lists-https.sh [BUILD_DIR]
# Environment:
#   BENCH_ENTRIES  list size (default 1000000)
#   BENCH_KEEP     set: keep the work folder
# Settings: the configuration defaults (page_entries 5000,
# max_message_bytes 1 MiB), as bench_lists_http.
# Needs icx, curl, openssl, python3, sqlite3, bc.  Every wait is bounded
# (gateway start 20 s, each curl 600 s).
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
[[ -x $ICX_BIN ]] || { echo "run-lists-https.sh: no icx under $build" >&2; exit 1; }
export ICX_SOURCE_DIR=$src
unset ICX_WORK
[[ -n ${BENCH_KEEP:-} ]] && export ICX_KEEP=1
N=${BENCH_ENTRIES:-1000000}
# shellcheck source=../tests/integration/lib/gateways.sh
. "$src/tests/integration/lib/gateways.sh"

echo "== machine"
LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1
echo "cpus $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
echo "== list: $N entries, the default pages"

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
sed -i 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-update]/' "$W/JP-NPA/partners/ph-nbi.yaml"
echo "lists: [bench-hashes]" >>"$W/JP-NPA/partners/ph-nbi.yaml"
printf 'lists:\n  - id: bench-hashes\n    kind: hash\n    allow: [PH-NBI]\n' >"$W/JP-NPA/lists.yaml"
openssl req -x509 -newkey rsa:2048 -sha256 -days 2 -nodes -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$W/https-key.pem" -out "$W/https-cert.pem" \
  >/dev/null 2>&1
chmod 600 "$W/https-key.pem"
gw_http JP-NPA "tls_certificate: $W/https-cert.pem" "tls_key: $W/https-key.pem" \
  "client_ca: $W/keys/PH-NBI/cert.pem"
JP=$W/JP-NPA/gateway.yaml

python3 -c "
import hashlib,sys
w=sys.stdout.write
for i in range(int(sys.argv[1])): w('sha256:'+hashlib.sha256(f'a-{i}'.encode()).hexdigest()+'\n')
" "$N" >"$W/a.txt"
"$ICX_BIN" lists import bench-hashes "$W/a.txt" -c "$JP" >/dev/null
gw_start JP-NPA
BASE=$(gw_url JP-NPA)lists/bench-hashes
cu() { curl -sS -m 600 --cacert "$W/https-cert.pem" --cert "$W/keys/PH-NBI/cert.pem" \
         --key "$W/keys/PH-NBI/key.pem" "$@"; }
now() { date +%s.%N; }
audited() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from audit where event='list.http.served'"; }

t0=$(now)
cu -D "$W/note.h" -o "$W/note.xml" "$BASE/notification.xml"
t_note=$(echo "$(now) - $t0" | bc)
etag=$(sed -n 's/^[Ee][Tt]ag: *\([^[:space:]]*\).*/\1/p' "$W/note.h")
grep -o 'uri="[^"]*/snapshot-[0-9]*\.xml"' "$W/note.xml" | cut -d '"' -f 2 >"$W/pages"
: >"$W/curl.cfg"
while read -r u; do printf 'url = "%s/%s"\noutput = "/dev/null"\n' "$BASE" "$u" >>"$W/curl.cfg"; done <"$W/pages"
a0=$(audited)
t0=$(now)
cu -w '%{size_download}\n' -K "$W/curl.cfg" >"$W/sizes"
t_pages=$(echo "$(now) - $t0" | bc)
a1=$(audited)
bytes=$(awk '{s += $1} END {print s}' "$W/sizes")
t0=$(now)
code=$(cu -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/notification.xml")
t_304=$(echo "$(now) - $t0" | bc)

echo "== summary"
printf '%-52s %s\n' "first notification (snapshot built, signed, stored)" "${t_note} s"
printf '%-52s %s\n' "snapshot pages over one TLS connection" "$(wc -l <"$W/pages") pages, $((bytes / 1000000)) MB, ${t_pages} s"
printf '%-52s %s\n' "audit records committed for them" "$((a1 - a0))"
printf '%-52s %s\n' "notification with If-None-Match" "HTTP $code, ${t_304} s (a curl process included)"
printf '%-52s %s\n' "peak RSS of icx serve (VmHWM)" "$(awk '/VmHWM/ {print $2}' "/proc/${GW_PID[JP-NPA]}/status") KiB"
gw_stop JP-NPA
"$ICX_BIN" audit verify -c "$JP" >/dev/null && echo "audit chain verifies"
T_PASS=1
