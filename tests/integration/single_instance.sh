#!/usr/bin/env bash
# One daemon per store: a second `icx serve` on the same configuration is
# refused (exit 1, naming the lock file and the running daemon's pid)
# before it touches the store, the audit log or the control socket.  The
# lock dies with its holder: after a clean stop and after kill -9 the
# gateway starts again.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

gw_keys JP-NPA
gw_write JP-NPA yes false JP-NPA
gw_start JP-NPA || { bad "JP-NPA starts"; finish; exit 1; }
first=${GW_PID[JP-NPA]}
db=$W/JP-NPA/icx.db
lock=$db.lock
where="beside the store"
# On PostgreSQL (shared by several nodes) one daemon per node: the lock
# is beside the node's control socket (docs/STORE.md).
[[ -n "${ICX_TEST_STORE:-}" ]] && lock=$W/JP-NPA/icx.sock.lock where="beside the control socket"

check "the lock file is $where, mode 0600" \
  test "$(stat -c %a "$lock" 2>/dev/null)" = 600
check "it names the running daemon" test "$(tr -d '\n' <"$lock" 2>/dev/null)" = "$first"

audit_rows() { sqlite3 "$db" "select seq, event, detail, hash from audit order by seq"; }
audit_rows >"$W/audit.before"
sock_inode=$(stat -c %i "$W/JP-NPA/icx.sock")
# What the store holds: its files, or on PostgreSQL the database's rows.
store_sum() {
  if [[ -n "${ICX_TEST_STORE:-}" ]]; then
    local d; d=$(pg_dump -a "$ICX_TEST_STORE/gw_db_jp_npa") || return 1
    [[ $d == *"COPY public.audit "* ]] || return 1
    # Without comments and pg_dump's random \restrict key of each dump.
    printf '%s\n' "$d" | grep -Ev '^(--|\\(un)?restrict )' | sha256sum | cut -c1-64
  else
    sha256sum "$db" "$db-wal" 2>/dev/null | cut -c1-64 | tr '\n' ' '
  fi
}
db_sum=$(store_sum)

# The same configuration again, as an operator would start it.
(cd "$W/JP-NPA" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$W/second.out" 2>&1
rc=$?
check "a second icx serve on the same configuration exits 1 (refused)" test "$rc" -eq 1
check "its message names the lock file" grep -qF "$lock" "$W/second.out"
check "and the running daemon's pid" grep -q "pid $first\b" "$W/second.out"
echo "     $(head -1 "$W/second.out")"
check "the store files were not written" \
  bash -c '[[ -n $1 && $1 == "$2" ]]' _ "$db_sum" "$(store_sum)"
check "the first daemon's control socket is the same socket" \
  test "$(stat -c %i "$W/JP-NPA/icx.sock")" = "$sock_inode"
check "and still answers" icx_at JP-NPA partners
check "the first daemon still runs" kill -0 "$first"

gw_stop JP-NPA
audit_rows >"$W/audit.after"
n_before=$(wc -l <"$W/audit.before")
check "the records before the second start are unchanged" \
  cmp -s "$W/audit.before" <(head -n "$n_before" "$W/audit.after")
# New since: the first daemon's answer to `icx partners`, and its stop.
check "the audit log gained only the first daemon's records" \
  test "$(tail -n +$((n_before + 1)) "$W/audit.after" | cut -d'|' -f2,3 | tr '\n' ';')" \
    = "operator.command|command=partners user=$(id -un);daemon.stop|pid=$first;"
check "one daemon.start in the log, the first daemon's" \
  test "$(sqlite3 "$db" "select count(*) from audit where event='daemon.start'")" -eq 1
check "the audit log verifies" "$icx" audit verify -c "$W/JP-NPA/gateway.yaml"

# The lock goes with its holder, however it ends.
check "after a clean stop the gateway starts again" gw_start JP-NPA
gw_kill JP-NPA
check "after kill -9 the gateway starts again" gw_start JP-NPA
check "the lock names the new daemon" test "$(tr -d '\n' <"$lock")" = "${GW_PID[JP-NPA]}"
gw_stop JP-NPA
finish
