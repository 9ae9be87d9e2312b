#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian 12: a minimal bookworm
# root made by debootstrap, entered with chroot, holding only the committed
# tree (git archive HEAD).  Whatever the project needs and does not install
# itself fails here, not on a user's machine.
#
# Usage: scripts/fresh-machine.sh [--keep] [DIR]
#   DIR     the root to make (default: a new temporary folder; removed
#           afterwards unless --keep)
# Needs root (debootstrap, mounts, chroot) and Debian's package mirror
# ($ICX_DEBIAN_MIRROR, default http://deb.debian.org/debian).
# Exit: 0 both commands passed, 1 one failed, 2 usage, 3 environment.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
keep=0
root=""
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: scripts/fresh-machine.sh [--keep] [DIR]" >&2; exit 2 ;;
    *) root=$a ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "fresh-machine: error: debootstrap and chroot need root" >&2
  exit 3
fi
mirror=${ICX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[[ -n "$root" ]] || root=$(mktemp -d /var/tmp/icx-fresh-XXXXXX)
mkdir -p "$root"
root=$(cd "$root" && pwd)
# mktemp -d makes 0700: inside the chroot that is "/", which an
# unprivileged user (the PostgreSQL tests' server runs as nobody) could
# not even enter.  A real machine's root is 0755.
chmod 0755 "$root"

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  if ((keep == 0)); then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

if ! command -v debootstrap >/dev/null; then
  echo "fresh-machine: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi
if [[ ! -f "$root/etc/debian_version" ]]; then
  echo "fresh-machine: making a minimal Debian 12 in $root (a few minutes)"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1; then
    tail -n 20 "$root.debootstrap.log" >&2
    echo "fresh-machine: error: debootstrap failed (log above)" >&2
    exit 3
  fi
  rm -f "$root.debootstrap.log"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc sys dev dev/pts; do
  mount --bind "/$m" "$root/$m"
  mounted+=("$root/$m")
done
mount -t tmpfs tmpfs "$root/dev/shm"
mounted+=("$root/dev/shm")

rm -rf "$root/root/icx"
mkdir -p "$root/root/icx"
git -C "$top" archive HEAD | tar -x -C "$root/root/icx"
echo "fresh-machine: the committed tree ($(git -C "$top" rev-parse --short HEAD)) is in $root/root/icx"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/icx && $1"
}
rc=0
echo "== fresh Debian 12: bash scripts/test.sh =="
in_root "bash scripts/test.sh" || rc=1
echo "== fresh Debian 12: bash scripts/demo.sh =="
in_root "bash scripts/demo.sh" || rc=1
if ((rc == 0)); then echo "fresh-machine: both README commands passed"
else echo "fresh-machine: a README command failed on a fresh Debian 12" >&2; fi
exit $rc
