#!/usr/bin/env bash
# The signer process (docs/SECURITY.md) killed with -9 while the daemons
# sign: the sender's signer with requests waiting in it, then both sides'
# signers again and again through a burst of 1,000 messages (the sender
# signs envelopes, the receiver receipts).  Every submit is acknowledged,
# every message is delivered exactly once (counted by MessageId at the
# receiver), the retries are audited, and the signer is back.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

gw_pair_and_absent || { bad "JP-NPA starts"; finish; exit 1; }
gw_start PH-NBI || { bad "PH-NBI starts"; finish; exit 1; }
payload=$src/docs/samples/case-referral-payload.xml

jp_signers() { # signer processes of JP-NPA's key, whoever their parent
  local c
  for c in /proc/[0-9]*/cmdline; do
    tr '\0' ' ' <"$c" 2>/dev/null | grep "^icx signer " | grep -F "$W/" |
      grep -qF "keys/JP-NPA/key.pem" && echo "$c"
  done
}
submit_n() { # n -> "queued" lines on stdout
  local files=() i
  for i in $(seq "$1"); do files+=("$payload"); done
  icx_at JP-NPA submit "${files[@]}" --to PH-NBI --category case-referral \
    --legal-basis "MLAT test" --retain-until 2031-12-31
}
audited() { # id event -> count
  sqlite3 "$W/$1/icx.db" "select count(*) from audit where event='$2'"
}
accepted_ids() { sqlite3 "$W/PH-NBI/icx.db" "select message_id from inbox where state='accepted' and sender='JP-NPA'" | sort; }

s1=$(gw_signer JP-NPA)
check "JP-NPA runs a signer process" test -n "$s1"
check "and it is not the daemon" test "$s1" != "${GW_PID[JP-NPA]}"

# --- 1. requests waiting in the signer when it dies ---------------------
# Stopped, the signer holds the requests of the submit; killed, they fail
# in flight, the workers ask the restarted signer, the submit succeeds.
kill -STOP "$s1"
submit_n 20 >"$W/acked1" 2>"$W/err1" &
sub=$!
sleep 1
kill -9 "$s1"
wait "$sub"
rc=$?
check "the submit signed while the signer died succeeds" test "$rc" -eq 0
check "all 20 acknowledged" test "$(grep -c '^queued' "$W/acked1")" -eq 20
check "the signature retries are audited" \
  bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from audit where event='signer.retry'\") -ge 1 ]]"
s2=$(gw_signer JP-NPA)
check "a new signer runs" bash -c "[[ -n '$s2' && '$s2' != '$s1' ]]"
check "the old one was reaped (no zombie)" bash -c "! [[ -e /proc/$s1 ]]"

# --- 1b. killed while idle: back within seconds, before it is needed --
kill -9 "$s2"
check "a signer killed while idle is replaced without a request" \
  wait_for 10 bash -c "p=\$(for d in /proc/[0-9]*; do [[ \$(cat \$d/comm 2>/dev/null) == icx-signer && \$(awk '{print \$4}' \$d/stat 2>/dev/null) == ${GW_PID[JP-NPA]} ]] && echo \${d#/proc/}; done); [[ -n \$p && \$p != $s2 ]]"
check "and the dead one reaped" wait_for 5 bash -c "! [[ -e /proc/$s2 ]]"

# --- 2. kill -9 of both signers, again and again, through a burst -------
: >"$W/acked2"
( for b in $(seq 10); do submit_n 100 2>>"$W/err2" | awk '/^queued/ {print $2}' >>"$W/acked2"; done ) &
sub=$!
kills=0
while kill -0 "$sub" 2>/dev/null; do
  for id in JP-NPA PH-NBI; do
    p=$(gw_signer "$id")
    [[ -n $p ]] && kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
  done
  sleep 0.05
done
wait "$sub"
echo "     signers killed $kills times during the burst"
check "signers were killed during the burst" test "$kills" -ge 2
check "no submit was refused" test ! -s "$W/err2"
check "all 1000 acknowledged" test "$(sort -u "$W/acked2" | wc -l)" -eq 1000
awk '/^queued/ {print $2}' "$W/acked1" >>"$W/acked2"
total=$(sort -u "$W/acked2" | wc -l)
check "all $total delivered" \
  wait_for 120 bash -c "[[ \$(sqlite3 '$W/JP-NPA/icx.db' \"select count(*) from outbox where state='delivered' and recipient='PH-NBI'\") -ge $total ]]"
check "the receiver holds each acknowledged MessageId" \
  bash -c "[[ -z \$(comm -23 <(sort -u '$W/acked2') <(sqlite3 '$W/PH-NBI/icx.db' \"select message_id from inbox where state='accepted' and sender='JP-NPA'\" | sort)) ]]"
check "each once" \
  test "$(sqlite3 "$W/PH-NBI/icx.db" "select count(*) - count(distinct message_id) from inbox")" -eq 0
check "and nothing else" test "$(accepted_ids | wc -l)" -eq "$total"
check "no receipt failed to be signed" test "$(audited PH-NBI receipt.failed)" -eq 0
# The burst's last kill may be a moment ago: back within seconds, as in 1b.
has_signer() { [[ -n $(gw_signer "$1") ]]; }
check "JP-NPA's signer is back" wait_for 10 has_signer JP-NPA
m=$(submit_sample JP-NPA PH-NBI)
check "and signs: one more message delivered" wait_for 30 delivered JP-NPA "$m"
check "PH-NBI's signer is back" test -n "$(gw_signer PH-NBI)"

# --- 3. the daemon stops: its signer goes with it -----------------------
s3=$(gw_signer JP-NPA)
check "its command line names JP-NPA's key" test -n "$(jp_signers 2>/dev/null)"
gw_stop JP-NPA
check "a stopped daemon leaves no signer behind" \
  wait_for 10 bash -c "! [[ -e /proc/$s3 ]]"
check "no checkpoint went unsigned" \
  bash -c "! grep -q 'level=error event=audit.checkpoint' '$W/JP-NPA/log'"

# --- 4. a key the signer cannot load: the daemon says so, as before -----
cp "$W/keys/JP-NPA/key.pem" "$W/key.saved"
echo "not a key" >"$W/keys/JP-NPA/key.pem"
(cd "$W/JP-NPA" && exec timeout 20 "$icx" serve -c gateway.yaml) >"$W/bad-key.log" 2>&1
rc=$?
check "icx serve with an unreadable key exits 1 (got $rc)" test "$rc" -eq 1
check "and names the key file and the fault" \
  grep -qF "keys/JP-NPA/key.pem: cannot load PEM private key" "$W/bad-key.log"
check "and leaves no signer behind" test -z "$(jp_signers 2>/dev/null)"
cp "$W/key.saved" "$W/keys/JP-NPA/key.pem"

# --- 5. under the systemd unit's filter (seccomp() refused: EPERM) ------
# The signer loads its filters through prctl there; it must lock down and
# sign all the same.
deny=${ICX_BUILD_DIR:?ICX_BUILD_DIR not set}/tests/icx_test_deny_seccomp
(cd "$W/JP-NPA" && exec "$deny" "$icx" serve -c gateway.yaml) >>"$W/JP-NPA/log" 2>&1 &
GW_PID[JP-NPA]=$!
check "JP-NPA starts under a filter that refuses seccomp()" \
  wait_for 20 "$icx" partners -c "$W/JP-NPA/gateway.yaml"
s5=$(gw_signer JP-NPA)
check "its signer runs" test -n "$s5"
check "and every signer thread is filtered all the same" \
  bash -c "! grep -L '^Seccomp:[[:space:]]*2' /proc/$s5/task/*/status | grep -q ."
m=$(submit_sample JP-NPA PH-NBI)
check "and signs: a message delivered" wait_for 30 delivered JP-NPA "$m"
check "without a signer restart" test "$(gw_signer JP-NPA)" = "$s5"
gw_stop JP-NPA
finish
