#!/usr/bin/env bash
# Installs the Debian 12 packages ICX needs to build, test and run, when any
# is missing.  Safe to run again: it installs nothing that is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libxml2-dev libxml2-utils libxmlsec1-dev libxmlsec1-openssl xmlsec1
  libssl-dev openssl libzmq3-dev libyaml-dev libsqlite3-dev sqlite3
  libcmocka-dev clang libutf8proc-dev libidn2-dev valgrind
  # The signer process's system call filter (gateway/signer/).
  libseccomp-dev
  # The RFC 3161 time-stamp client's HTTP POST (gateway/tsa/).
  libcurl4-openssl-dev
  # The dashboard (gateway/web): HTTP and TLS, curl in its tests, chromium
  # for the browser test and the screenshots in docs/img/.
  libmicrohttpd-dev libgnutls28-dev chromium
  # The PostgreSQL store engine (libpq) and the throwaway server its
  # tests start (tests/integration/lib/pg.sh: initdb, pg_ctl, psql).
  libpq-dev postgresql-15 postgresql-client-15
  python3 perl curl
  bc time
  # PKCS#11: the C API header (p11-kit's pkcs11.h) and a software token
  # (SoftHSM2: softhsm2-util and the module libsofthsm2.so) for the tests
  # of keys held in a token (tests/integration/pkcs11.sh, test_p11).
  libp11-kit-dev softhsm2
  # The Debian package (scripts/package.sh), the man pages (help2man) and
  # their tests (man -l), the systemd unit's check (systemd-analyze).
  debhelper lintian help2man fakeroot man-db systemd
)
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "icx: installing missing packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "icx: error: packages are missing and this is not root; run as root or install: ${missing[*]}" >&2
    exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
