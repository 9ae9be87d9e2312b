#!/usr/bin/env python3
# Searches the readable memory of a process (/proc/PID/mem, as root) for
# a private key's bytes or for given strings: signer_isolation.sh (the
# key file is in the signer process, never in the daemon) and pkcs11.sh
# (the token's PIN is never in the daemon).
import argparse, base64, re, subprocess, sys


def key_needles(keyfile):
    """The private numbers of a PEM key, its PEM text and its DER."""
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
        print("no private key numbers in", keyfile)
        sys.exit(2)
    pem = open(keyfile).read()
    body = [l for l in pem.splitlines() if l and not l.startswith("-----")]
    needles = {"PEM text": body[1].encode(), "DER": base64.b64decode("".join(body))}
    for n, v in secrets.items():
        needles[n + " (big-endian)"] = v[:32]
        needles[n + " (little-endian)"] = v[::-1][:32]
    return needles


ap = argparse.ArgumentParser(description="Searches the readable memory of a "
                             "process; prints what it found, one line each; "
                             "exit 0 found, 1 none, 2 error.")
ap.add_argument("pid")
ap.add_argument("--key", help="a PEM private key: its numbers, PEM and DER")
ap.add_argument("--text", action="append", default=[],
                help="a string (a PIN, ...); may be repeated")
args = ap.parse_args()
pid = args.pid
needles = key_needles(args.key) if args.key else {}
for t in args.text:
    needles["text " + repr(t)] = t.encode()
if not needles:
    ap.error("nothing to search for: --key or --text")
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
