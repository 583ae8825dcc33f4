#!/usr/bin/env bash
# GRIB2 decoding, ours beside ecCodes, in process, message by message.
#
#   scripts/bench-decode-peers.sh [RUNS] [ROUNDS]
#
# Installs the PyPI eccodes wheel (it bundles the C library) with
# `pip install --user` if python3 cannot import it, writes the demo data's
# f000 and re-packs sample fields with ecCodes as templates 5.0, 5.2, 5.3
# (orders 1 and 2, with and without a bit-map), 5.40 (JPEG 2000), 5.41
# (PNG) and 5.42 (CCSDS), then times, for the same messages (those and
# the real GDAS, NDFD, CMC JPEG 2000, ECMWF CCSDS and MRMS PNG samples):
#   - ecCodes: codes_get_values on a fresh handle, CPU time
#     (time.process_time), median of RUNS (default 15);
#   - ours: decode::decode_message on the message's bytes (parse, unpack,
#     scan order: more than ecCodes' call does), CPU time of the decoding
#     thread, median of RUNS, from decode/examples/decode_time.rs;
# both sides alternately, ROUNDS times (default 3), and prints the median
# of the rounds with their ratio, and a summary per template.
# With WXFARM_PEERS_DOC=FILE (`make bench-peers` passes
# docs/performance.md) the summary is also written into FILE between its
# <!-- decode-peers:start --> and <!-- decode-peers:end --> markers.
# With WXFARM_PEERS_IDENTITY=1 it also runs the bit-identity test over the
# re-packed files (our unpacker against the grib crate's).
#
# Scratch files go to $WORK (default a fresh temporary folder). Respects
# CARGO_TARGET_DIR; both sides run one thread.
set -euo pipefail

RUNS=${1:-15}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAMPLES=${WXFARM_GRIB_SAMPLES:-$ROOT/../shared/data/grib}
WORK=${WORK:-$(mktemp -d -t wxfarm-decode-peers.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HELPER=$ROOT/scripts/bench_decode_peers.py

log() { printf 'bench-decode-peers: %s\n' "$*" >&2; }

[ -d "$SAMPLES" ] || {
  log "no GRIB samples at $SAMPLES (set WXFARM_GRIB_SAMPLES)"
  exit 1
}
if ! python3 -c 'import eccodes' 2>/dev/null; then
  log "installing the eccodes wheel (pip install --user eccodes)"
  python3 -m pip install --quiet --user eccodes
fi
python3 -m eccodes selfcheck >&2

log "building the decode_time example"
(cd "$ROOT" && cargo build --quiet --release -p wxfarm-decode --example decode_time)
BIN=$TARGET/release/examples/decode_time

log "writing demo data and re-packed fields under $WORK"
"$BIN" --write-demo "$WORK/demo" >/dev/null
F000=$(find "$WORK/demo" -name '*.f000' | head -n1)
python3 "$HELPER" prepare "$WORK/packed" "$SAMPLES" "$F000" 2>/dev/null

FILES=(
  "$SAMPLES/gdas.t12z.pgrb2.0p25.f000.12.xz"
  "$SAMPLES/gdas.t12z.pgrb2.0p25.f000.46.xz"
  "$SAMPLES/ds.critfireo.bin.xz"
  "$SAMPLES/CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"
  "$SAMPLES/20250912120000-0h-oper-fc.grib2.89.xz"
  "$SAMPLES/MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz"
  "$F000"
  "$WORK"/packed/*.grib2
)

if [ "${WXFARM_PEERS_IDENTITY:-0}" != 0 ]; then
  log "bit-identity of the re-packed files (our unpacker against the grib crate)"
  (cd "$ROOT" && WXFARM_IDENTITY_GRIB_DIR="$WORK/packed" cargo test --quiet -p wxfarm-decode --lib \
    extra_files_decode_bit_identically -- --nocapture) >&2
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load)
ECC_TSV=() OURS_TSV=()
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS: timing ecCodes ($RUNS runs per message)"
  python3 "$HELPER" time --runs "$RUNS" "${FILES[@]}" >"$WORK/eccodes.$round.tsv"
  log "round $round of $ROUNDS: timing ours ($RUNS runs per message)"
  "$BIN" --runs "$RUNS" --templates 0,2,3,40,41,42 "${FILES[@]}" >"$WORK/ours.$round.tsv"
  ECC_TSV+=("$WORK/eccodes.$round.tsv") OURS_TSV+=("$WORK/ours.$round.tsv")
done
LOAD_AFTER=$(load)

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ECCODES=$(python3 -c 'import eccodes; print(eccodes.codes_get_api_version())')
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)
MACHINE="$(date -u +%Y-%m-%d), $(nproc) cores ($CPU), load average $LOAD_BEFORE before / $LOAD_AFTER after, ecCodes $ECCODES (PyPI wheel), ours at commit $COMMIT, median of $ROUNDS rounds of $RUNS runs per message"
echo "cores: $(nproc); $CPU; load average $LOAD_BEFORE before, $LOAD_AFTER after"
echo "ecCodes $ECCODES; ours: $COMMIT"
DOC_ARGS=()
[ -n "${WXFARM_PEERS_DOC:-}" ] && DOC_ARGS=(--doc "$WXFARM_PEERS_DOC" --machine "$MACHINE")
python3 "$HELPER" table "$(IFS=,; echo "${ECC_TSV[*]}")" "$(IFS=,; echo "${OURS_TSV[*]}")" "${DOC_ARGS[@]}"
log "raw timings: $WORK/eccodes.*.tsv $WORK/ours.*.tsv"
