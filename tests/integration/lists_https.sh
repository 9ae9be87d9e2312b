#!/usr/bin/env bash
# A partner without ICX pulls a list over HTTPS exactly as docs/PARTNERS.md
# tells it: the blocks ```sh partner-keys```, ```sh partner-list-pull``` and
# ```sh partner-list-poll``` are extracted and run as they are, with only
# curl, xmlsec1, sha256sum and shell, against JP-NPA's lists.  A snapshot
# first, then deltas, a copy too far behind for the kept deltas (a
# snapshot), a damaged copy caught by the digest of the whole list, ETag
# and If-None-Match; the lists are for their partners only; and the pages
# are the ZeroMQ pull's: SG-SPF, a partner running ICX, pulls with `icx
# pull` through two real gateways, and the Payload of every envelope it
# received is byte for byte the Payload of the HTTPS page for it.
#
# The server is whatever lists_serve_start starts: by default the test
# tool tests/integration/tools/lists_https_shim.py (TLS with client
# certificates, `icx lists http-get` per request); lists_https_serve.sh
# runs it against `icx serve` itself (lib/lists_https_serve.sh).  To test
# another server, set ICX_LISTS_HTTPS_SERVER to a file that
# defines lists_serve_start and lists_serve_stop: lists_serve_start gets
# JP-NPA's gateway.yaml, the server's certificate and key, and the bundle
# of the partners' certificates to require from clients, and sets BASE to
# the URL under which LIST/notification.xml is served.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"
for tool in xmlsec1 curl openssl python3; do
  command -v $tool >/dev/null || { echo "$tool missing (scripts/deps.sh installs it)"; exit 1; }
done

SHIM_PID=
lists_serve_start() { # gateway.yaml cert key client-ca
  rm -f "$W/shim.port"
  python3 "$src/tests/integration/tools/lists_https_shim.py" "$icx" "$1" "$2" "$3" "$4" \
    "$W/shim.port" 2>"$W/shim.log" &
  SHIM_PID=$!
  wait_for 20 test -s "$W/shim.port" || return 1
  BASE=https://127.0.0.1:$(cat "$W/shim.port")/lists
}
lists_serve_stop() { [[ -z $SHIM_PID ]] || { kill "$SHIM_PID" 2>/dev/null; wait "$SHIM_PID" 2>/dev/null; }; }
[[ -n "${ICX_LISTS_HTTPS_SERVER:-}" ]] && . "$ICX_LISTS_HTTPS_SERVER"

block() { sed -n "/^\`\`\`sh $1\$/,/^\`\`\`\$/{//!p}" "$src/docs/PARTNERS.md"; }
for b in partner-keys partner-list-pull partner-list-poll; do block $b >"$W/$b.sh"; done
check "the documented steps are in docs/PARTNERS.md" \
  test -s "$W/partner-keys.sh" -a -s "$W/partner-list-pull.sh" -a -s "$W/partner-list-poll.sh"
check "the partner's steps use no ICX program" \
  bash -c "! grep -qE '(^|[[:space:];|&(])icx[[:space:]]' '$W/partner-list-pull.sh' '$W/partner-list-poll.sh'"

hashes() { # from to: canonical lines of fictional hashes
  python3 -c 'import hashlib, sys
sys.stdout.write("".join("sha256:%s\n" % hashlib.sha256(b"h-%d" % i).hexdigest() for i in range(int(sys.argv[1]), int(sys.argv[2]))))' "$1" "$2"
}

# The partner (PH-NBI): its key and certificate, made with the documented step.
P=$W/partner
mkdir -p "$P" "$W/to-ph" "$W/from-ph"
check "partner-keys runs" bash -c "cd '$P' && bash '$W/partner-keys.sh' >/dev/null 2>&1"

# JP-NPA publishes csam-hashes to PH-NBI; KR-KNPA is a partner the list is not for.
gw_keys JP-NPA
gw_keys KR-KNPA
gw_keys SG-SPF
gw_write JP-NPA yes false JP-NPA
JP=$W/JP-NPA/gateway.yaml
GW_PEER_CERT=$P/ph-cert.pem gw_partner_filedrop JP-NPA PH-NBI direct "$W/to-ph" "$W/from-ph"
mkdir -p "$W/to-kr" "$W/from-kr"
gw_partner_filedrop JP-NPA KR-KNPA direct "$W/to-kr" "$W/from-kr"
gw_partner JP-NPA SG-SPF accept direct
sed -i 's/^categories_in: \[\(.*\)\]/categories_in: [\1, list-sync-request]/' "$W/JP-NPA/partners/sg-spf.yaml"
for f in ph-nbi kr-knpa sg-spf; do
  sed -i 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-update]/' "$W/JP-NPA/partners/$f.yaml"
  echo "lists: [csam-hashes]" >>"$W/JP-NPA/partners/$f.yaml"
done
cat >"$W/JP-NPA/lists.yaml" <<'EOF'
lists:
  - id: csam-hashes
    kind: hash
    allow: [PH-NBI, SG-SPF]
    page_entries: 100
    keep_serials: 3
EOF
hashes 0 250 >"$W/h1.txt"
check "serial 1: 250 entries" bash -c "'$icx' lists import csam-hashes '$W/h1.txt' -c '$JP' | grep -q 'serial 1 .*250 added'"

# The HTTPS server: its own certificate (for 127.0.0.1), the partners'
# certificates as the client certificates it accepts.
openssl req -x509 -newkey rsa:2048 -sha256 -days 2 -nodes -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$W/https-key.pem" -out "$W/https-cert.pem" \
  >/dev/null 2>&1
chmod 600 "$W/https-key.pem"
cat "$P/ph-cert.pem" "$W/keys/KR-KNPA/cert.pem" "$W/keys/SG-SPF/cert.pem" >"$W/clients.pem"
lists_serve_start "$JP" "$W/https-cert.pem" "$W/https-key.pem" "$W/clients.pem" ||
  { bad "the HTTPS server starts"; finish; exit 1; }
trap 'lists_serve_stop; gw_cleanup' EXIT
ok "the HTTPS server starts ($BASE)"

# The partner's steps, with the settings of the documented tables.
run() { # block
  (cd "$P" && ME=PH-NBI PEER=JP-NPA PEER_CERT=$W/keys/JP-NPA/cert.pem WORK=$(mktemp -d "$W/work-XXXX") \
     BASE=$BASE LIST=csam-hashes TLS_CA=$W/https-cert.pem CERT=$P/ph-cert.pem KEY=$P/ph-key.pem \
     STATE=$P/state bash "$W/$1.sh") >"$W/$1.log" 2>&1
}
said() { grep -q "$1" "$W/$2.log"; }
fails() { ! "$@"; }
export_digest() { "$icx" lists export csam-hashes -c "$JP" | LC_ALL=C sort | sha256sum | cut -c 1-64; }
same_as_gateway() { [[ $(sha256sum <"$P/state/list.txt" | cut -c 1-64) == $(export_digest) ]]; }

# 1. First pull: the snapshot, three pages of 100.
check "partner-list-pull runs" run partner-list-pull
check "it took the snapshot and verified the digest" said "serial 1, 250 entries, digest .* verified (snapshot)" partner-list-pull
check "the partner's copy is the gateway's list" same_as_gateway
check "the pages it verified were signed for PH-NBI" \
  bash -c "grep -q '<Recipient>PH-NBI</Recipient>' '$W'/work-*/page.xml"

# 2. ETag: the notification is unchanged until the list changes.
check "partner-list-poll: first time, changed" run partner-list-poll
check "it says so" said "changed, pull it" partner-list-poll
check "partner-list-poll again: 304 not modified" run partner-list-poll
check "it says so" said "not modified" partner-list-poll

# 3. Two new serials: the pull takes both deltas.
{ hashes 20 250; hashes 1000 1030; } >"$W/h2.txt"
{ hashes 20 250; hashes 1000 1035; } >"$W/h3.txt"
"$icx" lists import csam-hashes "$W/h2.txt" -c "$JP" >/dev/null
"$icx" lists import csam-hashes "$W/h3.txt" -c "$JP" >/dev/null
check "partner-list-poll: changed after an import" run partner-list-poll
check "it says so" said "changed, pull it" partner-list-poll
check "partner-list-pull runs again" run partner-list-pull
check "it applied the deltas and verified the digest" said "serial 3, 265 entries, digest .* verified (delta)" partner-list-pull
check "the partner's copy is the gateway's list" same_as_gateway
check "partner-list-pull with nothing new" run partner-list-pull
check "it verified the same list again" said "serial 3, 265 entries" partner-list-pull

# 4. A damaged copy: the digest of the whole list catches it, nothing is
# kept, and the next pull repairs it with the snapshot.
sed -i 1d "$P/state/list.txt"
echo 2 >"$P/state/serial"
cp "$P/state/list.txt" "$W/damaged.txt"
check "a pull over a damaged copy fails" fails run partner-list-pull
check "because of the digest of the whole list" said "digest of the whole list is not the notification's" partner-list-pull
check "the damaged copy was not replaced" cmp -s "$P/state/list.txt" "$W/damaged.txt"
check "the next pull takes the snapshot" run partner-list-pull
check "and verifies it" said "serial 3, 265 entries, digest .* verified (snapshot)" partner-list-pull
check "the partner's copy is the gateway's list again" same_as_gateway

# 5. A copy older than the deltas kept (keep_serials 3) takes the snapshot.
for n in 4 5 6 7; do
  { hashes 20 250; hashes 1000 $((1035 + n)); } >"$W/h$n.txt"
  "$icx" lists import csam-hashes "$W/h$n.txt" -c "$JP" >/dev/null
done
check "after four serials more: a pull" run partner-list-pull
check "serial 3 is older than the deltas kept: snapshot" said "serial 7, 272 entries, digest .* verified (snapshot)" partner-list-pull
check "the partner's copy is the gateway's list" same_as_gateway

# 6. For partners only.
code() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$W/https-cert.pem" "$@" 2>/dev/null; }
check "no client certificate: no list" test "$(code "$BASE/csam-hashes/notification.xml")" != 200
check "KR-KNPA (a partner the list is not for): 404" \
  test "$(code --cert "$W/keys/KR-KNPA/cert.pem" --key "$W/keys/KR-KNPA/key.pem" "$BASE/csam-hashes/notification.xml")" = 404
check "PH-NBI, a list that does not exist: 404" \
  test "$(code --cert "$P/ph-cert.pem" --key "$P/ph-key.pem" "$BASE/restricted/notification.xml")" = 404
check "PH-NBI, the notification: 200" \
  test "$(code --cert "$P/ph-cert.pem" --key "$P/ph-key.pem" "$BASE/csam-hashes/notification.xml")" = 200
audited() { sqlite3 "$W/JP-NPA/icx.db" "select count(*) from audit where event='$1' and partner='$2' $3"; }
check "every document sent to PH-NBI is in JP-NPA's audit log, with its MessageId" \
  test "$(audited list.http.served PH-NBI "and message_id is not null and detail like 'list=csam-hashes doc=% sha256=%'")" -ge 20
check "KR-KNPA's refusal too" test "$(audited list.http.refused KR-KNPA "and detail = 'list=csam-hashes reason=not-authorized'")" -ge 1
check "the audit chain verifies" "$icx" audit verify -c "$JP"

# 7. The same pages as the ZeroMQ pull.  SG-SPF runs ICX and pulls with
# `icx pull` (a snapshot of serial 7, then the delta of serial 8); over
# HTTPS, with its certificate, the same positions.
# (the server may be JP-NPA's own daemon: lib/lists_https_serve.sh)
[[ -n ${GW_PID[JP-NPA]:-} ]] || gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
gw_write SG-SPF no false SG-SPF
gw_partner SG-SPF JP-NPA connect direct "$(gw_endpoint JP-NPA)"
sed -i -e 's/^categories_in: \[\(.*\)\]/categories_in: [\1, list-update]/' \
       -e 's/^categories_out: \[\(.*\)\]/categories_out: [\1, list-sync-request]/' "$W/SG-SPF/partners/jp-npa.yaml"
gw_start SG-SPF || { bad "SG-SPF starts"; finish; exit 1; }
SG=$W/SG-SPF/gateway.yaml
sg_get() { curl -fsS --cacert "$W/https-cert.pem" --cert "$W/keys/SG-SPF/cert.pem" \
             --key "$W/keys/SG-SPF/key.pem" "$BASE/csam-hashes/$1"; }
payload() { sed -n 's/.*\(<Payload>.*<\/Payload>\).*/\1/p'; }
# The Payloads SG-SPF received (list-update, in order) against the HTTPS
# pages KIND of SERIAL, named by the notification.
same_pages() { # kind serial first-inbox-row
  local n=0 uri
  sg_get notification.xml >"$W/sg-note.xml" || return 1
  for uri in $(grep -o "uri=\"[^\"]*/$2/$1-[0-9]*\.xml\"" "$W/sg-note.xml" | cut -d '"' -f 2); do
    sg_get "$uri" | payload >"$W/https.payload" || return 1
    sqlite3 "$W/SG-SPF/icx.db" "select envelope from inbox where category='list-update' and sender='JP-NPA' order by id limit 1 offset $(($3 + n))" |
      payload >"$W/zmq.payload"
    [[ -s $W/https.payload ]] && cmp -s "$W/https.payload" "$W/zmq.payload" || { echo "page $uri differs"; return 1; }
    n=$((n + 1))
  done
  [[ $n -ge 1 ]] && echo "$n pages"
}
check "icx pull: SG-SPF takes the snapshot of serial 7 over ZeroMQ" \
  bash -c "'$icx' pull JP-NPA csam-hashes -c '$SG' --wait 60 | grep -q 'serial 7'"
check "its 3 snapshot pages are the HTTPS snapshot pages, Payload for Payload" \
  bash -c "$(declare -f sg_get payload same_pages); W='$W' BASE='$BASE'; same_pages snapshot 7 0 | grep -q '^3 pages'"
{ hashes 20 250; hashes 1000 1050; } >"$W/h8.txt"
"$icx" lists import csam-hashes "$W/h8.txt" -c "$JP" >/dev/null
check "icx pull: SG-SPF takes the delta of serial 8" \
  bash -c "'$icx' pull JP-NPA csam-hashes -c '$SG' --wait 60 | grep -q 'serial 8'"
check "its page is the HTTPS delta page of serial 8, Payload for Payload" \
  bash -c "$(declare -f sg_get payload same_pages); W='$W' BASE='$BASE'; same_pages delta 8 3 | grep -q '^1 pages'"
# What the chosen server alone can show (lib/lists_https_serve.sh).
if declare -F lists_serve_more >/dev/null; then lists_serve_more; fi
finish
