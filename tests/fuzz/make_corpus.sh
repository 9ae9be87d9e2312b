#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ and the certificate in
# tests/fuzz/keys/.  Run it from a normal build:
#   ICX_BIN=build/gateway/cli/icx bash tests/fuzz/make_corpus.sh
# A fresh JP-NPA key signs the envelope and receipt seeds; only its
# certificate is kept (fuzz_envelope_verify trusts it); the private key is
# deleted with the temporary folder.  Created is pinned to
# 2025-01-01T00:00:00Z, the clock of fuzz_envelope_verify.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
icx=${ICX_BIN:?set ICX_BIN to the icx program of a normal build}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
c=$here/corpus
rm -rf "$c"; mkdir -p "$c"/{envelope_verify,receipt,csv,config,frame,list_sync} "$here/keys"

"$icx" keys gen JP-NPA --out "$t/jp" >/dev/null
cp "$t/jp/cert.pem" "$here/keys/jp-npa-cert.pem"
created=2025-01-01T00:00:00Z

# envelope FROM TO CATEGORY PAYLOAD OUT [MESSAGE-ID]: built, Created pinned, signed.
envelope() {
  "$icx" envelope build --from "$1" --to "$2" --category "$3" --legal-basis "fuzz seed" \
    --retain-until 2031-12-31 -o "$t/u.xml" "$4"
  sed -i "s#<Created>[^<]*</Created>#<Created>$created</Created>#" "$t/u.xml"
  [[ -n "${6:-}" ]] && sed -i "s#<MessageId>[^<]*</MessageId>#<MessageId>$6</MessageId>#" "$t/u.xml"
  "$icx" envelope sign --key "$t/jp/key.pem" -o "$5" "$t/u.xml"
}

# --- envelope_verify: the accepted path and one step off it each way.
e=$c/envelope_verify
envelope JP-NPA PH-NBI case-referral "$src/docs/samples/case-referral-payload.xml" "$e/valid.xml"
cp "$t/u.xml" "$e/unsigned.xml"
envelope JP-NPA INT-ICPO case-referral "$src/docs/samples/case-referral-payload.xml" "$e/wrong-recipient.xml"
sed 's#<Title>#<Title>X#' "$e/valid.xml" >"$e/tampered.xml"
sed 's#<Title>#<Title><!---->#' "$e/valid.xml" >"$e/comment.xml"
sed 's#</ds:SignedInfo>#</ds:SignedInfo><ds:Object>x</ds:Object>#' "$e/valid.xml" >"$e/object.xml"
{ printf '<?xml version="1.0"?>\n<!DOCTYPE Envelope [<!ENTITY a "aaaa">]>\n'; tail -n +2 "$e/valid.xml"; } >"$e/doctype.xml"
printf '<Envelope xmlns="urn:icx:envelope:1"><Header/></Envelope>' >"$e/minimal.xml"

# --- receipt: signed receipt envelopes as the daemon writes them.
r=$c/receipt
mid=$(grep -o '<MessageId>[^<]*' "$e/valid.xml" | cut -d'>' -f2)
sha=$(sha256sum "$e/valid.xml" | cut -c1-64)
rcpt() { # status [reason]
  {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<Receipt xmlns="urn:icx:receipt:1">'
    printf '<Status>%s</Status><RefToMessageId>%s</RefToMessageId>' "$1" "$mid"
    printf '<RefSender>JP-NPA</RefSender><MessageDigest algorithm="sha256">%s</MessageDigest>' "$sha"
    printf '<ReceivedAt>2025-01-01T00:00:01Z</ReceivedAt>'
    [[ -n "${2:-}" ]] && printf '<Reason code="%s">signature does not verify</Reason>' "$2"
    [[ -n "${3:-}" ]] && printf '<Hop>%s</Hop>' "$3"
    printf '</Receipt>\n'
  } >"$t/r.xml"
}
rcpt positive; envelope JP-NPA PH-NBI receipt "$t/r.xml" "$r/positive.xml"
rcpt negative SIG_INVALID; envelope JP-NPA PH-NBI receipt "$t/r.xml" "$r/negative.xml"
rcpt positive "" INT-ICPO; envelope JP-NPA PH-NBI receipt "$t/r.xml" "$r/hop.xml"
sed 's#<Reason code="SIG_INVALID">[^<]*</Reason>##' "$r/negative.xml" >"$r/negative-no-reason.xml"
cp "$e/valid.xml" "$r/not-a-receipt.xml"

# --- csv: the shapes of the domestic exports.
v=$c/csv
printf 'case_id,name,date\r\nJP-1,"Kakuu, Taro",R8.10.14\r\nJP-2,"two\nlines","a ""quote"""\r\n' >"$v/quoted.csv"
printf '\xef\xbb\xbfa,b\n1,2\n\n3,4' >"$v/bom.csv"
printf 'a,b\r1,2\r' >"$v/cr.csv"
printf 'a,"unterminated\n1,2\n' >"$v/unterminated.csv"
printf '\x8b\xf3\x8b\x8b,\x91\xbe\x98\x59\n1,2\n' >"$v/cp932.csv"
cp "$src/tests/data/translate/cases.csv" "$v/cases.csv"

# --- config: gateway.yaml, then "#--partner--" and partners/p.yaml; the
# keys/ folder is made by fuzz_config itself.
g=$c/config
gw='id: PH-NBI
keys:
  private_key: keys/key.pem
  certificate: keys/cert.pem
  curve_secret: keys/curve.key
store:
  path: icx.db
endpoints:
  control: icx.sock
routing:
  hub: INT-ICPO
  relay: false
limits:
  max_message_bytes: 65536
policy:
  created_past_seconds: 900
workers: 2
log_level: info'
partner='id: JP-NPA
certificate: ../keys/cert.pem
adapter: zmq
zmq:
  endpoint: tcp://127.0.0.1:7000
  direction: connect
  curve_public_key: "0000000000000000000000000000000000000000"
route: direct
categories_in: [case-referral, receipt]
categories_out: [case-referral, receipt]
max_tlp: AMBER
max_handling: H2
retry:
  initial_seconds: 1
  max_seconds: 2'
printf '%s\n' "$gw" >"$g/gateway.yaml"
printf '%s\n#--partner--\n%s\n' "$gw" "$partner" >"$g/with-partner.yaml"
printf 'id: &a PH-NBI\nhub: *a\n' >"$g/anchor.yaml"
printf 'id: [1, 2]\nworkers: many\nunknown_key: {a: b}\n' >"$g/types.yaml"
printf 'id: "PH-NBI\n' >"$g/unterminated.yaml"

# --- list_sync: the schema examples (payloads) and one signed envelope.
l=$c/list_sync
cp "$src"/schemas/examples/valid/list-*.xml "$l/"
"$icx" envelope build --from JP-NPA --to PH-NBI --category list-sync-request \
  --legal-basis "fuzz seed" --retain-until 2031-12-31 -o "$t/u.xml" \
  "$src/schemas/examples/valid/list-sync-request-cursor.xml"
"$icx" envelope sign --key "$t/jp/key.pem" -o "$l/envelope-sync-request.xml" "$t/u.xml"

# --- frame: 8-byte header, then the body.
f=$c/frame
printf 'ICX\x01\x02\x00\x00\x00<Envelope/>' >"$f/envelope"
printf 'ICX\x01\x01\x00\x00\x00JP-NPA' >"$f/hello"
printf 'ICX\x01\x03\x00\x00\x00<Envelope/>' >"$f/receipt"
printf 'ICX\x02\x02\x00\x00\x00x' >"$f/version2"
printf 'ICX\x01\x02\x01\x00\x00x' >"$f/flags"
printf 'ICX\x01\x02\x00\x00\x00' >"$f/empty-body"
printf 'XYZ\x01' >"$f/short"
echo "corpora written under $c"
