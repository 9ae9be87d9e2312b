# The server of lists_https.sh (ICX_LISTS_HTTPS_SERVER) that counts: the
# gateway itself, `icx serve` with an http: section on TLS whose client_ca
# is the bundle of the partners' certificates (docs/PARTNERS.md "Lists
# over HTTPS", config/README.md), the lists mounted under /lists/.
# Sourced by lists_https.sh after lib/gateways.sh.
LISTS_SERVE_ID=
lists_serve_start() { # gateway.yaml cert key client-ca
  LISTS_SERVE_ID=$(basename "$(dirname "$1")")
  gw_http "$LISTS_SERVE_ID" "tls_certificate: $2" "tls_key: $3" "client_ca: $4"
  gw_start "$LISTS_SERVE_ID" || return 1
  wait_for 20 test -s "$W/$LISTS_SERVE_ID/http-url" || return 1
  BASE=$(gw_url "$LISTS_SERVE_ID")lists
}
lists_serve_stop() { [[ -z $LISTS_SERVE_ID ]] || gw_stop "$LISTS_SERVE_ID"; }

# What only the real server has, run by lists_https.sh at its end.
lists_serve_more() {
  local id=$LISTS_SERVE_ID y=$W/$LISTS_SERVE_ID/gateway.yaml
  local ph=(--cacert "$W/https-cert.pem" --cert "$P/ph-cert.pem" --key "$P/ph-key.pem")
  code() { curl -sS -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
  check "icx serve answers with TLS and client certificates" \
    grep -q 'web.listening url=https://127.0.0.1:.* tls=client-certificates' "$W/$id/log"
  check "its daemon holds no key: the signer process signs" grep -q 'key.loaded .*signer_pid=[1-9]' "$W/$id/log"
  # A partner's certificate opens /lists/ only, never the officers' pages.
  check "PH-NBI's certificate on the dashboard: 403" test "$(code "${ph[@]}" "${BASE%lists}")" = 403
  check "PH-NBI's certificate on /metrics: 403" test "$(code "${ph[@]}" "${BASE%lists}metrics")" = 403
  # A reload that takes the list from PH-NBI takes it over HTTPS too.
  check "PH-NBI before the reload: 200" test "$(code "${ph[@]}" "$BASE/csam-hashes/notification.xml")" = 200
  sed -i '/^lists: \[csam-hashes\]$/d' "$W/$id/partners/ph-nbi.yaml"
  local before; before=$(grep -c 'config.loaded' "$W/$id/log")
  gw_hup "$id"
  wait_for 20 bash -c "test \$(grep -c config.loaded '$W/$id/log') -gt $before"
  check "PH-NBI after a reload that took csam-hashes from it: 404" \
    test "$(code "${ph[@]}" "$BASE/csam-hashes/notification.xml")" = 404
  check "and that refusal is audited" \
    test "$(sqlite3 "$W/$id/icx.db" "select count(*) from audit where event='list.http.refused' and partner='PH-NBI' and detail='list=csam-hashes reason=not-authorized'")" -ge 1
  # The loopback dashboard without TLS: no client certificate, no partner.
  echo "lists: [csam-hashes]" >>"$W/$id/partners/ph-nbi.yaml"
  gw_stop "$id"
  sed -i '/^  tls_certificate:/d; /^  tls_key:/d; /^  client_ca:/d' "$y"
  gw_start "$id" || { bad "$id starts with a plain loopback dashboard"; return; }
  local u; u=$(gw_url "$id")
  check "the plain loopback dashboard answers" test "$(code "$u")" = 200
  check "but serves no list there: 404" test "$(code "${u}lists/csam-hashes/notification.xml")" = 404
  check "the audit chain verifies at the end" "$icx" audit verify -c "$y"
}
