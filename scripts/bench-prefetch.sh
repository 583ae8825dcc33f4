#!/usr/bin/env bash
# Work ahead of users, measured (`make bench`, after scripts/bench.sh): each
# scenario on a fresh release `wxfarm serve` over the sample data, with the
# feature off and on, side by side. Every figure is the median of
# BENCH_REPS runs. Writes the "Prefetch and warming (make bench)" section of
# docs/performance.md (between <!-- prefetch-bench:start --> and
# <!-- prefetch-bench:end -->).
#
#   animation   the shipped animation at a viewer's pace (--rate 24: 2 frames
#               a second), lookahead off vs on
#   pan         the shipped pan (5×4 view, z6, new tiles only) at a user's
#               pace (--rate 16: 4 steps a second), spatial prefetch off vs on
#   new_hour    a forecast hour arrives while serving: the first 2×2 view at
#               z3 of it, static warming off vs on
#   trace       users concentrated on three regions during run N (plus 10 %
#               random browsing), then run N+1 arrives and the same users
#               come back: hot-set precision and recall from /metrics
#   cold_load   the sequential z8 sweep (distinct tiles, 8 workers): users'
#               miss latency with prefetch off vs on
#
# Environment: BENCH_REPS (3), BENCH_DOC (docs/performance.md), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
REPS=${BENCH_REPS:-3}
DOC=${BENCH_DOC:-docs/performance.md}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
CORES=$(nproc)
for cmd in cargo curl python3; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done

log "building release binaries"
cargo build --release --quiet -p wxfarm --bin wxfarm -p wxfarm-loadgen --bins

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxfarm-bench-prefetch.XXXXXX")
RES=$WORK/results
mkdir -p "$RES" "$WORK/scenarios"
SERVER_PID=""
cleanup() {
  stop_pid "$SERVER_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Only the feature a row compares is on; the others stay off.
NONE=(--warm-max-zoom -1 --prefetch-rings 0 --lookahead 0 --hot-set 0)
LOOKAHEAD=(--warm-max-zoom -1 --prefetch-rings 0 --hot-set 0)
SPATIAL=(--warm-max-zoom -1 --lookahead 0 --hot-set 0)
STATIC=(--prefetch-rings 0 --lookahead 0 --hot-set 0)
HOT=(--warm-max-zoom -1 --prefetch-rings 0 --lookahead 0)

# metric NAME LABEL: the sum of the server's NAME samples whose labels
# contain LABEL (empty: all).
metric() {
  curl -sf "$URL/metrics" | python3 -c '
import sys
name, label = sys.argv[1], sys.argv[2]
total = 0.0
for line in sys.stdin:
    if (line.startswith(name + "{") or line.startswith(name + " ")) and label in line:
        total += float(line.rsplit(" ", 1)[1])
print(int(total))' "$1" "$2"
}

# settled: waits until every warm job queued so far has rendered and the
# count has stopped moving (the scheduler queues in the background).
settled() {
  local last=-1 same=0 queued rendered
  for _ in $(seq 1 1200); do
    queued=$(metric wxfarm_warm_jobs_total "")
    rendered=$(metric wxfarm_renders_total 'priority="warm"')
    if [ "$queued" -eq "$last" ] && [ "$rendered" -ge "$queued" ]; then
      same=$((same + 1))
      [ "$same" -ge 4 ] && return 0
    else
      same=0
    fi
    last=$queued
    sleep 0.25
  done
  die "warming never settled ($rendered of $queued rendered)"
}

# has_forecast LAYER HOUR: whether the server lists HOUR for LAYER.
has_forecast() {
  curl -sf "$URL/api/layers" | python3 -c '
import json, sys
layer, hour = sys.argv[1], float(sys.argv[2])
sys.exit(0 if any(l["name"] == layer and hour in l["forecasts"] for l in json.load(sys.stdin)) else 1)' "$1" "$2"
}

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
log "writing sample data (run N and run N+1)"
RUN_N=$(date -u +%Y-%m-%dT00:00:00Z)
RUN_N1=$(date -u +%Y-%m-%dT06:00:00Z)
"$BIN/wxfarm" demo-data "$WORK/data" --run "$RUN_N" >"$WORK/demo.log" 2>&1 || die "demo-data: $(tail -n5 "$WORK/demo.log")"
"$BIN/wxfarm" demo-data "$WORK/next" --run "$RUN_N1" >>"$WORK/demo.log" 2>&1 || die "demo-data: $(tail -n5 "$WORK/demo.log")"

log "animation and pan at a user's pace"
for rep in $(seq 1 "$REPS"); do
  start_server "${NONE[@]}"
  lg animation_off "$rep" -s animation --base-url "$URL" --rate 24
  start_server "${LOOKAHEAD[@]}"
  lg animation_on "$rep" -s animation --base-url "$URL" --rate 24
  start_server "${NONE[@]}"
  lg pan_off "$rep" -s pan --base-url "$URL" --rate 16 --duration 12s
  start_server "${SPATIAL[@]}"
  lg pan_on "$rep" -s pan --base-url "$URL" --rate 16 --duration 12s
done

log "cold_load: users' misses with prefetch off and on"
SWEEP=$(sweep_scenario)
for rep in $(seq 1 "$REPS"); do
  for mode in off on; do
    if [ "$mode" = off ]; then start_server "${NONE[@]}"; else start_server "${SPATIAL[@]}"; fi
    curl -sf -o /dev/null "$URL/tiles/gfs_TMP_2m/gradient/0/0/0.png?forecast=0" || die "preload failed"
    lg "cold_load_$mode" "$rep" -s "$SWEEP" --base-url "$URL"
  done
done

log "new_hour: the first view of a forecast hour that arrives while serving"
NEW_HOUR=6
HOLD=$WORK/held
mkdir -p "$HOLD"
NEW_LAYERS=(gfs_TMP_2m gfs_PRMSL_msl gfs_UGRD_10m gfs_PRATE_sfc)
for rep in $(seq 1 "$REPS"); do
  for mode in off on; do
    DATA=$WORK/arriving
    rm -rf "$DATA" "$HOLD"
    mkdir -p "$HOLD"
    cp -r "$WORK/data" "$DATA"
    held=$(find "$DATA" -name "*f00$NEW_HOUR*")
    [ -n "$held" ] || die "no f00$NEW_HOUR file in the sample data"
    for f in $held; do mv "$f" "$HOLD/"; done
    if [ "$mode" = off ]; then
      POLL_SECS=1 start_server "${NONE[@]}"
    else
      POLL_SECS=1 start_server "${STATIC[@]}"
    fi
    settled # start-up warming of the other hours, when on
    for f in $held; do mv "$HOLD/$(basename "$f")" "$f"; done
    for _ in $(seq 1 400); do has_forecast gfs_TMP_2m "$NEW_HOUR" && break; sleep 0.05; done
    has_forecast gfs_TMP_2m "$NEW_HOUR" || die "forecast hour $NEW_HOUR never arrived"
    settled
    for layer in "${NEW_LAYERS[@]}"; do
      view=$(view_scenario "new_hour_$layer" "$layer" "$NEW_HOUR")
      lg "new_hour_${mode}_$layer" "$rep" -s "$view" --base-url "$URL"
    done
  done
done
unset DATA

log "trace: run N watched, run N+1 arrives, the same users return"
desk() { # desk NAME LON LAT: a forecaster animating a 4×3 view at z6
  scenario "desk_$1" "$XYZ
seed: 3
requests: 300
concurrency: 3
layers:
  - name: gfs_TMP_2m
    dimensions:
      forecast: {from: 0, to: 24, step: 1}
strategy: {kind: animation, zoom: 6, center: [$2, $3], viewport: [4, 3], dimension: forecast}"
}
DESKS=("$(desk europe 10 50)" "$(desk plains -97 38)" "$(desk asia 120 35)")
BROWSE="$XYZ
requests: 100
concurrency: 2
layers:
  - name: gfs_TMP_2m
    dimensions:
      forecast: {from: 0, to: 24, step: 1}
strategy: {kind: random, zoom: [3, 8]}"
# users REP PHASE SEED: the three desks and the random browsing, at once.
users() {
  local pids=() i=0
  for d in "${DESKS[@]}"; do
    i=$((i + 1))
    lg "trace_$2_desk$i" "$1" -s "$d" --base-url "$URL" &
    pids+=($!)
  done
  lg "trace_$2_browse" "$1" -s "$(scenario "browse_$3" "seed: $3
$BROWSE")" --base-url "$URL" &
  pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || die "trace $2: a user failed"; done
}
for rep in $(seq 1 "$REPS"); do
  DATA=$WORK/trace
  rm -rf "$DATA"
  cp -r "$WORK/data" "$DATA"
  POLL_SECS=1 start_server "${HOT[@]}"
  users "$rep" run_n $((10 + rep))
  # Run N+1 arrives, every file renamed into place (atomic, as an upload
  # tool does it).
  staged=$DATA/.incoming
  cp -r "$WORK/next" "$staged"
  (cd "$staged" && find . -type f) | while read -r f; do
    mkdir -p "$DATA/next/$(dirname "$f")"
    mv "$staged/$f" "$DATA/next/$f"
  done
  rm -rf "$staged"
  for _ in $(seq 1 600); do
    [ "$(metric wxfarm_warm_jobs_total 'source="hot_set"')" -gt 0 ] && break
    sleep 0.1
  done
  settled
  queued=$(metric wxfarm_warm_queued_total 'source="hot_set"')
  used0=$(metric wxfarm_warm_used_total "")
  hot0=$(metric wxfarm_warm_used_total 'source="hot_set"')
  miss0=$(metric wxfarm_tile_requests_total 'tier="miss"')
  users "$rep" run_n1 $((20 + rep))
  used=$(($(metric wxfarm_warm_used_total "") - used0))
  hot=$(($(metric wxfarm_warm_used_total 'source="hot_set"') - hot0))
  miss=$(($(metric wxfarm_tile_requests_total 'tier="miss"') - miss0))
  printf '{"queued": %s, "hot_used": %s, "used": %s, "misses": %s}\n' \
    "$queued" "$hot" "$used" "$miss" >"$RES/trace.$rep.metrics.json"
done
unset DATA
stop_pid "$SERVER_PID"
SERVER_PID=""
ELAPSED=$(($(date +%s) - START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

log "writing $DOC"
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
python3 "$ROOT/scripts/bench_prefetch_report.py" "$RES" "$DOC" "$REPS" "$CORES" "${CPU:-unknown}" \
  "$ELAPSED" "$LOAD_BEFORE / $LOAD_AFTER" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$NEW_HOUR" "${NEW_LAYERS[@]}"
log "done in $(($(date +%s) - START)) s"
