# A throwaway PostgreSQL 15 server for tests: initdb into a temporary
# folder, 127.0.0.1 on a free port, no Unix socket outside that folder,
# trust authentication for the role icx.  PostgreSQL refuses to run as
# root, so as root the server runs as the unprivileged user nobody
# (runuser); as anyone else, as that user.  Source it, then:
#
#   pg_start                 start; sets PG_URL (postgresql://icx@127.0.0.1:PORT)
#   pg_createdb NAME         a new empty database; prints its URL
#   pg_psql DB SQL           run SQL in database DB (-tA output)
#   pg_restart [MODE]        stop (fast, or immediate) and start again, same port
#   pg_stop                  stop the server and remove its folder
#
# Sourcing sets no trap of its own; call pg_stop from the test's trap.
# pg_have says whether the server binaries are installed (scripts/deps.sh
# installs postgresql-15); pg_require skips the test (exit 77) without them.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_URL=""

pg_have() { [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]]; }

# A test that needs the server: skipped (exit 77) and says why when the
# binaries are not installed.
pg_require() {
  pg_have && return 0
  echo "SKIP: PostgreSQL server binaries not found in $PG_BIN (scripts/deps.sh installs postgresql-15)"
  exit 77
}

# Runs a server binary as the unprivileged user when we are root.
pg_as() {
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u nobody -- "$@")
  else (cd / && "$@"); fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  pg_have || { echo "pg.sh: $PG_BIN/initdb not found (install postgresql-15: scripts/deps.sh)" >&2; return 1; }
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/icx-pg-XXXXXX")
  chmod 0755 "$PG_DIR"
  mkdir "$PG_DIR/data" "$PG_DIR/run"
  [[ $(id -u) -eq 0 ]] && chown nobody:nogroup "$PG_DIR/data" "$PG_DIR/run"
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U icx --auth=trust \
    --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; return 1; }
  PG_PORT=$(pg_free_port)
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/run'
max_connections = 60
logging_collector = off
EOF
  pg_up
}

pg_up() {
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/run/server.log" -w -t 30 \
    start >/dev/null || { cat "$PG_DIR/run/server.log" >&2; return 1; }
  PG_URL="postgresql://icx@127.0.0.1:$PG_PORT"
  export PG_URL
}

pg_psql() {
  local db=$1; shift
  psql -X -q -tA -v ON_ERROR_STOP=1 "$PG_URL/$db" -c "$*"
}

pg_createdb() {
  pg_psql postgres "CREATE DATABASE \"$1\"" >/dev/null && echo "$PG_URL/$1"
}

pg_restart() {
  local mode=${1:-fast}
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "$mode" -w stop >/dev/null
  pg_up
}

pg_stop() {
  [[ -n "$PG_DIR" && -d "$PG_DIR" ]] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
    >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
