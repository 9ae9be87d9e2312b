#!/usr/bin/env bash
# Makes a test Time-Stamping Authority in folder $1 with openssl alone: a
# CA (ca.pem) and a TSA key and certificate it issued (tsa.key, tsa.pem,
# extendedKeyUsage critical timeStamping), the `openssl ts -reply`
# configuration tsa.cnf (policy 1.2.3.4.1, others 1.2.3.4.5); and a second,
# unrelated CA and TSA (other-ca.pem, other.cnf) for the wrong-CA cases.
# Used by tests/unit/tsa/test_tsq.c and tsa_server.py's tests.
set -euo pipefail
dir=${1:?usage: tsa_make.sh DIR}
mkdir -p "$dir"
cd "$dir"
dir=$(pwd)
make_one() { # prefix, configuration file
  local p=$1 cnf=$2
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "${p}ca.key" \
    -out "${p}ca.pem" -days 3650 -subj "/CN=ICX test ${p}TSA CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "${p}tsa.key" \
    -out "${p}tsa.csr" -subj "/CN=ICX test ${p}TSA" 2>/dev/null
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=critical,timeStamping' > "${p}tsa.ext"
  openssl x509 -req -in "${p}tsa.csr" -CA "${p}ca.pem" -CAkey "${p}ca.key" \
    -CAcreateserial -days 3650 -extfile "${p}tsa.ext" -out "${p}tsa.pem" \
    2>/dev/null
  chmod 600 "${p}ca.key" "${p}tsa.key"
  echo 01 > "${p}serial"
  cat > "$cnf" <<CNF
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = $dir
serial = \$dir/${p}serial
crypto_device = builtin
signer_cert = \$dir/${p}tsa.pem
certs = \$dir/${p}tsa.pem
signer_key = \$dir/${p}tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
}
make_one "" tsa.cnf
make_one other- other.cnf
