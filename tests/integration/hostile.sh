#!/usr/bin/env bash
# Hostile envelopes through the real transport.  Every case is made here
# from an envelope built and signed with `icx envelope build/sign` (JP-NPA's
# real key, or an attacker's), then changed the way an attacker would, or
# written whole; its bytes go into JP-NPA's outbox, so JP-NPA sends them to
# PH-NBI over ZeroMQ/CURVE like any other message (the sender does not
# verify its own outbox).  For each case, at the receiver PH-NBI:
#   - refused with the expected reason (docs/ERRORS.md);
#   - nothing stored as accepted;
#   - exactly one inbound.rejected audit record (found by the SHA-256 of
#     the bytes, which every record carries);
#   - a signed negative receipt goes back and JP-NPA's row ends 'refused'
#     with that reason: by MessageId when a valid one can be read, else
#     (none, or text that is not a UUID) by the digest of the bytes.
# Throughout the run a listener on 127.0.0.1 receives every http: URI of
# the hostile inputs and a canary file is the target of every file: URI;
# at the end the listener has seen no connection and the canary's token is
# in no store and no log.  Oversized, huge and zero-length messages, which
# the transport stops before the core, are checked for what really
# happens.  Last, a legitimate message is still delivered.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

H=$W/hostile
mkdir -p "$H"
jpdb=$W/JP-NPA/icx.db
phdb=$W/PH-NBI/icx.db
sql() { sqlite3 -cmd ".timeout 5000" "$@"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
PH_MAX=262144 # PH-NBI's limits.max_message_bytes (JP-NPA keeps 1 MiB)

# --- the listener and the canary -------------------------------------------
listener=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}/tests/icx_test_listen
"$listener" "$W/listen.port" "$W/listen.log" &
GW_PID[listener]=$! # stopped with the gateways
wait_for 5 test -s "$W/listen.port" || { bad "the test listener starts"; finish; exit 1; }
PORT=$(cat "$W/listen.port")
(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'probe' >&3) 2>/dev/null
check "the listener on 127.0.0.1:$PORT records connections" wait_for 5 grep -q probe "$W/listen.log"
: >"$W/listen.log"
TOKEN=ICX-CANARY-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$TOKEN" >"$W/canary.txt"
URL=http://127.0.0.1:$PORT
FILE=file://$W/canary.txt
export URL FILE

# --- gateways: JP-NPA listens, PH-NBI connects out; INT-ICPO is a known
# partner of PH-NBI whose key signs the "Sender is not the peer" case.
# Long retry intervals: a message nobody answers is not sent twice while
# the test looks at it.
export GW_RETRY_INITIAL=300 GW_RETRY_MAX=600
for id in JP-NPA PH-NBI INT-ICPO XX-EVIL; do gw_keys "$id"; done
gw_write JP-NPA yes false
gw_partner JP-NPA PH-NBI accept direct
gw_partner JP-NPA INT-ICPO accept direct
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write PH-NBI no false
printf 'limits:\n  max_message_bytes: %d\n' "$PH_MAX" >>"$W/PH-NBI/gateway.yaml"
gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
gw_partner PH-NBI INT-ICPO connect direct "tcp://127.0.0.1:1"
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }

m0=$(submit_sample JP-NPA PH-NBI)
check "a legitimate message is delivered before the hostile ones" wait_for 30 delivered JP-NPA "$m0"

# --- making the cases -------------------------------------------------------
# fresh NAME [FROM] [TO] [SIGNER] [build args...]: $H/NAME.xml, a signed
# envelope with a new MessageId ($H/NAME.u.xml is the unsigned one).
build() { # name from to [args...]
  local n=$1 from=$2 to=$3; shift 3
  "$icx" envelope build --from "$from" --to "$to" --category case-referral \
    --legal-basis "hostile $n" --retain-until 2031-12-31 "$@" -o "$H/$n.u.xml" \
    "$src/docs/samples/case-referral-payload.xml" 2>/dev/null
}
sign() { "$icx" envelope sign --key "$W/keys/${2:-JP-NPA}/key.pem" -o "$H/$1.xml" "$H/$1.u.xml"; }
fresh() { # name [from] [to] [signer]
  build "$1" "${2:-JP-NPA}" "${3:-PH-NBI}" && sign "$1" "${4:-${2:-JP-NPA}}"
}
# edit NAME PERL-CODE: rewrites $H/NAME.xml (whole file in $_, URL and FILE
# in %ENV); fails when the code changed nothing.
edit() {
  local before; before=$(sha256sum <"$H/$1.xml")
  perl -0777 -pi -e "$2" "$H/$1.xml"
  [[ $(sha256sum <"$H/$1.xml") != "$before" ]] || { echo "edit of $1 changed nothing"; return 1; }
}
msgid() { grep -o '<MessageId>[^<]*' "$1" | head -1 | cut -d'>' -f2; }
pem_body() { grep -v -- '-----' "$1" | tr -d '\n'; }

declare -a CASES=()
declare -A WANT=() HASID=() MID=()
# expect NAME REASON id|noid: registers $H/NAME.xml as a case.
expect() { CASES+=("$1"); WANT[$1]=$2; HASID[$1]=$3; }

SIG_END='</ds:Signature></Envelope>'
# Signature wrapping
fresh xsw-before
edit xsw-before 's#(<Header>.*?</Header>)#my $h=$1; (my $e=$h) =~ s/legalBasis="[^"]*"/legalBasis="evil"/; "$e$h"#se'
expect xsw-before SCHEMA id
fresh xsw-after
edit xsw-after 's#</Payload>#</Payload><Payload><Referral xmlns="urn:icx:case:1"><CaseReference>EVIL</CaseReference></Referral></Payload>#'
expect xsw-after SCHEMA id
fresh xsw-around
edit xsw-around 's#<Payload>(.*?)</Payload>#<Payload><Evil xmlns="urn:icx:evil">$1</Evil></Payload>#s'
expect xsw-around SCHEMA id
fresh xsw-root-wrapper
edit xsw-root-wrapper 's#(<Envelope .*</Envelope>)#<Wrapper xmlns="urn:icx:evil">$1</Wrapper>#s'
expect xsw-root-wrapper SIG_POSITION noid
fresh xsw-in-object
edit xsw-in-object 's#(<Header>.*</Payload>)(.*)</ds:Signature>#my ($o,$s)=($1,$2); (my $e=$o) =~ s/<Title>/<Title>EVIL /; "$e$s<ds:Object>$o</ds:Object></ds:Signature>"#se'
expect xsw-in-object SIG_OBJECT id
fresh xsw-in-wrapper
edit xsw-in-wrapper 's#(<Payload>.*</Payload>)#my $o=$1; (my $e=$o) =~ s/<Title>/<Title>EVIL /; "$e<Extensions>$o</Extensions>"#se'
expect xsw-in-wrapper SCHEMA id
fresh dup-id
edit dup-id 's#<Header>#<Header Id="h">#; s#<Payload>#<Payload Id="h">#'
expect dup-id SCHEMA id
fresh dup-id-reference
edit dup-id-reference 's#<Header>#<Header Id="h">#; s#<Payload>#<Payload Id="h">#; s#<ds:Reference URI="">#<ds:Reference URI="\#h">#'
expect dup-id-reference SIG_REFERENCE id
fresh dtd-id
edit dtd-id 's#^(<\?xml[^>]*>\n)#$1<!DOCTYPE Envelope [<!ATTLIST Header Id ID \#IMPLIED>]>\n#'
expect dtd-id DOCTYPE noid
fresh ns-ds-foreign
edit ns-ds-foreign 's#xmlns:ds="http://www.w3.org/2000/09/xmldsig\#"#xmlns:ds="http://www.w3.org/2000/09/xmldsig\#evil"#'
expect ns-ds-foreign SIG_MISSING id
fresh ns-header-foreign
edit ns-header-foreign 's#<Header>#<Header xmlns="urn:icx:evil">#'
expect ns-header-foreign SCHEMA noid
fresh ns-prefix
edit ns-prefix 's#<Envelope xmlns="urn:icx:envelope:1">#<Envelope xmlns="urn:icx:envelope:1" xmlns:e="urn:icx:envelope:1">#; s#<(/?)Header>#<$1e:Header>#g'
expect ns-prefix SIG_INVALID id

# Splitting signed values
fresh comment-split
edit comment-split 's#<Recipient>PH-NBI</Recipient>#<Recipient>PH-NBI<!---->X</Recipient>#'
expect comment-split FORBIDDEN_NODE noid
# Signed as PH-NBIX; the CDATA section keeps the signature valid, and a
# first-text-node reader would see PH-NBI.
fresh cdata-split JP-NPA PH-NBIX
edit cdata-split 's#<Recipient>PH-NBIX</Recipient>#<Recipient>PH-NBI<![CDATA[X]]></Recipient>#'
expect cdata-split WRONG_RECIPIENT id
fresh pi-in-text
edit pi-in-text 's#<Title>Online #<Title>Online <?evil split?>#'
expect pi-in-text FORBIDDEN_NODE noid
fresh two-signedinfo
edit two-signedinfo 's#(<ds:SignedInfo>.*?</ds:SignedInfo>)#$1\n$1#s'
expect two-signedinfo SIG_STRUCTURE id
fresh comment-digest
edit comment-digest 's#<ds:DigestValue>#<ds:DigestValue><!--AAAA-->#'
expect comment-digest FORBIDDEN_NODE noid

# Attacker keys in KeyInfo: signed with XX-EVIL's key, Sender JP-NPA.
fresh keyinfo-x509 JP-NPA PH-NBI XX-EVIL
EVIL_CERT=$(pem_body "$W/keys/XX-EVIL/cert.pem") edit keyinfo-x509 \
  's#</ds:SignatureValue>#</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>$ENV{EVIL_CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>#'
expect keyinfo-x509 SIG_INVALID id
fresh keyinfo-keyvalue JP-NPA PH-NBI XX-EVIL
EVIL_MOD=$(openssl rsa -in "$W/keys/XX-EVIL/key.pem" -noout -modulus | cut -d= -f2 |
           perl -ne 'chomp; print pack("H*", $_)' | base64 -w0) edit keyinfo-keyvalue \
  's#</ds:SignatureValue>#</ds:SignatureValue><ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>$ENV{EVIL_MOD}</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>#'
expect keyinfo-keyvalue SIG_KEYINFO id
for scheme in file http; do
  fresh "keyinfo-retrieval-$scheme" JP-NPA PH-NBI XX-EVIL
  [[ $scheme == file ]] && u=$FILE || u=$URL/retrieval
  U=$u edit "keyinfo-retrieval-$scheme" \
    's#</ds:SignatureValue>#</ds:SignatureValue><ds:KeyInfo><ds:RetrievalMethod URI="$ENV{U}" Type="http://www.w3.org/2000/09/xmldsig\#X509Data"/></ds:KeyInfo>#'
  expect "keyinfo-retrieval-$scheme" SIG_KEYINFO id
done

# References and manifests outside the document; transforms.
fresh reference-http
edit reference-http 's#<ds:Reference URI="">#<ds:Reference URI="$ENV{URL}/reference">#'
expect reference-http SIG_REFERENCE id
fresh reference-file
edit reference-file 's#<ds:Reference URI="">#<ds:Reference URI="$ENV{FILE}">#'
expect reference-file SIG_REFERENCE id
fresh manifest-http
edit manifest-http 's#</ds:SignatureValue>#</ds:SignatureValue><ds:Object><ds:Manifest><ds:Reference URI="$ENV{URL}/manifest"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc\#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference><ds:Reference URI="$ENV{FILE}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc\#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:Manifest></ds:Object>#'
expect manifest-http SIG_OBJECT id
fresh transform-xslt
edit transform-xslt 's#</ds:Transforms>#<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document(\x27$ENV{URL}/xslt\x27)"/><xsl:copy-of select="document(\x27$ENV{FILE}\x27)"/></xsl:template></xsl:stylesheet></ds:Transform></ds:Transforms>#'
expect transform-xslt SIG_TRANSFORM id
fresh transform-xpath
edit transform-xpath 's#</ds:Transforms>#<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::*)</ds:XPath></ds:Transform></ds:Transforms>#'
expect transform-xpath SIG_TRANSFORM id

# Weak and truncated algorithms.
fresh alg-rsa-sha1
edit alg-rsa-sha1 's#http://www.w3.org/2001/04/xmldsig-more\#rsa-sha256#http://www.w3.org/2000/09/xmldsig\#rsa-sha1#'
expect alg-rsa-sha1 SIG_ALGORITHM id
fresh alg-hmac-truncated
edit alg-hmac-truncated 's#<ds:SignatureMethod Algorithm="[^"]*"/>#<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more\#hmac-sha256"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>#'
expect alg-hmac-truncated SIG_ALGORITHM id
fresh digest-sha1
edit digest-sha1 's#http://www.w3.org/2001/04/xmlenc\#sha256#http://www.w3.org/2000/09/xmldsig\#sha1#'
expect digest-sha1 SIG_DIGEST_ALG id
fresh digest-md5
edit digest-md5 's#http://www.w3.org/2001/04/xmlenc\#sha256#http://www.w3.org/2001/04/xmldsig-more\#md5#'
expect digest-md5 SIG_DIGEST_ALG id

# DTDs, entities, XInclude.
doctype() { # name internal-subset-or-external-id [entity-use]
  fresh "$1"
  SUBSET=$2 USE=${3:-} edit "$1" 's#^(<\?xml[^>]*>\n)#$1<!DOCTYPE Envelope $ENV{SUBSET}>\n#; s#<Title>#<Title>$ENV{USE}#'
}
doctype xxe-file "[<!ENTITY x SYSTEM \"$FILE\">]" '&x;'
doctype xxe-http "[<!ENTITY x SYSTEM \"$URL/xxe\">]" '&x;'
doctype xxe-parameter "[<!ENTITY % p SYSTEM \"$URL/param\"> %p; <!ENTITY % f SYSTEM \"$FILE\">]"
doctype dtd-external "SYSTEM \"$URL/external.dtd\""
doctype billion-laughs "[<!ENTITY a \"lol\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]" '&i;'
doctype quadratic "[<!ENTITY q \"$(head -c 20000 /dev/zero | tr '\0' q)\">]" "$(for _ in $(seq 2000); do printf '&q;'; done)"
for c in xxe-file xxe-http xxe-parameter dtd-external billion-laughs quadratic; do expect "$c" DOCTYPE noid; done
for scheme in file http; do
  fresh "xinclude-$scheme"
  [[ $scheme == file ]] && u=$FILE || u=$URL/xinclude
  U=$u edit "xinclude-$scheme" 's#<Title>#<Title><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="$ENV{U}" parse="text"/>#'
  expect "xinclude-$scheme" FORBIDDEN_NODE noid
done

# Shapes and bytes.
{ printf '<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="urn:icx:envelope:1">'
  for _ in $(seq 20000); do printf '<a>'; done; } >"$H/deep.xml"
expect deep TOO_DEEP noid
# 65 attributes on one element: over limits.max_attributes_per_element,
# refused on the bytes before libxml2 checks them for duplicates.
fresh many-attributes
edit many-attributes 's#<Header>#"<Header" . join("", map { " a$_=\"\"" } 1..65) . ">"#e'
expect many-attributes PARSER_LIMIT noid
fresh utf16
iconv -f UTF-8 -t UTF-16 "$H/utf16.xml" | perl -0777 -pe 's/U\0T\0F\0-\x008\0/U\0T\0F\0-\x001\x006\0/' >"$H/utf16.tmp" && mv "$H/utf16.tmp" "$H/utf16.xml"
expect utf16 NOT_UTF8 noid
fresh bad-utf8
edit bad-utf8 's#<Title>#<Title>\xff\xfe#'
expect bad-utf8 NOT_UTF8 noid
fresh latin1
edit latin1 's#encoding="UTF-8"#encoding="ISO-8859-1"#'
expect latin1 NOT_UTF8 noid
# The same, with the encoding far from the start of the declaration: it is
# decided from the whole declaration, however long.
fresh latin1-late
edit latin1-late 's#encoding="UTF-8"#"\n" x 20 . " " x 5000 . q(encoding="ISO-8859-1")#e'
expect latin1-late NOT_UTF8 noid
{ printf '\xff'; head -c 3000 /dev/urandom; } >"$H/random-bytes.xml"
expect random-bytes NOT_UTF8 noid
head -c 3000 /dev/urandom | base64 -w 76 >"$H/random-text.xml"
expect random-text MALFORMED noid
fresh truncated
head -c 3000 "$H/truncated.xml" >"$H/truncated.tmp" && mv "$H/truncated.tmp" "$H/truncated.xml"
expect truncated MALFORMED noid
fresh ns-undeclared
edit ns-undeclared 's#<Header>#<Header u:a="1">#'
expect ns-undeclared MALFORMED noid

# Signature and semantics.
build unsigned JP-NPA PH-NBI && cp "$H/unsigned.u.xml" "$H/unsigned.xml"
expect unsigned SIG_MISSING id
fresh sig-not-last
edit sig-not-last 's#(<Payload>.*</Payload>)(<ds:Signature.*</ds:Signature>)#$2$1#s'
expect sig-not-last SIG_POSITION id
fresh tampered
edit tampered 's#<Title>#<Title>X#'
expect tampered SIG_INVALID id
build stale JP-NPA PH-NBI
sed -i "s#<Created>[^<]*#<Created>$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)#" "$H/stale.u.xml"; sign stale
expect stale CREATED_WINDOW id
build future JP-NPA PH-NBI
sed -i "s#<Created>[^<]*#<Created>$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)#" "$H/future.u.xml"; sign future
expect future CREATED_WINDOW id
build expired JP-NPA PH-NBI --expires-in 3600
sed -i "s#<Expires>[^<]*#<Expires>$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)#" "$H/expired.u.xml"; sign expired
expect expired EXPIRED id
fresh wrong-recipient JP-NPA INT-ICPO
expect wrong-recipient WRONG_RECIPIENT id
fresh unknown-sender XX-EVIL PH-NBI XX-EVIL
expect unknown-sender UNKNOWN_SENDER id
fresh sender-not-signer INT-ICPO PH-NBI JP-NPA
expect sender-not-signer SIG_INVALID id
fresh sender-not-peer INT-ICPO PH-NBI INT-ICPO
expect sender-not-peer SENDER_MISMATCH id
# A MessageId that is read but is not a UUID: no receipt may refer to it
# (RefToMessageId is a UUID), so the negative receipt carries the nil
# UUID and the digest, as for bytes with no readable MessageId.
for bad_id in "../../etc/passwd:badid-path" "not-a-uuid:badid-text" "x y:badid-space"; do
  c=${bad_id#*:}
  fresh "$c"
  ID=${bad_id%%:*} edit "$c" 's#<MessageId>[^<]*#<MessageId>$ENV{ID}#'
  expect "$c" SCHEMA noid
done

# Replay: m0's MessageId again, with other bytes.
build replay JP-NPA PH-NBI
sed -i "s#<MessageId>[^<]*#<MessageId>$m0#" "$H/replay.u.xml"; sign replay
expect replay REPLAY id

# Every case must exist before anything is sent.
for c in "${CASES[@]}"; do
  [[ -s $H/$c.xml ]] || bad "case $c was not made"
done

# --- delivery through JP-NPA's outbox ---------------------------------------
inject() { # file message-id
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then # PostgreSQL: lib/gateways.sh
    sql "$jpdb" "delete from receipts where message_id='$2'" &&
      outbox_inject JP-NPA "$2" PH-NBI PH-NBI case-referral "$1"
    return
  fi
  local sha; sha=$(sha256sum "$1" | cut -c1-64)
  sql "$jpdb" "delete from outbox_envelope where outbox_id in
      (select id from outbox where message_id='$2');
    delete from receipts where message_id='$2';
    delete from outbox where message_id='$2';
    insert into outbox (message_id, next_hop, recipient, sender, category, sha256,
      state, attempts, created_at, next_attempt_at, updated_at)
    values ('$2', 'PH-NBI', 'PH-NBI', 'JP-NPA', 'case-referral', '$sha', 'queued', 0,
      strftime('%s','now'), 0, strftime('%s','now'));
    insert into outbox_envelope (outbox_id, envelope)
      values (last_insert_rowid(), readfile('$1'));"
}
rejected_total() { sql "$phdb" "select count(*) from audit where event='inbound.rejected'"; }
rejections_of() { sql "$phdb" "select count(*) from audit where event='inbound.rejected' and detail like '%sha256=$1%'"; }
out_state() { sql "$jpdb" "select state || ' ' || coalesce(reason,'') from outbox where message_id='$1'"; }
stop_retries() { sql "$jpdb" "update outbox set state='failed', next_attempt_at=0 where message_id='$1' and state in ('queued','sent')"; }

before=$(rejected_total)
declare -A SHA=()
for c in "${CASES[@]}"; do
  SHA[$c]=$(sha256sum "$H/$c.xml" | cut -c1-64)
  if [[ ${HASID[$c]} == id ]]; then MID[$c]=$(msgid "$H/$c.xml"); else MID[$c]=$(uuid); fi
  inject "$H/$c.xml" "${MID[$c]}"
done
echo "# ${#CASES[@]} hostile envelopes queued at JP-NPA"

# Wait until each case has its audit record at PH-NBI (and, where a
# receipt is possible, its final state at JP-NPA).
declare -A SEEN=()
deadline=$((SECONDS + 120))
while ((${#SEEN[@]} < ${#CASES[@]} && SECONDS < deadline)); do
  for c in "${CASES[@]}"; do
    [[ -n ${SEEN[$c]:-} ]] && continue
    [[ $(rejections_of "${SHA[$c]}") -ge 1 ]] || continue
    # Every case is answered with a negative receipt: by MessageId where
    # one is readable, else by the digest of the bytes (nil MessageId).
    if [[ $(out_state "${MID[$c]}") == refused* ]]; then
      SEEN[$c]=1
    fi
  done
  sleep 0.3
done
sleep 2 # time for anything that should not happen (a second record, a retry)

for c in "${CASES[@]}"; do
  want=${WANT[$c]} sha=${SHA[$c]} mid=${MID[$c]}
  n=$(rejections_of "$sha")
  detail=$(sql "$phdb" "select detail from audit where event='inbound.rejected' and detail like '%sha256=$sha%'")
  if [[ $n -eq 1 && $detail == *"reason=$want"* ]]; then
    ok "$c: refused with $want, one audit record"
  else
    bad "$c: got $n inbound.rejected records (\"$detail\"), want one with reason=$want"
  fi
  accepted=$(sql "$phdb" "select count(*) from inbox where state='accepted' and (sha256='$sha' or message_id='$mid')")
  [[ $c == replay ]] && accepted=$(sql "$phdb" "select count(*) from inbox where state='accepted' and sha256='$sha'")
  check "$c: nothing stored as accepted" test "$accepted" -eq 0
  got=$(out_state "$mid")
  check "$c: negative receipt, JP-NPA's row is 'refused $want' (got '$got')" test "$got" = "refused $want"
done
check "no audit record beyond one per case" \
  test "$(($(rejected_total) - before))" -eq "${#CASES[@]}"
declare -A CLAIMED=([badid-path]=../../etc/passwd [badid-text]=not-a-uuid [badid-space]='x?y')
for c in badid-path badid-text badid-space; do
  check "$c: the audit record names no MessageId (the text read is not one)" \
    test "$(sql "$phdb" "select count(*) from audit where event='inbound.rejected' and detail like '%sha256=${SHA[$c]}%' and message_id = ''")" -eq 1
  check "$c: the record keeps the text, made safe, as claimed_message_id=${CLAIMED[$c]}" \
    test "$(sql "$phdb" "select count(*) from audit where event='inbound.rejected' and detail like '%sha256=${SHA[$c]} %' and detail like '% claimed_message_id=${CLAIMED[$c]}'")" -eq 1
done
check "replay: PH-NBI kept only the original" \
  test "$(sql "$phdb" "select count(*) from inbox where message_id='$m0'")" -eq 1

# The Sender is authentic (INT-ICPO's signature) but JP-NPA carried it:
# refused and stored as rejected; the negative receipt is addressed to the
# transport peer that carried it, JP-NPA, which settles its row (checked
# with the other cases above).
c=sender-not-peer
check "$c: stored as rejected at PH-NBI" \
  test "$(sql "$phdb" "select state || ' ' || reason from inbox where message_id='${MID[$c]}'")" = "rejected SENDER_MISMATCH"

# --- what the transport stops before the core -------------------------------
# Above PH-NBI's limit but within the 256 bytes of slack: read, then the
# frame check drops it (logged and audited as transport.dropped; no
# inbound.rejected record and no receipt: the core never sees it).
pad_to() { # name size: a valid envelope grown with spaces after the root
  fresh "$1"; head -c $(($2 - $(stat -c %s "$H/$1.xml"))) /dev/zero | tr '\0' ' ' >>"$H/$1.xml"
}
pad_to oversized $((PH_MAX + 100))
n0=$(rejected_total); big=$(msgid "$H/oversized.xml")
inject "$H/oversized.xml" "$big"
check "oversized (limit + 100 bytes): PH-NBI drops the frame and logs it" \
  wait_for 20 grep -q "event=zmq.frame_dropped.*bytes, limit $PH_MAX" "$W/PH-NBI/log"
stop_retries "$big"
check "oversized: nothing stored, no inbound.rejected record" bash -c \
  "[[ \$(sqlite3 '$phdb' \"select count(*) from inbox where message_id='$big'\") == 0 && $(rejected_total) == $n0 ]]"
check "oversized: the drop is audited (transport.dropped, partner JP-NPA)" wait_for 10 bash -c \
  "sqlite3 '$phdb' \"select count(*) from audit where event='transport.dropped' and partner='JP-NPA'\" | grep -qv '^0$'"
# Zero bytes: the sender's adapter refuses to send an empty body (REJECTED,
# never retried); PH-NBI's frame check would drop one (docs/WIRE.md).
: >"$H/empty.xml"
empty=$(uuid)
inject "$H/empty.xml" "$empty"
check "zero-length: JP-NPA's transport refuses to send it (row failed)" \
  wait_for 20 bash -c "[[ \$(sqlite3 '$jpdb' \"select state from outbox where message_id='$empty'\") == failed ]]"
check "zero-length: the failure is logged at JP-NPA" grep -q "event=outbound.failed.*message_id=$empty" "$W/JP-NPA/log"

# The connection survived the dropped frames: the daemon serves on.
check "PH-NBI is still running" kill -0 "${GW_PID[PH-NBI]}"
m9=$(submit_sample JP-NPA PH-NBI)
check "a legitimate message is still delivered after all of them" wait_for 30 delivered JP-NPA "$m9"

# Far above the limit: libzmq drops the connection as soon as it reads the
# frame length.  It treats that as a protocol error and ends the session
# instead of dialing again, so PH-NBI stays cut off from JP-NPA until the
# daemon restarts (docs/SECURITY.md, "Known limits").  Nothing reaches the
# core; the daemon keeps running.
pad_to huge $((3 * PH_MAX))
huge=$(msgid "$H/huge.xml")
downs=$(grep -c "event=zmq.peer_down partner=JP-NPA" "$W/PH-NBI/log")
inject "$H/huge.xml" "$huge"
check "huge (3 x limit): JP-NPA sent it" wait_for 20 bash -c "[[ \$(sqlite3 '$jpdb' \"select attempts from outbox where message_id='$huge'\") -ge 1 ]]"
stop_retries "$huge"
check "huge: PH-NBI drops the connection" wait_for 10 bash -c \
  "[[ \$(grep -c 'event=zmq.peer_down partner=JP-NPA' '$W/PH-NBI/log') -gt $downs ]]"
check "huge: nothing stored or audited at PH-NBI" bash -c \
  "[[ \$(sqlite3 '$phdb' \"select count(*) from inbox where message_id='$huge'\") == 0 && $(rejected_total) == $n0 ]]"
check "huge: PH-NBI is still running" kill -0 "${GW_PID[PH-NBI]}"
# libzmq ends a session for good after a frame over ZMQ_MAXMSGSIZE; the
# adapter rebuilds a dialing socket that stays down (ICX_ZMQ_REDIAL_MS).
ups=$(grep -c "event=zmq.peer_up partner=JP-NPA" "$W/PH-NBI/log")
check "huge: PH-NBI dials JP-NPA again by itself" \
  wait_for 30 bash -c "[[ \$(grep -c 'event=zmq.peer_up partner=JP-NPA' '$W/PH-NBI/log') -gt $ups ]]"
m10=$(submit_sample JP-NPA PH-NBI)
check "after the huge frame, a legitimate message is delivered" wait_for 30 delivered JP-NPA "$m10"

# --- afterwards --------------------------------------------------------------
check "nothing was fetched: the listener saw no connection" test ! -s "$W/listen.log"
for id in PH-NBI JP-NPA; do
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then
    # The whole database, its BYTEA columns as hex: neither form of the token.
    db=${GW_STORE_DB:-gw_db_${id//-/_}}
    check "no file was read: the canary token is not in $id's store" \
      bash -c "pg_dump -a '$ICX_TEST_STORE/${db,,}' >'$W/$id.dump' &&
        [[ -s '$W/$id.dump' ]] &&
        ! grep -aqi -e '$TOKEN' -e '$(printf %s "$TOKEN" | od -An -v -tx1 | tr -d ' \n')' '$W/$id.dump'"
  else
    check "no file was read: the canary token is not in $id's store" \
      bash -c "! sqlite3 '$W/$id/icx.db' .dump | grep -aq '$TOKEN'"
  fi
  check "no file was read: the canary token is not in $id's log" bash -c "! grep -aq '$TOKEN' '$W/$id/log'"
done
check "PH-NBI's audit chain verifies" "$icx" audit verify -c "$W/PH-NBI/gateway.yaml"
finish
