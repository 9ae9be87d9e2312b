#!/usr/bin/env bash
# The ICX demo: installs what is missing, builds, then shows the main path
# with the commands an operator types: keys, an envelope built, signed,
# verified and tampered with; three real gateways (`icx serve`) on
# 127.0.0.1 with the configuration it writes; deliveries direct and via
# the hub; a domestic CSV translated; a blocking list pulled; a survey
# answered and compiled; JP-NPA's dashboard and /metrics over TLS with an
# officer's client certificate; the list pulled over HTTPS by a partner
# with curl, xmlsec1 and sha256sum alone; the gateways stopped and the
# audit log checked.
#
# Usage: bash scripts/demo.sh                  install, build, run in demo/
#        bash scripts/demo.sh --no-build [--dir DIR]
#   --no-build  skip deps.sh and the build; run $ICX_BIN (default
#               build/gateway/cli/icx)
#   --dir DIR   work in DIR (made; must not exist yet) instead of demo/,
#               which is removed and remade on each run
# Exit code 0 when every step showed what it should, else 1 (the failing
# step is named; the gateways' logs are in DIR/gateways/ID/log).
set -Eeuo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

build=1
work=
while (($#)); do
  case $1 in
    --no-build) build=0 ;;
    --dir) work=${2:?--dir needs a folder}; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bash scripts/demo.sh [--no-build] [--dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

if [[ -z $work ]]; then
  work=$top/demo
  rm -rf "$work"
elif [[ -e $work ]]; then
  echo "demo: $work exists; give --dir a folder that does not exist yet" >&2
  exit 2
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)

# Bold headings on a terminal; plain text in a file, a pipe or a dumb TERM.
if [[ -t 1 && ${TERM:-dumb} != dumb ]]; then bold=$'\e[1m' plain=$'\e[0m'
else bold='' plain=''; fi
current='starting'
step() { current=$*; printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$*"; }
# The demo's own complaints go to stderr (fd 3 once the commands' stderr
# joins stdout, below).
exec 3>&2
fail() { echo "demo: $*" >&3; exit 1; }

# The command line as one would type it: icx for the binary, quotes only
# where the shell needs them.
cmdline() {
  local out='' a
  for a in "$@"; do
    [[ $a == "$icx" ]] && a=icx
    if [[ $a =~ ^[][A-Za-z0-9_./:=,@+%-]+$ ]]; then out+=" $a"
    else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '$%s\n' "$out"
}
run() { cmdline "$@"; "$@"; }
# A line of shell shown as it is (a loop, a pipe), with icx for the binary.
shell_line() { printf '$ %s\n' "${1//"$icx"/icx}"; }

if ((build)); then
  bash "$top/scripts/deps.sh"
  icx=$top/build/gateway/cli/icx
  say "building ICX into build/ (first time: about a minute; output in ${work#"$top"/}/build.log)..."
  if ! bash "$top/scripts/build.sh" >"$work/build.log" 2>&1; then
    echo "demo: the build failed; the end of $work/build.log:" >&2
    tail -n 30 "$work/build.log" >&2
    exit 1
  fi
  say "built $icx"
else
  icx=${ICX_BIN:-$top/build/gateway/cli/icx}
fi
[[ -x $icx ]] || fail "no icx program at $icx (build it, or set ICX_BIN)"

# Every daemon started is stopped on the way out, whatever happened.
declare -A PID=()
stop_all() {
  local id n
  for id in "${!PID[@]}"; do kill -TERM "${PID[$id]}" 2>/dev/null || true; done
  for ((n = 0; n < 50; n++)); do
    local alive=0
    for id in "${!PID[@]}"; do kill -0 "${PID[$id]}" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for id in "${!PID[@]}"; do kill -KILL "${PID[$id]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PID=()
}
on_error() { # exit code
  # Once, from the script itself (a pipeline's subshell only passes it on),
  # naming the line of the script's own body.
  if [[ $BASHPID == "$$" ]]; then
    local line=${BASH_LINENO[${#BASH_LINENO[@]} - 2]}
    echo "demo: failed in step \"$current\" (scripts/demo.sh line $line, exit code $1)" >&3
    [[ -d $work/gateways ]] && echo "demo: the gateways' logs are in $work/gateways/*/log" >&3
  fi
  exit 1
}
trap 'on_error "$?"' ERR
trap stop_all EXIT

# From here on, what the commands say on stderr (summaries, refusals) is
# part of the transcript, in order.
exec 2>&1
cd "$work"
mkdir -p samples
cp "$top/docs/samples/case-referral-payload.xml" "$top/tests/data/translate/cases.csv" \
   "$top/tests/data/translate/urls.csv" samples/
mkdir -p mappings
cp "$top/config/mappings/npa-case.yaml" mappings/
say "working in $work (inputs copied from the repository into samples/ and mappings/)"

step "1. Keys for two agencies: JP-NPA (RSA-2048) and PH-NBI (ECDSA P-256)"
run "$icx" keys gen JP-NPA --out keys/JP-NPA
run "$icx" keys gen PH-NBI --out keys/PH-NBI --alg ecdsa-p256
run "$icx" keys show keys/JP-NPA keys/PH-NBI | tee keys-show.txt
# The fingerprint JP-NPA publishes; the auditor compares with it at the end.
jp_fp=$(awk '$1 == "agency" && $2 == "JP-NPA" {print $NF}' keys-show.txt)
[[ $jp_fp =~ ^[0-9a-f]{64}$ ]] || fail "no JP-NPA fingerprint in icx keys show"
say "JP-NPA publishes its certificate fingerprint: sha256 $jp_fp"

step "2. JP-NPA builds a case-referral envelope around a sample payload"
run "$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --tlp AMBER --code H2 --legal-basis "MLAT JP-PH art. 3; NPA case JP-NPA-2026-CSE-00417" \
    --retain-until 2036-12-31 --expires-in 604800 \
    -o referral.unsigned.xml samples/case-referral-payload.xml
run "$icx" envelope show referral.unsigned.xml

step "3. JP-NPA signs it (enveloped XML-DSig, exclusive c14n, RSA-SHA256)"
run "$icx" envelope sign --key keys/JP-NPA/key.pem -o referral.xml referral.unsigned.xml
run grep -o '<ds:SignatureMethod Algorithm="[^"]*"' referral.xml

step "4. PH-NBI verifies it with JP-NPA's certificate from its trust store"
run "$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem referral.xml

# A verification that must fail with exit code 1 (refused), not 0 or 3.
expect_rejected() { # what, command...
  local what=$1 rc=0; shift
  cmdline "$@"
  "$@" || rc=$?
  say "(exit code $rc)"
  [[ $rc -eq 1 ]] || fail "the $what was not rejected (exit code $rc)"
}

step "5. A tampered copy (one character of the payload changed) is rejected"
shell_line "sed 's/JP-NPA-2026-CSE-00417/JP-NPA-2026-CSE-00418/' referral.xml > tampered.xml"
sed 's/JP-NPA-2026-CSE-00417/JP-NPA-2026-CSE-00418/' referral.xml > tampered.xml
cmp -s referral.xml tampered.xml && fail "sed changed nothing in tampered.xml"
expect_rejected "tampered copy" \
  "$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem tampered.xml
say "tampered copy rejected"

step "6. An envelope signed by PH-NBI's key but claiming to come from JP-NPA is rejected"
"$icx" envelope build --from JP-NPA --to PH-NBI --category case-referral \
    --legal-basis "forged" --retain-until 2036-12-31 \
    -o forged.unsigned.xml samples/case-referral-payload.xml 2>/dev/null
run "$icx" envelope sign --key keys/PH-NBI/key.pem -o forged.xml forged.unsigned.xml
expect_rejected "forged envelope" \
  "$icx" envelope verify --as PH-NBI --trust JP-NPA=keys/JP-NPA/cert.pem \
    --trust PH-NBI=keys/PH-NBI/cert.pem forged.xml
say "forged envelope rejected"

step "7. Three gateways on 127.0.0.1: JP-NPA, PH-NBI (behind a firewall: it only connects out) and the hub INT-ICPO"
run "$icx" keys gen INT-ICPO --out keys/INT-ICPO >/dev/null
categories='[case-referral, case-request, case-response, list-sync-request, list-update, survey-request, survey-response, receipt]'

write_gateway() { # id listen(yes|no) relay(true|false)
  local id=$1 listen=$2 relay=$3
  mkdir -p "gateways/$id/partners"
  {
    echo "id: $id"
    echo "keys:"
    echo "  private_key: ../../keys/$id/key.pem"
    echo "  certificate: ../../keys/$id/cert.pem"
    echo "  curve_secret: ../../keys/$id/curve.key"
    echo "store:"
    echo "  path: icx.db"
    echo "endpoints:"
    [[ $listen == yes ]] && echo "  listen: tcp://127.0.0.1:*"
    echo "  control: icx.sock"
    echo "routing:"
    [[ $id != INT-ICPO ]] && echo "  hub: INT-ICPO"
    echo "  relay: $relay"
    echo "log_level: info"
    if [[ $id == JP-NPA ]]; then
      echo "http:"
      echo "  address: 127.0.0.1"
      echo "  port: 0"
      echo "  tls_certificate: ../../tls/dashboard.pem"
      echo "  tls_key: ../../tls/dashboard.key"
      echo "  client_ca: ../../tls/clients.pem"
    fi
  } >"gateways/$id/gateway.yaml"
}

write_partner() { # at peer direction(connect|accept) [endpoint]
  local at=$1 peer=$2 dir=$3 ep=${4:-}
  {
    echo "id: $peer"
    echo "certificate: ../../../keys/$peer/cert.pem"
    echo "adapter: zmq"
    echo "zmq:"
    echo "  direction: $dir"
    [[ -n $ep ]] && echo "  endpoint: $ep"
    echo "  curve_public_key: \"$(cat "keys/$peer/curve.pub")\""
    echo "route: direct"
    echo "categories_in: $categories"
    echo "categories_out: $categories"
    echo "max_tlp: AMBER"
    echo "max_handling: H2"
    echo "retry:"
    echo "  initial_seconds: 1"
    echo "  max_seconds: 2"
  } >"gateways/$at/partners/${peer,,}.yaml"
}

start_gateway() { # id
  local id=$1 conf=gateways/$1/gateway.yaml
  local web=()
  grep -q '^http:' "$conf" && web=(--http-url-file "gateways/$id/http-url")
  cmdline "$icx" serve -c "$conf" --endpoint-file "gateways/$id/endpoint" "${web[@]}"
  printf '    >gateways/%s/log 2>&1 &\n' "$id"
  "$icx" serve -c "$conf" --endpoint-file "gateways/$id/endpoint" "${web[@]}" \
    >"gateways/$id/log" 2>&1 &
  PID[$id]=$!
  say "$id runs as process ${PID[$id]}; ready once it answers on its control socket:"
  shell_line "until $icx partners -c $conf >/dev/null 2>&1; do sleep 0.1; done   # at most 20 s"
  local deadline=$((SECONDS + 20))
  until "$icx" partners -c "$conf" >/dev/null 2>&1; do
    if ! kill -0 "${PID[$id]}" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -n 20 "gateways/$id/log" >&3
      fail "gateway $id did not start (log: gateways/$id/log)"
    fi
    sleep 0.1
  done
  if grep -q '^  listen:' "$conf"; then
    [[ -s gateways/$id/endpoint ]] || fail "gateway $id wrote no endpoint file"
    say "$id listens on $(cat "gateways/$id/endpoint") (the port it was given, from gateways/$id/endpoint)"
  fi
  if ((${#web[@]})); then
    [[ -s gateways/$id/http-url ]] || fail "gateway $id wrote no dashboard URL"
    say "$id's read-only dashboard: $(cat "gateways/$id/http-url")  (with the officer's certificate tls/officer.pem, while the demo runs)"
  fi
}

# The hub first: the others need its endpoint.
write_gateway INT-ICPO yes true
write_partner INT-ICPO JP-NPA accept
write_partner INT-ICPO PH-NBI accept
write_gateway JP-NPA yes false
write_gateway PH-NBI no false
say
say "JP-NPA's dashboard speaks TLS and asks for a client certificate: a throwaway"
say "server certificate for 127.0.0.1, an officer's certificate, and as clients"
say "the officer's certificate and PH-NBI's own, which opens /lists/ only:"
tls_cert() { # name subject [openssl req options...]: a self-signed EC P-256 certificate for a day
  local name=$1 subj=$2; shift 2
  run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "$subj" "$@" -keyout "tls/$name.key" -out "tls/$name.pem" 2>/dev/null ||
    fail "openssl did not make tls/$name.pem"
  run chmod 600 "tls/$name.key"
}
run mkdir -p tls
tls_cert dashboard /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
tls_cert officer "/CN=JP-NPA duty officer (demo)"
shell_line "cat tls/officer.pem keys/PH-NBI/cert.pem > tls/clients.pem"
cat tls/officer.pem keys/PH-NBI/cert.pem >tls/clients.pem
say
say "JP-NPA's gateway.yaml: who it is, its signing and transport keys, its store,"
say "where partners reach it (listen: an ephemeral port on 127.0.0.1), its control"
say "socket for the icx commands, INT-ICPO as its hub (relay: only the hub relays),"
say "and http: its read-only dashboard, /metrics and /lists/, on 127.0.0.1 over TLS"
say "for the client certificates in client_ca (docs/DASHBOARD.md):"
run cat gateways/JP-NPA/gateway.yaml
say
start_gateway INT-ICPO
hub_ep=$(cat gateways/INT-ICPO/endpoint)
write_partner JP-NPA INT-ICPO connect "$hub_ep"
write_partner JP-NPA PH-NBI accept
echo "lists: [csam-urls]" >>gateways/JP-NPA/partners/ph-nbi.yaml
cat >gateways/JP-NPA/lists.yaml <<'EOF2'
lists:
  - id: csam-urls
    kind: url
    allow: [PH-NBI]
EOF2
start_gateway JP-NPA
jp_ep=$(cat gateways/JP-NPA/endpoint)
write_partner PH-NBI INT-ICPO connect "$hub_ep"
write_partner PH-NBI JP-NPA connect "$jp_ep"
say
say "PH-NBI's partner file for JP-NPA: the certificate its envelopes are verified"
say "with, the transport (zmq, CURVE-encrypted with JP-NPA's pinned public key),"
say "direction connect (PH-NBI dials JP-NPA's endpoint; nothing dials PH-NBI),"
say "route direct or via the hub, the categories allowed each way, the most"
say "sensitive TLP and handling code it may receive, and how often to retry:"
run cat gateways/PH-NBI/partners/jp-npa.yaml
say "(JP-NPA's file for PH-NBI says direction: accept, with no endpoint; the"
say "other partner files, in gateways/*/partners/, follow the same pattern)"
say
start_gateway PH-NBI
run "$icx" partners -c gateways/JP-NPA/gateway.yaml

JP=gateways/JP-NPA/gateway.yaml
PH=gateways/PH-NBI/gateway.yaml

# Queues the sample referral at JP-NPA for PH-NBI; sets $msg.
submit_referral() {
  run "$icx" submit samples/case-referral-payload.xml --to PH-NBI --category case-referral \
    --legal-basis "MLAT JP-PH art. 3" --retain-until 2036-12-31 -c "$JP" | tee submit.out
  msg=$(awk '/^queued/ {print $2; exit}' submit.out)
  [[ -n $msg ]] || fail "icx submit queued nothing"
}

# Polls `icx status` until the message is delivered.
wait_delivered() { # message-id
  local id=$1 deadline=$((SECONDS + 30)) out
  shell_line "until $icx status $id -c $JP --json | grep -q '\"state\":\"delivered\"'; do sleep 0.2; done   # at most 30 s"
  until out=$("$icx" status "$id" -c "$JP" --json 2>/dev/null) &&
        [[ $(grep -o '"state":"[a-z]*"' <<<"$out" | head -n 1) == '"state":"delivered"' ]]; do
    ((SECONDS < deadline)) || fail "$id was not delivered within 30 s"
    sleep 0.2
  done
}

step "8. JP-NPA submits a case referral to PH-NBI; it travels over PH-NBI's own connection"
submit_referral
m1=$msg
wait_delivered "$m1"
run "$icx" status "$m1" -c "$JP"
say "delivered directly"

step "9. The liaison office routes PH-NBI through the hub (both sides) and reloads with SIGHUP"
run sed -i 's/^route: direct/route: hub/' gateways/JP-NPA/partners/ph-nbi.yaml \
  gateways/PH-NBI/partners/jp-npa.yaml
reloads() { "$icx" audit show --event config.loaded -c "$1" | wc -l; }
jp_reloads=$(reloads "$JP")
ph_reloads=$(reloads "$PH")
run kill -HUP "${PID[JP-NPA]}"
run kill -HUP "${PID[PH-NBI]}"
say "each reload is done when the gateway has audited one more config.loaded:"
for id in JP-NPA PH-NBI; do
  conf=gateways/$id/gateway.yaml
  before=$jp_reloads; [[ $id == PH-NBI ]] && before=$ph_reloads
  shell_line "until (( \$($icx audit show --event config.loaded -c $conf | wc -l) > $before )); do sleep 0.1; done"
  deadline=$((SECONDS + 20))
  until (($(reloads "$conf") > before)); do
    ((SECONDS < deadline)) || fail "$id did not reload its partner files (log: gateways/$id/log)"
    sleep 0.1
  done
done
submit_referral
m2=$msg
wait_delivered "$m2"
run "$icx" status "$m2" -c "$JP" | tee status-m2.txt
grep -q 'INT-ICPO' status-m2.txt || fail "the status of $m2 does not show the hub INT-ICPO"
say "delivered via the hub INT-ICPO"
say
say "what PH-NBI received:"
run "$icx" inbox -c "$PH"

step "10. Translate: a domestic case export (CSV, Japanese columns) becomes a payload"
run head -n 1 samples/cases.csv
say "(then four rows of one fictional case: persons, accounts, addresses, era dates)"
run "$icx" translate samples/cases.csv --profile mappings/npa-case.yaml --to PH-NBI \
  -o referral-from-csv.xml
run grep -o -e '<CaseReference>[^<]*</CaseReference>' -e '<IccsCode>[^<]*</IccsCode>' \
  -e '<Field>[^<]*</Field>' referral-from-csv.xml
say "(era dates, offences crosswalked to ICCS, the victim's name withheld for PH-NBI;"
say " icx submit referral-from-csv.xml --to PH-NBI ... would send it like the sample)"

step "11. A blocking list: JP-NPA imports it, PH-NBI pulls it and checks its digest"
say "JP-NPA's lists.yaml (written with its configuration; its partner file for"
say "PH-NBI says lists: [csam-urls], and both allow the list categories):"
run cat gateways/JP-NPA/lists.yaml
run "$icx" lists import csam-urls samples/urls.csv -c "$JP" | tee import.out
jp_digest=$(grep -o 'digest [0-9a-f]\{64\}' import.out | awk '{print $2}')
[[ -n $jp_digest ]] || fail "icx lists import printed no digest"
run "$icx" pull JP-NPA csam-urls -c "$PH" --wait 30 | tee pull.out
grep -q 'serial 1 .*digest verified' pull.out || fail "the pull of csam-urls did not verify serial 1"
say "PH-NBI's copy, hashed with standard tools (docs/LISTS.md), equals that digest:"
shell_line "$icx lists export csam-urls --from JP-NPA -c $PH | LC_ALL=C sort | sha256sum"
ph_digest=$("$icx" lists export csam-urls --from JP-NPA -c "$PH" | LC_ALL=C sort | sha256sum | cut -c1-64)
say "$ph_digest  -"
[[ $ph_digest == "$jp_digest" ]] || fail "PH-NBI's copy of csam-urls does not hash to JP-NPA's digest"
say "list digest verified: PH-NBI's copy hashes to the digest of JP-NPA's serial 1"

step "12. A survey: JP-NPA asks PH-NBI three questions, PH-NBI answers, JP-NPA compiles"
round=demo-csam-law-r1
cat >survey.yaml <<EOF2
round: $round
title: Legislation on child sexual abuse material (demo)
deadline: $(date -u -d '+30 days' +%F)
recipients: [PH-NBI]
handling:
  legal_basis: Survey of foreign legislation; no personal data
  retain_until: 2036-12-31
questions:
  - id: q01
    type: yes-no-partial
    text: Is there legislation specific to child sexual abuse material?
  - id: q02
    type: number
    text: Maximum term of imprisonment, in years, for distribution.
  - id: q03
    type: citations
    text: Which provisions require internet service providers to report material?
EOF2
cat >answers.yaml <<'EOF2'
# FICTIONAL answers for the demo: not the law of any country.
answers:
  q01: yes
  q02: 20
  q03:
    citations:
      - {statute: Fictional Online Safety Act (demo), article: s. 9}
EOF2
run "$icx" survey send survey.yaml -c "$JP" | tee survey-send.out
req=$(awk '/^queued/ {print $2; exit}' survey-send.out)
[[ -n $req ]] || fail "icx survey send queued nothing"
shell_line "until $icx inbox -c $PH | grep -q $req; do sleep 0.2; done   # at most 30 s"
deadline=$((SECONDS + 30))
until "$icx" inbox -c "$PH" --limit 100 | grep -q "$req"; do
  ((SECONDS < deadline)) || fail "PH-NBI did not receive the survey $req"
  sleep 0.2
done
run cat answers.yaml
run "$icx" survey answer "$req" --from answers.yaml -c "$PH"
shell_line "until $icx survey status $round -c $JP | grep -q '^1 answered'; do sleep 0.2; done   # at most 30 s"
deadline=$((SECONDS + 30))
until "$icx" survey status "$round" -c "$JP" | grep -q '^1 answered'; do
  ((SECONDS < deadline)) || fail "JP-NPA did not receive PH-NBI's answer"
  sleep 0.2
done
run "$icx" survey compile "$round" --format md -o survey.md -c "$JP"
run cat survey.md
grep -q '^| PH (PH-NBI) | yes | 20 |' survey.md || fail "the compiled survey does not show PH-NBI's answers"
say "survey compiled: PH-NBI's answers in the comparison"

step "13. The read-only dashboard and /metrics of JP-NPA, read with the officer's certificate"
url=$(cat gateways/JP-NPA/http-url)
say "dashboard: $url  (messages, partners, lists, surveys, audit; ?lang=ja for Japanese)"
officer=(--cacert tls/dashboard.pem --cert tls/officer.pem --key tls/officer.key)
run curl -fsS "${officer[@]}" "${url}metrics" -o metrics.txt ||
  fail "the officer's certificate did not open /metrics"
run grep -E '^icx_(outbound_messages|queue_depth|receipts_total|audit_checkpoints_total)' metrics.txt
grep -q '^icx_outbound_messages{partner="PH-NBI",state="delivered"}' metrics.txt ||
  grep -q '^icx_outbound_messages{partner="INT-ICPO",state="delivered"}' metrics.txt ||
  fail "/metrics does not show the delivered referrals"
run curl -fsS "${officer[@]}" "${url}messages" -o messages.html ||
  fail "the officer's certificate did not open the messages page"
grep -qF "$m1" messages.html || fail "the dashboard's messages page does not list $m1"
say "the dashboard lists $m1 (messages.html); /metrics is OpenMetrics text for monitoring"

step "14. A partner without ICX pulls csam-urls over HTTPS: curl, xmlsec1, sha256sum (docs/PARTNERS.md)"
say "PH-NBI's TLS client certificate is the one it signs with (keys/PH-NBI);"
say "JP-NPA's server certificate came out of band (tls/dashboard.pem):"
base=${url}lists/csam-urls
ph=(--cacert tls/dashboard.pem --cert keys/PH-NBI/cert.pem --key keys/PH-NBI/key.pem)
run mkdir -p partner
run curl -fsS "${ph[@]}" "$base/notification.xml" -o partner/notification.xml ||
  fail "PH-NBI's certificate did not fetch csam-urls' notification over HTTPS"
run xmlsec1 --verify --pubkey-cert-pem keys/JP-NPA/cert.pem --enabled-reference-uris empty \
  --enabled-key-data x509 partner/notification.xml ||
  fail "the signature of csam-urls' notification does not verify with JP-NPA's certificate"
run grep -o -e '<Sender>[^<]*</Sender><Recipient>[^<]*</Recipient>' -e '<Category>[^<]*</Category>' \
  -e '<ListId>[^<]*</ListId>' -e '<Serial>[^<]*</Serial>' -e '<Digest [^>]*>[^<]*</Digest>' \
  partner/notification.xml | tee partner/fields.txt
grep -qx '<Sender>JP-NPA</Sender><Recipient>PH-NBI</Recipient>' partner/fields.txt &&
  grep -qx '<Category>list-update</Category>' partner/fields.txt &&
  grep -qx '<ListId>csam-urls</ListId>' partner/fields.txt ||
  fail "the notification is not csam-urls in a list-update from JP-NPA to PH-NBI"
say "notification signature verified: csam-urls in a list-update signed by JP-NPA for PH-NBI"
serial=$(sed -n 's/^<Serial>\([0-9]*\)<\/Serial>$/\1/p' partner/fields.txt | head -n 1)
digest=$(sed -n 's/^<Digest algorithm="sha256">\([0-9a-f]*\)<\/Digest>$/\1/p' partner/fields.txt | head -n 1)
[[ -n $serial && ${#digest} -eq 64 ]] || fail "the notification names no serial or no sha256 digest"
say "the snapshot of serial $serial, page by page, each checked against the SHA-256 the notification names:"
shell_line "grep -o '<Page uri=\"[^\"]*/$serial/snapshot-[0-9]*\.xml\" sha256=\"[0-9a-f]*\"' partner/notification.xml"
grep -o "<Page uri=\"[^\"]*/$serial/snapshot-[0-9]*\.xml\" sha256=\"[0-9a-f]*\"" partner/notification.xml |
  sed 's/^<Page uri="\([^"]*\)" sha256="\([^"]*\)"/\1 \2/' >partner/pages.txt
[[ -s partner/pages.txt ]] || fail "the notification names no snapshot page"
n=0
while read -r uri sha; do
  n=$((n + 1))
  run curl -fsS "${ph[@]}" "$base/$uri" -o "partner/snapshot-$n.xml" ||
    fail "PH-NBI's certificate did not fetch $uri"
  run sha256sum "partner/snapshot-$n.xml"
  [[ $(sha256sum <"partner/snapshot-$n.xml" | cut -c1-64) == "$sha" ]] ||
    fail "$uri: its SHA-256 is not the one the notification names ($sha)"
  say "= the notification's sha256 for $uri"
done <partner/pages.txt
say "the list, one canonical entry a line, sorted bytewise, and its digest:"
unxml() { sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&amp;/\&/g'; }
shell_line "unxml() { sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/\"/g' -e \"s/&apos;/'/g\" -e 's/&amp;/\\&/g'; }"
shell_line "cat partner/snapshot-*.xml | grep -o '<Entry><Value>[^<]*' | sed 's/^<Entry><Value>//' | unxml | LC_ALL=C sort -u > partner/csam-urls.txt"
cat partner/snapshot-*.xml | grep -o '<Entry><Value>[^<]*' | sed 's/^<Entry><Value>//' | unxml |
  LC_ALL=C sort -u >partner/csam-urls.txt
run cat partner/csam-urls.txt
run sha256sum partner/csam-urls.txt
https_digest=$(sha256sum <partner/csam-urls.txt | cut -c1-64)
[[ $https_digest == "$digest" ]] || fail "the list pulled over HTTPS does not hash to the notification's digest $digest"
[[ $https_digest == "$jp_digest" ]] ||
  fail "the list pulled over HTTPS does not hash to the digest icx lists import printed in step 11 ($jp_digest)"
say "list digest matched over HTTPS: the notification's, and the one icx lists import printed in step 11"
say "  icx lists import   digest $jp_digest"
say "  over HTTPS         digest $https_digest"

step "15. Stop the gateways (SIGTERM: finish the work in hand, commit, stop)"
for id in PH-NBI JP-NPA INT-ICPO; do
  pid=${PID[$id]}
  run kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  unset "PID[$id]"
  [[ $rc -eq 0 ]] || fail "gateway $id exited with code $rc (log: gateways/$id/log)"
done
say "stopped"

step "16. An auditor checks JP-NPA's log offline, and the evidence bundle of the first referral"
run "$icx" audit verify -c "$JP"
run "$icx" audit bundle "$m1" --out "evidence-$m1.icxb" -c "$JP"
run "$icx" audit check-bundle "evidence-$m1.icxb" | tee check-bundle.out
bundle_fp=$(grep -o 'gateway certificate sha256 [0-9a-f]*' check-bundle.out | awk '{print $NF}')
[[ $bundle_fp == "$jp_fp" ]] || fail "the bundle's certificate (sha256 $bundle_fp) is not the one JP-NPA published (sha256 $jp_fp)"
say "the certificate in the bundle is the one JP-NPA published in step 1:"
say "  icx keys show keys/JP-NPA    sha256 $jp_fp"
say "  icx audit check-bundle       sha256 $bundle_fp"
say "audit verified (docs/AUDIT.md shows the same check with sha256sum and openssl alone)"

printf '\ndemo finished: files are in %s\n' "$work"
