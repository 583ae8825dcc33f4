#!/usr/bin/env bash
# GRIB2 decoding, ours beside ecCodes, in process, message by message.
#
#   scripts/bench-decode-peers.sh [RUNS]
#
# Installs the PyPI eccodes wheel (it bundles the C library) with
# `pip install --user` if python3 cannot import it, writes the demo data's
# f000 and re-packs sample fields with ecCodes as templates 5.0, 5.2 and
# 5.3 (orders 1 and 2, with and without a bit-map), then times, for the
# same messages:
#   - ecCodes: codes_get_values on a fresh handle, CPU time
#     (time.process_time), median of RUNS (default 15);
#   - ours: decode::decode_message on the message's bytes (parse, unpack,
#     scan order: more than ecCodes' call does), median of RUNS, from
#     decode/examples/decode_time.rs;
# and prints both with their ratio, and a summary per template.
# With WXFARM_PEERS_IDENTITY=1 it also runs the bit-identity test over the
# re-packed files (our unpacker against the grib crate's).
#
# Scratch files go to $WORK (default a fresh temporary folder). Respects
# CARGO_TARGET_DIR; both sides run one thread.
set -euo pipefail

RUNS=${1:-15}
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
  "$F000"
  "$WORK"/packed/*.grib2
)

if [ "${WXFARM_PEERS_IDENTITY:-0}" != 0 ]; then
  log "bit-identity of the re-packed files (our unpacker against the grib crate)"
  (cd "$ROOT" && WXFARM_IDENTITY_GRIB_DIR="$WORK/packed" cargo test --quiet -p wxfarm-decode --lib \
    extra_files_decode_bit_identically -- --nocapture) >&2
fi

log "timing ecCodes ($RUNS runs per message)"
python3 "$HELPER" time --runs "$RUNS" "${FILES[@]}" >"$WORK/eccodes.tsv"
log "timing ours ($RUNS runs per message)"
"$BIN" --runs "$RUNS" --templates 0,2,3 "${FILES[@]}" >"$WORK/ours.tsv"

echo "cores: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "ecCodes $(python3 -c 'import eccodes; print(eccodes.codes_get_api_version())'); ours: $(cd "$ROOT" && git rev-parse --short HEAD)"
python3 "$HELPER" table "$WORK/eccodes.tsv" "$WORK/ours.tsv"
log "raw timings: $WORK/eccodes.tsv $WORK/ours.tsv"
