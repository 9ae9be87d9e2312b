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

signer_of() { # id -> pid
  local d ppid=${GW_PID[$1]}
  for d in /proc/[0-9]*; do
    [[ $(cat "$d/comm" 2>/dev/null) == icx-signer ]] || continue
    [[ $(awk '{print $4}' "$d/stat" 2>/dev/null) == "$ppid" ]] && echo "${d#/proc/}"
  done
}

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
scan() { # pid key.pem
  python3 - "$1" "$2" <<'PY'
import base64, re, subprocess, sys
pid, keyfile = sys.argv[1], sys.argv[2]
text = subprocess.run(["openssl", "pkey", "-in", keyfile, "-text", "-noout"],
                      capture_output=True, text=True, check=True).stdout
secrets, name, hexs = {}, None, ""
for line in text.splitlines() + ["end:"]:
    if line.startswith(" ") and name:
        hexs += line.strip()
        continue
    if name and hexs:
        secrets[name] = bytes.fromhex(hexs.replace(":", "")).lstrip(b"\0")
    m = re.match(r"^(privateExponent|prime1|prime2|priv):", line)
    name, hexs = (m.group(1), "") if m else (None, "")
if not secrets:
    print("no private key numbers in", keyfile); sys.exit(2)
pem = open(keyfile).read()
body = [l for l in pem.splitlines() if l and not l.startswith("-----")]
needles = {"PEM text": body[1].encode(), "DER": base64.b64decode("".join(body))}
for n, v in secrets.items():
    w = v[:32]
    needles[n + " (big-endian)"] = w
    needles[n + " (little-endian)"] = v[::-1][:32]
# Read in pieces (a needle may straddle two: they overlap by its length).
# A mapping of more than 64 GiB can only be a sanitizer's shadow here
# (bytes that describe memory, never its contents): it is skipped, and
# said on stderr.  Any failure is exit 2, never "not found".
CHUNK, OVERLAP, HUGE = 1 << 24, 64, 64 << 30
found, scanned = set(), 0
try:
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
                continue
            if hi - lo > HUGE:
                print(f"skipped {f[0]} ({(hi - lo) >> 30} GiB: sanitizer shadow)",
                      file=sys.stderr)
                continue
            at, tail = lo, b""
            while at < hi:
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(CHUNK, hi - at))
                except OSError:
                    break
                scanned += len(data) - len(tail)
                for n, v in needles.items():
                    if n not in found and v in data:
                        found.add(n)
                tail = data[-OVERLAP:]
                at += CHUNK
except Exception as e:
    print("scan failed:", repr(e), file=sys.stderr)
    sys.exit(2)
if scanned == 0:
    print("scan read nothing", file=sys.stderr)
    sys.exit(2)
for n in sorted(found):
    print(n)
sys.exit(0 if found else 1)
PY
}

for id in JP-NPA PH-NBI; do
  pid=${GW_PID[$id]}
  key=$(realpath "$W/keys/$id/key.pem")
  s=$(signer_of "$id")
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
