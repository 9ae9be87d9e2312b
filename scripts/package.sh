#!/usr/bin/env bash
# Builds the Debian package (debian/, dpkg-buildpackage -us -uc -b) from
# a copy of the tree's source files, checks it with lintian (any error
# fails; warnings are shown) and lists what it installs.
# Usage: scripts/package.sh [OUTDIR]   (default: build-deb/)
# The .deb lands in OUTDIR; install it with
#   apt-get install ./OUTDIR/icx_VERSION_ARCH.deb
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-deb}
for tool in dpkg-buildpackage dh lintian help2man fakeroot; do
  command -v "$tool" >/dev/null || {
    echo "icx: error: $tool is missing; run scripts/deps.sh" >&2; exit 3; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/icx-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/icx" "$out"
# The source files only (tracked, or new and not ignored): no build trees.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$top" ls-files -z --cached --others --exclude-standard |
    (cd "$top" && tar --null -T - -cf -) | tar -C "$work/icx" -xf -
else
  tar -C "$top" --exclude='./build*' --exclude=./var --exclude=./demo -cf - . |
    tar -C "$work/icx" -xf -
fi
echo "== dpkg-buildpackage"
(cd "$work/icx" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log" >&2; echo "icx: error: dpkg-buildpackage failed" >&2; exit 1; }
deb=$(ls "$work"/icx_*.deb)
echo "== lintian $(basename "$deb")"
# --fail-on error: an error fails the build; warnings are listed only.
lintian --fail-on error --tag-display-limit 0 "$work"/icx_*.changes
echo "== contents"
dpkg-deb -c "$deb" >"$work/contents"
missing=0
for f in ./usr/bin/icx ./usr/share/icx/schemas/envelope-1.xsd \
         ./usr/share/icx/mappings/npa-case.yaml ./lib/systemd/system/icx.service \
         ./usr/share/man/man1/icx.1.gz ./usr/share/man/man1/icx-serve.1.gz \
         ./usr/share/bash-completion/completions/icx \
         ./usr/share/doc/icx/examples/gateway.yaml ./usr/share/doc/icx/copyright; do
  grep -q " $f\$" "$work/contents" || { echo "icx: error: the package lacks $f" >&2; missing=1; }
done
if grep -q " ./etc/" "$work/contents"; then
  echo "icx: error: the package installs files in /etc (examples belong in /usr/share/doc/icx/examples)" >&2
  missing=1
fi
((missing == 0)) || exit 1
dpkg-deb -I "$deb" | sed -n '/Package:/,/Description:/p'
cp "$deb" "$out/"
echo "icx: built $out/$(basename "$deb")"
