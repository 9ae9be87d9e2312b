#!/usr/bin/env bash
# The dashboard off loopback: TLS with required client certificates
# (http.tls_certificate, http.tls_key, http.client_ca).  Bound to 0.0.0.0,
# it answers curl presenting a certificate issued by the client CA, and
# refuses curl without a certificate, with one from another CA, and plain
# HTTP.  A key file others may read is refused at start.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

command -v curl >/dev/null || { echo "curl is absent (scripts/deps.sh installs it)"; exit 77; }
command -v openssl >/dev/null || { echo "openssl is absent"; exit 77; }

T=$W/tls; mkdir -p "$T"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null && chmod 600 "$1"; }
ca() { # name
  ec "$T/$1.key"
  openssl req -x509 -new -key "$T/$1.key" -subj "/CN=$1" -days 30 -sha256 \
    -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign \
    -out "$T/$1.pem" 2>/dev/null
}
leaf() { # name, ca, extension lines
  ec "$T/$1.key"
  openssl req -new -key "$T/$1.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$T/$1.ext"
  openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
ca server-ca; ca client-ca; ca other-ca
leaf server server-ca 'subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth'
leaf officer client-ca 'extendedKeyUsage=clientAuth'
leaf intruder other-ca 'extendedKeyUsage=clientAuth'
check "test certificates made" test -s "$T/server.pem" -a -s "$T/officer.pem" -a -s "$T/intruder.pem"

for id in JP-NPA PH-NBI; do gw_keys "$id"; done
gw_write JP-NPA yes false JP-NPA
gw_partner JP-NPA PH-NBI accept direct
gw_http JP-NPA "tls_certificate: $T/server.pem" "tls_key: $T/server.key" "tls_client_ca: $T/client-ca.pem"
sed -i 's/^  tls_client_ca:/  client_ca:/; s/^  address: 127.0.0.1/  address: 0.0.0.0/' "$W/JP-NPA/gateway.yaml"
check "config check accepts 0.0.0.0 with TLS and a client CA" "$icx" config check -c "$W/JP-NPA/gateway.yaml"

# A key others may read: refused at start, nothing served.
chmod 644 "$T/server.key"
out=$("$icx" config check -c "$W/JP-NPA/gateway.yaml" 2>&1)
if grep -q 'http.tls_key' <<<"$out"; then ok "a world-readable TLS key is refused, naming http.tls_key"
else bad "a world-readable TLS key is refused: got \"$out\""; fi
chmod 600 "$T/server.key"

gw_start JP-NPA || { bad "JP-NPA starts with TLS on 0.0.0.0"; finish; exit 1; }
u=$(gw_url JP-NPA)
check "the URL is https" grep -qE '^https://0\.0\.0\.0:[0-9]+/$' "$W/JP-NPA/http-url"
port=${u##*:}; port=${port%/}
url=https://127.0.0.1:$port
check "the log says client certificates are required" grep -q 'web.listening url=https://0.0.0.0:.* tls=client-certificates' "$W/JP-NPA/log"
gw_write PH-NBI no false PH-NBI
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
m1=$(submit_sample JP-NPA PH-NBI)
check "a message is delivered" wait_for 20 delivered JP-NPA "$m1"

get() { # curl args... -> http code (000 when the handshake fails)
  curl -s -o "$W/body" -w '%{http_code}' --max-time 10 --cacert "$T/server-ca.pem" "$@"
}
code=$(get --cert "$T/officer.pem" --key "$T/officer.key" "$url/messages")
check "with a client certificate from client_ca: 200" test "$code" = 200
check "and the page names the message" grep -qF "$m1" "$W/body"
code=$(get --cert "$T/officer.pem" --key "$T/officer.key" "$url/metrics")
check "/metrics over TLS: 200" test "$code" = 200
check "/metrics over TLS passes the parser" python3 "$src/tests/integration/tools/openmetrics_check.py" "$W/body"
code=$(get "$url/messages")
check "without a client certificate: refused (got $code)" test "$code" = 403 -o "$code" = 000
check "and nothing of the store is sent" bash -c "! grep -qF '$m1' '$W/body'"
code=$(get --cert "$T/intruder.pem" --key "$T/intruder.key" "$url/messages")
check "with a certificate from another CA: refused (got $code)" test "$code" = 403 -o "$code" = 000
check "and nothing of the store is sent" bash -c "! grep -qF '$m1' '$W/body'"
code=$(curl -s -o "$W/body" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/messages")
check "plain HTTP on the TLS port gets no page (got $code)" bash -c "[[ '$code' != 200 ]] && ! grep -qF '$m1' '$W/body'"
code=$(get --cert "$T/officer.pem" --key "$T/officer.key" -X POST "$url/messages")
check "TLS does not make it writable: POST is 405" test "$code" = 405
check "the daemon still serves its CLI" icx_at JP-NPA partners

finish
