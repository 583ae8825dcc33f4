#!/usr/bin/env bash
# System benchmark (`make bench`): a release `wxfarm serve` on loopback over
# the sample data, driven by wxfarm-loadgen. Every figure is the median of
# BENCH_REPS runs. Writes the "System benchmarks (make bench)" section of
# docs/performance.md (between <!-- bench:start --> and <!-- bench:end -->;
# the rest of the file is kept).
#
#   warm_cache   cache-hit throughput: the shipped warm_cache hotspot (L1)
#   ceiling      the same scenario against static-tile-server (axum, one tile
#                from memory): the most this HTTP stack can do on this box
#   cold_render  distinct tiles, grid already decoded: sequential z8 sweep
#   cold_start   fresh server per layer (nothing cached): the first 2x2 view
#   pan          the shipped pan pattern at z10, 4 000 requests, fresh server
#   animation    the shipped animation scenario on a fresh server
#   tool check   one URL, wxfarm-loadgen vs wrk, against wxfarm and the ceiling
#   cache hits   scripts/bench-cache-hits.sh: wrk -c64 on one L1 tile, wxfarm vs
#                the ceiling (and nginx): req/s and CPU per request
#
# Environment: BENCH_REPS (3), BENCH_SECS (10: measured seconds of the timed
# scenarios), BENCH_DOC (docs/performance.md), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
REPS=${BENCH_REPS:-3}
SECS=${BENCH_SECS:-10}
DOC=${BENCH_DOC:-docs/performance.md}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
CORES=$(nproc)
CONC=16 # closed-loop workers / wrk connections for the throughput scenarios
# Rendering is what these rows measure: no warming or prefetch (compared
# with them on in scripts/bench-prefetch.sh).
COLD=(--warm-max-zoom -1 --prefetch-rings 0 --lookahead 0 --hot-set 0)
COLD_START_LAYERS=(gfs_TMP_2m gfs_PRMSL_msl gfs_UGRD_10m gfs_VGRD_10m gfs_PRATE_sfc mrms_REFL)

for cmd in cargo curl python3; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done
HAVE_WRK=1
command -v wrk >/dev/null || {
  HAVE_WRK=0
  log "wrk is missing (scripts/setup.sh installs it): skipping the tool check"
}

log "building release binaries"
cargo build --release --quiet -p wxfarm --bin wxfarm -p wxfarm-loadgen --bins

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxfarm-bench.XXXXXX")
RES=$WORK/results
mkdir -p "$RES" "$WORK/scenarios"
SERVER_PID=""
STATIC_PID=""

cleanup() {
  stop_pid "$SERVER_PID"
  stop_pid "$STATIC_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SINGLE=$(scenario single_url "$XYZ
seed: 1
duration: 5s
warmup: 1s
concurrency: $CONC
dimensions: {forecast: [0]}
layers: [{name: gfs_TMP_2m}]
strategy: {kind: fixed, tiles: [[5, 16, 10]]}")
SWEEP=$(sweep_scenario)
# The shipped pan at z10 (1024 columns): one lap east is ~4 000 new tiles, so
# the run measures panning onto unseen tiles (at z6 a lap is 256 tiles and a
# timed run soon becomes cache hits, which warm_cache already covers).
PAN=$WORK/scenarios/pan_z10.yaml
sed -e 's/^name: pan$/name: pan_z10/' -e 's/^  zoom: 6$/  zoom: 10/' -e 's/^duration: .*$/requests: 4000/' \
  loadgen/scenarios/pan.yaml >"$PAN"
if ! grep -q '^  zoom: 10$' "$PAN" || ! grep -q '^requests: 4000$' "$PAN"; then
  die "loadgen/scenarios/pan.yaml changed shape: update the pan_z10 edit in $0"
fi
SINGLE_PATH="/tiles/gfs_TMP_2m/gradient/5/16/10.png?forecast=0"

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
log "writing sample data"
"$BIN/wxfarm" demo-data "$WORK/data" >"$WORK/demo-data.log" 2>&1 || die "demo-data failed: $(tail -n5 "$WORK/demo-data.log")"

log "warm_cache (cache hits), tool check on wxfarm"
start_server "${COLD[@]}"
for rep in $(seq 1 "$REPS"); do
  lg warm_cache "$rep" -s warm_cache --base-url "$URL" --concurrency "$CONC" --duration "${SECS}s" --warmup 3s
done
for rep in $(seq 1 "$REPS"); do
  lg single_wxfarm "$rep" -s "$SINGLE" --base-url "$URL"
  [ "$HAVE_WRK" -eq 0 ] || wrk_run single_wxfarm "$rep" "$URL$SINGLE_PATH"
done
curl -sf -o "$WORK/tile.png" "$URL$SINGLE_PATH" || die "fetching the ceiling's tile failed"
stop_pid "$SERVER_PID"
SERVER_PID=""

log "ceiling: static-tile-server"
"$BIN/static-tile-server" "$WORK/tile.png" >"$WORK/static.out" 2>>"$WORK/server.log" &
STATIC_PID=$!
STATIC_URL=$(wait_url "$WORK/static.out" "$STATIC_PID")
for rep in $(seq 1 "$REPS"); do
  lg ceiling "$rep" -s warm_cache --base-url "$STATIC_URL" --concurrency "$CONC" --duration "${SECS}s" --warmup 3s
done
for rep in $(seq 1 "$REPS"); do
  lg single_static "$rep" -s "$SINGLE" --base-url "$STATIC_URL"
  [ "$HAVE_WRK" -eq 0 ] || wrk_run single_static "$rep" "$STATIC_URL$SINGLE_PATH"
done
stop_pid "$STATIC_PID"
STATIC_PID=""

log "cold_render, pan, animation (fresh server each run)"
for rep in $(seq 1 "$REPS"); do
  start_server "${COLD[@]}"
  # Decode the grid first (any tile of the layer and hour), so the sweep measures rendering.
  curl -sf -o /dev/null "$URL/tiles/gfs_TMP_2m/gradient/0/0/0.png?forecast=0" || die "preload failed"
  lg cold_render "$rep" -s "$SWEEP" --base-url "$URL"
  start_server "${COLD[@]}"
  lg pan "$rep" -s "$PAN" --base-url "$URL"
  start_server "${COLD[@]}"
  lg animation "$rep" -s animation --base-url "$URL"
done

log "cold_start (fresh server per layer)"
for rep in $(seq 1 "$REPS"); do
  for layer in "${COLD_START_LAYERS[@]}"; do
    view=$(view_scenario "cold_start_$layer" "$layer" 0)
    start_server "${COLD[@]}"
    lg "cold_start_$layer" "$rep" -s "$view" --base-url "$URL"
  done
done
stop_pid "$SERVER_PID"
SERVER_PID=""
ELAPSED=$(($(date +%s) - START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

log "writing $DOC"
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
python3 - "$RES" "$DOC" "$REPS" "$SECS" "$CORES" "$CONC" "${CPU:-unknown}" "$ELAPSED" "$LOAD_BEFORE / $LOAD_AFTER" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(rustc --version)" \
  "${COLD_START_LAYERS[@]}" <<'EOF'
import datetime, glob, json, os, re, statistics, sys

res, doc, reps, secs, cores, conc, cpu, elapsed, load, commit, rustc, *layers = sys.argv[1:]

def runs(key):
    files = sorted(glob.glob(f"{res}/{key}.*.json"))
    return [json.load(open(f)) for f in files]

def med(values):
    return statistics.median(values) if values else float("nan")

def fig(key):
    """Median of each figure over the runs of `key`."""
    rs = [r["summary"] for r in runs(key)]
    tier = lambda s, t: s["cache"][t]["count"] / s["requests"] * 100
    return {
        "n": len(rs),
        "requests": med([s["requests"] for s in rs]),
        "rps": med([s["rps"] for s in rs]),
        "p50": med([s["latency"]["p50_ms"] for s in rs]),
        "p99": med([s["latency"]["p99_ms"] for s in rs]),
        "max": med([s["latency"]["max_ms"] for s in rs]),
        "l1": med([tier(s, "L1") for s in rs]),
        "miss": med([tier(s, "MISS") for s in rs]),
        "kib": med([s["bytes"] / s["requests"] / 1024 for s in rs]),
    }

def wrk(key):
    rps, p50, p99 = [], [], []
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for f in sorted(glob.glob(f"{res}/{key}.*.wrk")):
        text = open(f).read()
        m = re.search(r"Requests/sec:\s+([\d.]+)", text)
        if m:
            rps.append(float(m.group(1)))
        for pct, acc in (("50", p50), ("99", p99)):
            m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
            if m:
                acc.append(float(m.group(1)) * unit[m.group(2)])
    return {"n": len(rps), "rps": med(rps), "p50": med(p50), "p99": med(p99)}

def n0(x):
    return f"{x:,.0f}"

def ms(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"

warm, ceil = fig("warm_cache"), fig("ceiling")
rows = [
    ("warm_cache", f"shipped hotspot, {secs} s after a 3 s warm-up, {conc} workers (cache hits)", warm),
    ("ceiling", "the same against static-tile-server (one tile from memory, same HTTP stack)", ceil),
    ("cold_render", "sequential z8 sweep of distinct tiles, grid already decoded, 8 workers, 5 s", fig("cold_render")),
    ("pan", "shipped pan at z10 (5×4 view moving east, new tiles only, WMTS KVP, 6 workers), 4 000 requests, fresh server", fig("pan")),
    ("animation", "shipped animation (4×3 view, z5, 25 forecast hours, 300 requests, closed loop), fresh server", fig("animation")),
]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
out = []
w = out.append
w("<!-- bench:start -->")
w("## System benchmarks (make bench)")
w("")
w("Generated by `scripts/bench.sh` (`make bench`); do not edit between the markers.")
w("")
w(f"- date: {now}, commit `{commit}`, {rustc}")
w(f"- machine: {cores} cores (`nproc`), {cpu}; load average (1/5/15 min) before / after: {load}")
w(f"- setup: release `wxfarm serve` on loopback over `wxfarm demo-data` (default options), "
  f"load from `wxfarm-loadgen` on the same machine (client and server share the {cores} cores)")
w(f"- every figure is the median of {reps} runs (each figure separately); whole run {elapsed} s")
w("")
w("### Throughput and latency")
w("")
w("| scenario | what | req/s | p50 ms | p99 ms | L1 % | MISS % | KiB/tile |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, what, f in rows:
    w(f"| {name} | {what} | {n0(f['rps'])} | {ms(f['p50'])} | {ms(f['p99'])} | "
      f"{f['l1']:.0f} | {f['miss']:.0f} | {f['kib']:.1f} |")
w("")
w(f"**wxfarm / ceiling (cache hits, wxfarm-loadgen): {warm['rps'] / ceil['rps']:.2f}** "
  f"({n0(warm['rps'])} vs {n0(ceil['rps'])} req/s).")
sw, ss = wrk("single_wxfarm"), wrk("single_static")
if sw["n"] and ss["n"]:
    w(f"With wrk on one URL (lighter client, see below): **{sw['rps'] / ss['rps']:.2f}** "
      f"({n0(sw['rps'])} vs {n0(ss['rps'])} req/s).")
w("")
w("### Cold start (nothing cached)")
w("")
w("A fresh server per layer and run; the first 2×2 view at z3 (four concurrent requests, "
  "forecast 0): p50 is a tile, max is the whole view, both including the grid decode.")
w("")
w("| layer | p50 ms | view (max) ms |")
w("| --- | ---: | ---: |")
for layer in layers:
    f = fig(f"cold_start_{layer}")
    w(f"| {layer} | {ms(f['p50'])} | {ms(f['max'])} |")
w("")
w("### Is the load generator the bottleneck?")
w("")
w(f"One URL (`/tiles/gfs_TMP_2m/gradient/5/16/10.png?forecast=0`, an L1 hit), {conc} "
  f"connections, 5 s (loadgen after a 1 s warm-up), wxfarm-loadgen vs `wrk -t{cores} -c{conc} -d5s`.")
w("")
w("| target | wxfarm-loadgen req/s | p50 ms | wrk req/s | p50 ms | loadgen / wrk |")
w("| --- | ---: | ---: | ---: | ---: | ---: |")
for target, key in (("wxfarm", "single_wxfarm"), ("static-tile-server", "single_static")):
    lgf, wk = fig(key), wrk(key)
    if wk["n"]:
        w(f"| {target} | {n0(lgf['rps'])} | {ms(lgf['p50'])} | {n0(wk['rps'])} | {ms(wk['p50'])} | "
          f"{lgf['rps'] / wk['rps']:.2f} |")
    else:
        w(f"| {target} | {n0(lgf['rps'])} | {ms(lgf['p50'])} | (wrk missing) | | |")
w("")
w("Where loadgen / wrk is well below 1 the client, not the server, sets the pace: "
  "on a machine this small both share the cores, so read the cache-hit and ceiling "
  "rows as lower bounds and the wrk column as the better estimate of server capacity.")
w("<!-- bench:end -->")
section = "\n".join(out) + "\n"

if os.path.exists(doc):
    text = open(doc).read()
    pattern = re.compile(r"<!-- bench:start -->.*?<!-- bench:end -->\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
else:
    text = "# Performance\n\n" + section
os.makedirs(os.path.dirname(doc) or ".", exist_ok=True)
open(doc, "w").write(text)
print(section)
EOF
log "done in $(($(date +%s) - START)) s"
# Cache hits vs the ceiling (and nginx) with wrk -c64, req/s and CPU per
# request: its own section of the same document.
BENCH_DOC=$DOC "$ROOT/scripts/bench-cache-hits.sh"
