# Helpers for scenario tests: real `icx serve` processes on 127.0.0.1 with
# ephemeral ports, keys made by `icx keys gen`, one folder per gateway.
# Source it; it sets a trap that stops every gateway it started.
#
#   gw_init                      work folder, keys for the usual three
#   gw_keys ID [ALG]             keys in $W/keys/ID
#   gw_pair_and_absent           JP-NPA started, PH-NBI written, KR-KNPA absent
#   gw_write ID LISTEN RELAY     $W/ID/gateway.yaml (listen: yes|no; with
#                                GW_TSA_URL and GW_TSA_CA, audit.tsa; with
#                                GW_WITNESS_SECONDS, witnessing partners)
#   gw_partner ID PEER DIR ROUTE [ENDPOINT]   partner file of PEER at ID
#   gw_partner_filedrop ID PEER ROUTE OUTBOX INBOX  partner file, adapter filedrop
#   gw_partner_module ID PEER ADAPTER OPTION...      partner file, external adapter
#   gw_adapters_dir ID DIR       set paths.adapters in ID's gateway.yaml
#   gw_start ID / gw_stop ID / gw_kill ID / gw_hup ID
#   gw_endpoint ID               the bound endpoint of a started gateway
#   gw_http ID [LINE...]         add an http: section (127.0.0.1, any port)
#   gw_url ID                    the dashboard URL of a started gateway
#   icx_at ID ARGS...            run an icx client command against ID
#   wait_for SECONDS CMD...      poll until CMD succeeds

icx=${ICX_BIN:?ICX_BIN not set}
src=${ICX_SOURCE_DIR:?ICX_SOURCE_DIR not set}
# ICX_WORK: use this folder (the demo does); otherwise a temporary one.
if [[ -n "${ICX_WORK:-}" ]]; then W=$ICX_WORK; mkdir -p "$W"
else W=$(mktemp -d "${TMPDIR:-/tmp}/icx-scenario-XXXXXX"); fi
declare -A GW_PID=()
T_PASS=0
T_FAIL=0

gw_cleanup() {
  for id in "${!GW_PID[@]}"; do
    kill -9 "${GW_PID[$id]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ -n "${ICX_WORK:-}" ]]; then :
  elif [[ $T_FAIL -eq 0 && -z "${ICX_KEEP:-}" ]]; then rm -rf "$W"
  else echo "scenario files kept in $W"; fi
}
trap gw_cleanup EXIT

# The tests read and write the gateways' stores while the daemons run:
# wait for a lock instead of failing with "database is locked".
sqlite3() { command sqlite3 -cmd ".timeout 10000" "$@"; }
# On PostgreSQL (ICX_TEST_STORE), a query of a gateway's icx.db goes to
# that gateway's database instead, in sqlite3's output format (no header,
# "|" between columns): the scenarios' checks stay as written where their
# SQL means the same on both engines.
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  sqlite3() {
    local args=() db="" a
    for a in "$@"; do
      if [[ -z $db && $a == */icx.db ]]; then db=$a; else args+=("$a"); fi
    done
    if [[ -z $db ]]; then command sqlite3 -cmd ".timeout 10000" "$@"; return; fi
    local id; id=$(basename "$(dirname "$db")")
    local name=${GW_STORE_DB:-gw_db_${id//-/_}}
    # Stored bytes come out as they went in (psql would print BYTEA as hex).
    local sql=${args[-1]//select envelope /select convert_from(envelope, \'UTF8\') }
    psql -X -q -tA -F'|' -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/${name,,}" -c "$sql"
  }
fi
export -f sqlite3

ok() { T_PASS=$((T_PASS+1)); echo "ok   $*"; }
bad() { T_FAIL=$((T_FAIL+1)); echo "FAIL $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$T_PASS passed, $T_FAIL failed"; [[ $T_FAIL -eq 0 ]]; }

wait_for() { # seconds, command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# JP-NPA (listening) written and started; PH-NBI (connecting to it)
# written, for the caller to start; KR-KNPA a partner of JP-NPA that never
# starts.  No hub: each names itself as the hub argument.
gw_pair_and_absent() {
  local id
  for id in JP-NPA PH-NBI KR-KNPA; do gw_keys "$id"; done
  gw_write JP-NPA yes false JP-NPA
  gw_partner JP-NPA PH-NBI accept direct
  gw_partner JP-NPA KR-KNPA accept direct
  gw_start JP-NPA || return 1
  gw_write PH-NBI no false PH-NBI
  gw_partner PH-NBI JP-NPA connect direct "$(gw_endpoint JP-NPA)"
}

gw_keys() { "$icx" keys gen "$1" --out "$W/keys/$1" --alg "${2:-rsa2048}" >/dev/null; }

# ICX_TEST_STORE (a PostgreSQL server's URL, no database; see
# lib/pg.sh and store_scenarios_pg.sh): each gateway's store is a database
# of that server instead of icx.db - gw_db_<id>, or GW_STORE_DB when set
# (several nodes of one gateway share it) - and its head file is icx.db.head.
gw_store_lines() { # id
  if [[ -z "${ICX_TEST_STORE:-}" ]]; then echo "  path: icx.db"; return; fi
  local db=${GW_STORE_DB:-gw_db_${1//-/_}}
  db=${db,,}
  psql -X -q -tA "$ICX_TEST_STORE/postgres" -c "CREATE DATABASE $db" \
    >/dev/null 2>&1 || true
  echo "  path: $ICX_TEST_STORE/$db"
  echo "  head: icx.db.head"
}

gw_write() { # id listen(yes|no) relay(true|false) [hub]
  local id=$1 listen=$2 relay=$3 hub=${4:-INT-ICPO}
  mkdir -p "$W/$id/partners"
  {
    echo "id: $id"
    echo "keys:"
    echo "  private_key: ../keys/$id/key.pem"
    echo "  certificate: ../keys/$id/cert.pem"
    echo "  curve_secret: ../keys/$id/curve.key"
    echo "store:"
    gw_store_lines "$id"
    echo "endpoints:"
    [[ $listen == yes ]] && echo "  listen: tcp://127.0.0.1:*"
    echo "  control: icx.sock"
    echo "routing:"
    [[ $id != "$hub" ]] && echo "  hub: $hub"
    echo "  relay: $relay"
    echo "policy:"
    echo "  created_past_seconds: 3600"
    echo "workers: 2"
    echo "audit:"
    echo "  checkpoint_every: ${GW_CHECKPOINT_EVERY:-1000}"
    echo "  checkpoint_seconds: ${GW_CHECKPOINT_SECONDS:-60}"
    [[ -n "${GW_WITNESS_SECONDS:-}" ]] && echo "  witness_seconds: $GW_WITNESS_SECONDS"
    if [[ -n "${GW_TSA_URL:-}" ]]; then
      echo "  tsa:"
      echo "    url: $GW_TSA_URL"
      echo "    ca_file: $GW_TSA_CA"
      echo "    timeout_seconds: 5"
      echo "    retry_seconds: ${GW_TSA_RETRY:-1}"
    fi
    echo "log_level: ${ICX_LOG_LEVEL:-info}"
  } >"$W/$id/gateway.yaml"
}

gw_partner() { # at peer direction(connect|accept) route(direct|hub) [endpoint]
  local at=$1 peer=$2 dir=$3 route=$4 ep=${5:-}
  local f="$W/$at/partners/${peer,,}.yaml"
  {
    echo "id: $peer"
    echo "certificate: ../../keys/$peer/cert.pem"
    echo "adapter: zmq"
    echo "zmq:"
    [[ -n $ep ]] && echo "  endpoint: $ep"
    echo "  direction: $dir"
    echo "  curve_public_key: \"$(cat "$W/keys/$peer/curve.pub")\""
    echo "route: $route"
    echo "categories_in: [case-referral, case-request, case-response, receipt${GW_WITNESS_SECONDS:+, audit-checkpoint}]"
    echo "categories_out: [case-referral, case-request, case-response, receipt${GW_WITNESS_SECONDS:+, audit-checkpoint}]"
    echo "max_tlp: ${GW_MAX_TLP:-AMBER}"
    echo "max_handling: H2"
    if [[ -n "${GW_LIMIT_RATE:-}${GW_LIMIT_BYTES:-}${GW_LIMIT_CONNS:-}" ]]; then
      echo "limits:"
      [[ -n "${GW_LIMIT_CONNS:-}" ]] && echo "  max_connections: $GW_LIMIT_CONNS"
      [[ -n "${GW_LIMIT_RATE:-}" ]] && echo "  messages_per_second: $GW_LIMIT_RATE" && echo "  burst: $GW_LIMIT_RATE"
      [[ -n "${GW_LIMIT_BYTES:-}" ]] && echo "  max_message_bytes: $GW_LIMIT_BYTES"
    fi
    echo "retry:"
    echo "  initial_seconds: ${GW_RETRY_INITIAL:-1}"
    echo "  max_seconds: ${GW_RETRY_MAX:-2}"
    echo "  max_age_seconds: ${GW_MAX_AGE:-3600}"
  } >"$f"
}

# The policy and retry lines every partner file ends with.
gw_partner_common() { # route
  echo "route: $1"
  echo "categories_in: [case-referral, case-request, case-response, receipt]"
  echo "categories_out: [case-referral, case-request, case-response, receipt]"
  echo "max_tlp: ${GW_MAX_TLP:-AMBER}"
  echo "max_handling: H2"
  echo "retry:"
  echo "  initial_seconds: ${GW_RETRY_INITIAL:-1}"
  echo "  max_seconds: ${GW_RETRY_MAX:-2}"
  echo "  max_age_seconds: ${GW_MAX_AGE:-3600}"
}

gw_partner_filedrop() { # at peer route outbox inbox
  local at=$1 peer=$2 route=$3 outbox=$4 inbox=$5
  {
    echo "id: $peer"
    echo "certificate: ${GW_PEER_CERT:-../../keys/$peer/cert.pem}"
    echo "adapter: filedrop"
    echo "filedrop:"
    echo "  outbox: $outbox"
    echo "  inbox: $inbox"
    echo "  poll_ms: ${GW_POLL_MS:-200}"
    echo "  answer_seconds: ${GW_ANSWER_SECONDS:-60}"
    gw_partner_common "$route"
  } >"$W/$at/partners/${peer,,}.yaml"
}

gw_partner_module() { # at peer adapter option...
  local at=$1 peer=$2 adapter=$3; shift 3
  local opts="" o
  for o in "$@"; do opts+="${opts:+, }\"$o\""; done
  {
    echo "id: $peer"
    echo "certificate: ../../keys/$peer/cert.pem"
    echo "adapter: $adapter"
    echo "adapter_options: [$opts]"
    gw_partner_common direct
  } >"$W/$at/partners/${peer,,}.yaml"
}

gw_adapters_dir() { # id dir
  printf 'paths:\n  adapters: %s\n' "$2" >>"$W/$1/gateway.yaml"
}

gw_start() {
  local id=$1
  rm -f "$W/$id/endpoint" "$W/$id/http-url"
  (cd "$W/$id" && exec "$icx" serve -c gateway.yaml --endpoint-file endpoint \
     --http-url-file http-url) \
    >>"$W/$id/log" 2>&1 &
  GW_PID[$id]=$!
  if ! wait_for 20 "$icx" partners -c "$W/$id/gateway.yaml"; then
    echo "gateway $id did not start; its log:"; tail -20 "$W/$id/log"; return 1
  fi
  # Keep the ephemeral port across restarts: partners know it now.
  if [[ -s "$W/$id/endpoint" ]] && grep -q 'listen: tcp://127.0.0.1:\*' "$W/$id/gateway.yaml"; then
    sed -i "s#listen: tcp://127.0.0.1:\*#listen: $(cat "$W/$id/endpoint")#" "$W/$id/gateway.yaml"
  fi
}

gw_endpoint() { cat "$W/$1/endpoint"; }

# Another node of gateway $1 on its PostgreSQL database (GW_STORE_DB):
# the same gateway.yaml and partners, a folder of its own (control
# socket, endpoint file, head file, log).  gw_node before the first node
# starts (gw_start fixes a listening node's port in its gateway.yaml);
# gw_node_start once it runs: it copies that node's head file first, as
# docs/STORE.md ("Adding a node") says, since a node without one is
# refused once the database holds signed checkpoints.
gw_node() { # gateway node
  mkdir -p "$W/$2"
  cp -r "$W/$1/gateway.yaml" "$W/$1/partners" "$W/$2/"
}
gw_node_start() { # gateway node
  cp "$W/$1/icx.db.head" "$W/$2/icx.db.head" && gw_start "$2"
}

# The dashboard on 127.0.0.1, any free port (its URL: gw_url after gw_start).
gw_http() { # id [extra lines of the http: section, indented]
  local id=$1; shift
  { echo "http:"; echo "  address: 127.0.0.1"; echo "  port: 0"
    local l; for l in "$@"; do echo "  $l"; done; } >>"$W/$id/gateway.yaml"
}
gw_url() { cat "$W/$1/http-url"; }

gw_stop() {
  local id=$1 pid=${GW_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "GW_PID[$id]"
}

gw_kill() {
  local id=$1 pid=${GW_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "GW_PID[$id]"
}

gw_hup() { kill -HUP "${GW_PID[$1]}"; }

# The signer process of gateway id's daemon: its child named icx-signer.
gw_signer() { # id -> pid
  local d ppid=${GW_PID[$1]}
  for d in /proc/[0-9]*; do
    [[ $(cat "$d/comm" 2>/dev/null) == icx-signer ]] || continue
    [[ $(awk '{print $4}' "$d/stat" 2>/dev/null) == "$ppid" ]] && echo "${d#/proc/}"
  done
}

icx_at() { local id=$1; shift; "$icx" "$@" -c "$W/$id/gateway.yaml"; }

# Submits the sample case referral from ID to RECIPIENT; prints the MessageId.
submit_sample() { # id recipient [extra args...]
  local id=$1 to=$2; shift 2
  icx_at "$id" submit "$src/docs/samples/case-referral-payload.xml" --to "$to" \
    --category case-referral --legal-basis "MLAT test" --retain-until 2031-12-31 "$@" |
    awk '/^queued/ {print $2}'
}

state_of() { # id message-id -> outbound state
  icx_at "$1" status "$2" --json | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4
}

delivered() { [[ $(state_of "$1" "$2") == delivered ]]; }

inbox_count() { # id: accepted messages
  icx_at "$1" inbox --state accepted --limit 100000 | tail -n +2 | wc -l
}

# Queues the bytes of FILE in gateway ID's outbox as if it had submitted
# them (for hostile and replay tests: the sender does not re-verify its own
# outbox).  A row for the same MessageId and hop is replaced.
outbox_inject() { # id message-id hop recipient category file
  local db=$W/$1/icx.db id=$2 hop=$3 to=$4 cat=$5 file=$6
  local sha; sha=$(sha256sum "$file" | cut -c1-64)
  sqlite3 "$db" "delete from outbox_envelope where outbox_id in
      (select id from outbox where message_id = '$id' and next_hop = '$hop');
    delete from outbox where message_id = '$id' and next_hop = '$hop';
    insert into outbox (message_id, next_hop, recipient, sender, category, sha256,
      state, attempts, created_at, next_attempt_at, updated_at)
      values ('$id', '$hop', '$to', '$1', '$cat', '$sha', 'queued', 0,
      strftime('%s','now'), 0, strftime('%s','now'));
    insert into outbox_envelope (outbox_id, envelope)
      values (last_insert_rowid(), readfile('$file'));"
}

# Three gateways: the hub INT-ICPO and JP-NPA listen; PH-NBI only connects
# out (it sits behind a firewall), to JP-NPA and to the hub.
three_gateways() {
  for id in JP-NPA PH-NBI INT-ICPO; do gw_keys "$id"; done
  gw_write INT-ICPO yes true
  gw_partner INT-ICPO JP-NPA accept direct
  gw_partner INT-ICPO PH-NBI accept direct
  gw_start INT-ICPO || return 1
  local hub_ep; hub_ep=$(gw_endpoint INT-ICPO)
  gw_write JP-NPA yes false
  gw_partner JP-NPA INT-ICPO connect direct "$hub_ep"
  gw_partner JP-NPA PH-NBI accept "${JP_ROUTE_PH:-direct}"
  gw_start JP-NPA || return 1
  local jp_ep; jp_ep=$(gw_endpoint JP-NPA)
  gw_write PH-NBI no false
  gw_partner PH-NBI INT-ICPO connect direct "$hub_ep"
  gw_partner PH-NBI JP-NPA connect "${PH_ROUTE_JP:-direct}" "$jp_ep"
  gw_start PH-NBI || return 1
}

# --- audit group: stores copied and put back on PostgreSQL ---------------
# With ICX_TEST_STORE a gateway's store is a database of that server: a
# copy of it, or an older copy put back, is a database made with the
# other as its template (PostgreSQL refuses a template with a session
# open on it: stop the gateway first).  Name copies gw_db_* so that
# lib/pg_scenarios.sh drops them with the scenario's other databases.
#   gw_db ID              the database of gateway ID's store
#   gw_db_copy FROM TO    database TO (dropped first when it exists) made from FROM
gw_db() { local d=${GW_STORE_DB:-gw_db_${1//-/_}}; echo "${d,,}"; }
gw_db_copy() {
  psql -X -q -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/postgres" \
    -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2 TEMPLATE $1" >/dev/null
}

# --- broker group: bytes into a PostgreSQL store ----------------------------
# With ICX_TEST_STORE, outbox_inject (above) queues the file's bytes in
# the gateway's database: the same rows in one transaction, the envelope
# as BYTEA from its hex (sent on psql's standard input: no size limit of
# a command line), the new row's id from INSERT ... RETURNING.
#   gw_psql ID                   psql on gateway ID's database, SQL on stdin
#   gw_hex FILE                  the bytes of FILE as lowercase hex
gw_psql() {
  psql -X -q -tA -F'|' -v ON_ERROR_STOP=1 "$ICX_TEST_STORE/$(gw_db "$1")"
}
gw_hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
if [[ -n "${ICX_TEST_STORE:-}" ]]; then
  outbox_inject() { # id message-id hop recipient category file
    local id=$2 hop=$3 to=$4 cat=$5 file=$6
    local sha; sha=$(sha256sum "$file" | cut -c1-64)
    gw_psql "$1" <<SQL
begin;
delete from outbox_envelope where outbox_id in
  (select id from outbox where message_id = '$id' and next_hop = '$hop');
delete from outbox where message_id = '$id' and next_hop = '$hop';
with o as (insert into outbox (message_id, next_hop, recipient, sender,
    category, sha256, state, attempts, created_at, next_attempt_at, updated_at)
  values ('$id', '$hop', '$to', '$1', '$cat', '$sha', 'queued', 0,
    extract(epoch from now())::bigint, 0, extract(epoch from now())::bigint)
  returning id)
insert into outbox_envelope (outbox_id, envelope)
  select id, decode('$(gw_hex "$file")', 'hex') from o;
commit;
SQL
  }
fi

# --- lists group: stored bytes out of either engine ----------------------
#   gw_blob_out ID SQL FILE   the one BLOB/BYTEA value SQL selects from ID's
#                             store, byte for byte into FILE, either engine
gw_blob_out() { # id sql file
  if [[ -z "${ICX_TEST_STORE:-}" ]]; then
    sqlite3 "$W/$1/icx.db" "select writefile('$3', ($2))" >/dev/null
    return
  fi
  local b64
  b64=$(gw_psql "$1" <<<"select encode(($2), 'base64')") || return 1
  base64 -d <<<"$b64" >"$3"
}
