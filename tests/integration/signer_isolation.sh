#!/usr/bin/env bash
# The agency key never enters the daemon: after two daemons (RSA-2048 and
# ECDSA P-256 keys) have signed 1,000 envelopes and 1,000 receipts, their
# memory (/proc/PID/mem over every readable mapping) holds none of the
# private key: not the RSA private exponent or primes, not the EC private
# scalar (big- or little-endian, as a BIGNUM keeps it), not the PEM text,
# not the DER; and /proc/PID/maps maps no key file.  The same search in
# each daemon's signer process finds the key: the search works.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: reading another process's memory needs root"; exit 77
fi
gw_keys JP-NPA rsa2048
gw_keys PH-NBI ecdsa-p256
gw_keys KR-KNPA
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }


payload=$src/docs/samples/case-referral-payload.xml
files=()
for i in $(seq 100); do files+=("$payload"); done
: >"$W/acked"
for b in $(seq 10); do
  icx_at JP-NPA submit "${files[@]}" --to PH-NBI --category case-referral \
    --legal-basis "MLAT test" --retain-until 2031-12-31 |
    awk '/^queued/ {print $2}' >>"$W/acked"
done
check "1000 envelopes signed and queued" test "$(sort -u "$W/acked" | wc -l)" -eq 1000
check "and delivered, each answered by a signed receipt" \
  wait_for 120 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered'\") -ge 1000 ]]"

# Searches the readable memory of pid for the private key of key.pem;
# prints what it found, one line each; exit 0 found, 1 none, 2 error.
scan() { python3 "$src/tests/integration/tools/memscan.py" "$1" --key "$2"; }

for id in JP-NPA PH-NBI; do
  pid=${GW_PID[$id]}
  key=$(realpath "$W/keys/$id/key.pem")
  s=$(gw_signer "$id")
  check "$id: the daemon maps no key file" bash -c "! grep -qF '$key' /proc/$pid/maps"
  scan "$pid" "$key" >"$W/scan-$id"
  rc=$?
  check "$id: the daemon's memory holds no private key bytes" test "$rc" -eq 1
  [[ $rc -eq 0 ]] && sed 's/^/     found in the daemon: /' "$W/scan-$id"
  check "$id: a signer process runs" test -n "$s"
  # Its lockdown, as the kernel reports it for every thread.
  check "$id: each signer thread runs under a seccomp filter" \
    bash -c "! grep -L '^Seccomp:[[:space:]]*2' /proc/$s/task/*/status | grep -q ."
  check "$id: with no new privileges" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$s/status"
  check "$id: and no descriptor but its 2 channels" \
    test "$(ls /proc/$s/fd | tr '\n' ' ')" = "3 4 "
  check "$id: and no file open or mapped but its own binary and libraries" \
    bash -c "! awk '\$6 ~ /^\\// {print \$6}' /proc/$s/maps | grep -v -e '^/usr/' -e '^/lib' -e '/icx\$' | grep -q ."
  scan "$s" "$key" >"$W/scan-$id-signer"
  check "$id: the same search finds the key in the signer" test $? -eq 0
  sed 's/^/     found in the signer: /' "$W/scan-$id-signer"
done
finish
