#!/usr/bin/env bash
# Partners witnessing each other's audit logs (docs/AUDIT.md, "Witnesses"):
# three gateways exchange their signed checkpoints with consistency proofs
# (icx audit witness-export / witness-import); each keeps and co-signs the
# others'; a gateway whose log went back (an older copy of its store put
# back) and then grew another history is detected by both others at the
# next exchange, audited and alerted; `icx audit witnesses` shows it.
set -uo pipefail
. "$(dirname "$0")/lib/gateways.sh"

export GW_CHECKPOINT_EVERY=1000 GW_CHECKPOINT_SECONDS=1
three_gateways || { bad "three gateways start"; finish; exit 1; }
ids=(JP-NPA PH-NBI INT-ICPO)
size_of() { sqlite3 "$W/$1/icx.db" "select max(size) from checkpoints"; }
traffic() { # from to count
  local i m
  for ((i = 0; i < $3; i++)); do m=$(submit_sample "$1" "$2"); done
  wait_for 20 delivered "$1" "$m"
}
export_of() { # id [from]
  icx_at "$1" audit witness-export --out "$W/$1.wit" ${2:+--from "$2"} >/dev/null
}
import_at() { # witness partner -> verdict word on stdout/stderr, exit code
  icx_at "$1" audit witness-import "$W/$2.wit" --partner "$2" \
    --cosign-out "$W/$2-by-$1.cosig" 2>&1
}
refused() { [[ $1 -eq 1 ]] && grep -q "$2" <<<"$3"; } # rc, pattern, output

m1=$(submit_sample JP-NPA PH-NBI)
check "traffic JP-NPA -> PH-NBI" traffic JP-NPA PH-NBI 2
check "traffic PH-NBI -> JP-NPA" traffic PH-NBI JP-NPA 2
sleep 2

# Round 1: everyone's first checkpoint, kept and co-signed by the others.
declare -A seen
for id in "${ids[@]}"; do
  export_of "$id"
  seen[$id]=$(sed -n 's/^size //p' "$W/$id.wit")
  for w in "${ids[@]}"; do
    [[ $w == "$id" ]] && continue
    out=$(import_at "$w" "$id")
    check "$w keeps $id's first checkpoint: $out" grep -q ": first" <<<"$out"
  done
done
# A co-signature checks with openssl and the witness's certificate alone.
c=$W/JP-NPA-by-PH-NBI.cosig
sed '$d' "$c" >"$W/cosig.txt"
sed -n 's/^signature //p' "$c" | openssl base64 -d -A >"$W/cosig.sig"
openssl x509 -in "$W/keys/PH-NBI/cert.pem" -pubkey -noout >"$W/ph-pub.pem"
check "PH-NBI's co-signature of JP-NPA's checkpoint verifies with openssl" \
  openssl dgst -sha256 -verify "$W/ph-pub.pem" -signature "$W/cosig.sig" "$W/cosig.txt"
check "the co-signature names the witness and the checkpoint" \
  bash -c "sed -n 2p '$W/cosig.txt' | grep -qx 'witness PH-NBI' && grep -qx 'size ${seen[JP-NPA]}' '$W/cosig.txt'"

# JP-NPA keeps PH-NBI's co-signature; a bundle of m1 carries it.
out=$(icx_at JP-NPA audit witness-cosigned "$W/JP-NPA-by-PH-NBI.cosig" --partner PH-NBI 2>&1)
check "JP-NPA keeps PH-NBI's co-signature: $out" grep -q "kept PH-NBI's co-signature" <<<"$out"
out=$(icx_at JP-NPA audit witness-cosigned "$W/JP-NPA-by-PH-NBI.cosig" --partner INT-ICPO 2>&1)
check "a co-signature sent as another witness's is refused: $out" grep -q "by PH-NBI, not INT-ICPO" <<<"$out"
sed 's/^size /size 9/' "$W/JP-NPA-by-PH-NBI.cosig" >"$W/bad.cosig"
check "a co-signature of another checkpoint is refused" \
  bash -c "! '$icx' audit witness-cosigned '$W/bad.cosig' --partner PH-NBI -c '$W/JP-NPA/gateway.yaml' 2>/dev/null"
check "bundle of m1 written" icx_at JP-NPA audit bundle "$m1" --out "$W/m1.icxb"
check "the bundle carries PH-NBI's co-signature" grep -q '^-----BEGIN ICX cosig-PH-NBI-----' "$W/m1.icxb"
check "icx audit check-bundle checks it" \
  bash -c "'$icx' audit check-bundle '$W/m1.icxb' | grep -q 'co-signature of the checkpoint by PH-NBI'"
sed -n '/^```sh verify-cosignature$/,/^```$/{//!p}' "$src/docs/AUDIT.md" >"$W/verify-cosig.sh"
check "the documented steps are in docs/AUDIT.md" test -s "$W/verify-cosig.sh"
mkdir -p "$W/manual" && (cd "$W/manual" && BUNDLE=$W/m1.icxb WITNESS=PH-NBI bash "$W/verify-cosig.sh") >"$W/cosig.out" 2>&1
check "the documented openssl steps verify the co-signature" grep -q "^co-signature by PH-NBI verified" "$W/cosig.out"
sed -n '/^```sh verify-bundle$/,/^```$/{//!p}' "$src/docs/AUDIT.md" >"$W/verify-bundle.sh"
(cd "$W/manual" && BUNDLE=$W/m1.icxb bash "$W/verify-bundle.sh") >"$W/bundle.out" 2>&1
check "the records verify against the co-signed checkpoint" grep -q "^bundle verified" "$W/bundle.out"
# The signature's first base64 character changed (to B where it was A).
awk '/^-----BEGIN ICX cosig-PH-NBI-----/{c=1} c && /^signature /{x = substr($0, 11, 1) == "A" ? "B" : "A"; $0 = "signature " x substr($0, 12); c=0} {print}' "$W/m1.icxb" >"$W/m1-bad.icxb"
check "the changed bundle differs from the bundle" bash -c "! cmp -s '$W/m1.icxb' '$W/m1-bad.icxb'"
(cd "$W/manual" && BUNDLE=$W/m1-bad.icxb WITNESS=PH-NBI bash "$W/verify-cosig.sh") >"$W/cosig2.out" 2>&1
check "a changed co-signature fails the documented steps" bash -c "! grep -q '^co-signature by PH-NBI verified' '$W/cosig2.out'"
check "and icx audit check-bundle" bash -c "! '$icx' audit check-bundle '$W/m1-bad.icxb' >/dev/null 2>&1"

# PH-NBI as it is now, kept aside (stopped: a consistent copy; on
# PostgreSQL, a copy of its database).
gw_stop PH-NBI
cp "$W/PH-NBI/icx.db.head" "$W/ph-old.db.head"
if [[ -n "${ICX_TEST_STORE:-}" ]]; then gw_db_copy "$(gw_db PH-NBI)" gw_db_ph_old
else cp "$W/PH-NBI/icx.db" "$W/ph-old.db"; fi
gw_start PH-NBI || bad "PH-NBI starts again"

# Round 2: the logs grew; each proof from the size the witness kept.
check "more traffic JP-NPA -> PH-NBI" traffic JP-NPA PH-NBI 3
check "more traffic PH-NBI -> JP-NPA" traffic PH-NBI JP-NPA 3
sleep 2
for id in "${ids[@]}"; do
  export_of "$id" "${seen[$id]}"
  new=$(sed -n 's/^size //p' "$W/$id.wit")
  for w in "${ids[@]}"; do
    [[ $w == "$id" ]] && continue
    out=$(import_at "$w" "$id")
    check "$w: $id's log of size $new extends ${seen[$id]}: $out" grep -q ": consistent" <<<"$out"
  done
  seen[$id]=$new
done
# A proof from a size the witness did not keep proves nothing.
traffic JP-NPA INT-ICPO 1 >/dev/null
sleep 2
export_of JP-NPA 1
out=$(import_at PH-NBI JP-NPA); rc=$?
check "a proof from another size is unproven (exit 1): $out" refused "$rc" unproven "$out"

# PH-NBI's log goes back: the older copy of its store is put back.
gw_stop PH-NBI
cp "$W/ph-old.db.head" "$W/PH-NBI/icx.db.head"
if [[ -n "${ICX_TEST_STORE:-}" ]]; then gw_db_copy gw_db_ph_old "$(gw_db PH-NBI)"
else
  cp "$W/ph-old.db" "$W/PH-NBI/icx.db"
  rm -f "$W/PH-NBI/icx.db-wal" "$W/PH-NBI/icx.db-shm"
fi
gw_start PH-NBI || bad "PH-NBI starts on its older store"
sleep 2
export_of PH-NBI "${seen[PH-NBI]}" 2>/dev/null || export_of PH-NBI
for w in JP-NPA INT-ICPO; do
  out=$(import_at "$w" PH-NBI); rc=$?
  check "$w detects that PH-NBI's log went back (exit $rc): $out" \
    refused "$rc" "alert: PH-NBI .*rollback" "$out"
done
# ...and grows another history past the size the witnesses kept.
until (( $(size_of PH-NBI) > ${seen[PH-NBI]} )); do
  traffic PH-NBI JP-NPA 2 || break
  sleep 1.5
done
export_of PH-NBI "${seen[PH-NBI]}"
for w in JP-NPA INT-ICPO; do
  out=$(import_at "$w" PH-NBI); rc=$?
  check "$w detects PH-NBI's rewritten log, size $(sed -n 's/^size //p' "$W/PH-NBI.wit") (exit $rc): $out" \
    refused "$rc" "alert: PH-NBI .*fork" "$out"
  check "$w audited it" bash -c "[[ \$(sqlite3 '$W/$w/icx.db' \"select count(*) from audit where event = 'witness.fork' and partner = 'PH-NBI'\") -ge 1 ]]"
  out=$(icx_at "$w" audit witnesses)
  check "$w's icx audit witnesses shows the fork" grep -Eq "^PH-NBI +[0-9]+ .* fork +[0-9]+ +2 " <<<"$out"
  check "and its other partner still consistent" \
    grep -Eq "^(JP-NPA|INT-ICPO) +[0-9]+ .* consistent +[0-9]+ +0 " <<<"$out"
  check "$w's witnesses --json" bash -c "'$icx' audit witnesses --json -c '$W/$w/gateway.yaml' | grep -q '\"partner\":\"PH-NBI\".*\"consistent\":false'"
done
# The rejected checkpoints never became the baseline: the real log, put
# back, is still judged against what was seen before.
check "icx audit verify of a witness's own log is intact" icx_at JP-NPA audit verify
finish
