#!/usr/bin/env bash
# Farm benchmark (`make bench-farm`): the same distinct-tile miss path
# through the embedded queue (`wxfarm serve`) and through the farm (gateway →
# JetStream → worker → Redis), L2-hit latency (a second gateway asking for
# tiles the first one rendered), and render throughput with 1 and 2 worker
# processes. Writes the "Farm benchmarks" section of docs/performance.md
# (between <!-- farm-bench:start --> and <!-- farm-bench:end -->).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DOC=${BENCH_DOC:-docs/performance.md}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
REQS=${BENCH_REQUESTS:-1500}
log() { printf 'bench-farm: %s\n' "$*" >&2; }

cargo build --release --quiet -p wxfarm --bin wxfarm -p wxfarm-loadgen --bins
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxfarm-bench-farm.XXXXXX")
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  "$BIN/wxfarm" farm down --dir "$WORK/farm" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "sample data"
"$BIN/wxfarm" demo-data "$WORK/data" --hours 3 --run 2025-06-01T00:00:00Z 2>/dev/null

# A sweep of distinct tiles: every request is a render (the grid is decoded
# by the first request and then cached by the worker).
scenario() { # scenario NAME BASE_URL CONCURRENCY [ZOOM]
  cat >"$WORK/$1.yaml" <<YAML
name: $1
base_url: $2
url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast=0"
seed: 1
requests: $REQS
concurrency: $3
layers:
  - name: gfs_TMP_2m
strategy:
  kind: sequential
  zoom: [${4:-8}, ${4:-8}]
YAML
  "$BIN/wxfarm-loadgen" run --scenario "$WORK/$1.yaml" --output json -q >"$WORK/$1.json" || true
}
warm_grid() { curl -fsS -o /dev/null "$1/tiles/gfs_TMP_2m/gradient/0/0/0.png?forecast=0"; }

log "embedded serve"
"$BIN/wxfarm" serve --data "$WORK/data" --listen 127.0.0.1:0 --poll-secs 0 >"$WORK/serve.out" 2>/dev/null &
SERVER_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/serve.out" && break; sleep 0.2; done
SERVE_URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
warm_grid "$SERVE_URL"
scenario embedded_c1 "$SERVE_URL" 1
kill "$SERVER_PID"; SERVER_PID=""

for workers in 1 2; do
  log "farm with $workers worker(s)"
  "$BIN/wxfarm" farm down --dir "$WORK/farm" >/dev/null 2>&1 || true
  rm -rf "$WORK/farm"
  "$BIN/wxfarm" farm up --dir "$WORK/farm" --workers "$workers" --gateways 2 --warm-max-zoom -1 --sample "$WORK/data" >"$WORK/farm.json" 2>"$WORK/farm.log"
  GW1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway_urls"][0])' "$WORK/farm.json")
  GW2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway_urls"][1])' "$WORK/farm.json")
  for _ in $(seq 50); do curl -fsS -o /dev/null "$GW1/tiles/gfs_TMP_2m/gradient/0/0/0.png?forecast=0" 2>/dev/null && break; sleep 0.2; done
  if [ "$workers" = 1 ]; then
    scenario farm_c1 "$GW1" 1      # miss path through the queue
    scenario farm_l2 "$GW2" 1      # the same tiles from the other gateway: L2
  fi
  scenario "farm_w${workers}_c8" "$GW2" 8 9 # z9: tiles no gateway has seen
done
"$BIN/wxfarm" farm down --dir "$WORK/farm" >/dev/null 2>&1 || true

python3 - "$WORK" "$DOC" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" <<'PY'
import json, sys, datetime, os, re
work, doc, cores, cpu = sys.argv[1:5]
def load(name):
    with open(os.path.join(work, name + ".json")) as f:
        return json.load(f)["summary"]
def lat(s, tier=None, q="p50_ms"):
    src = s["cache"][tier]["latency"] if tier else s["latency"]
    return src[q]
e, f, l2 = load("embedded_c1"), load("farm_c1"), load("farm_l2")
w1, w2 = load("farm_w1_c8"), load("farm_w2_c8")
rows = [
    ("miss, embedded queue (serve), 1 client", lat(e, "MISS"), lat(e, "MISS", "p99_ms"), e["rps"]),
    ("miss, farm (gateway → JetStream → worker → Redis), 1 client", lat(f, "MISS"), lat(f, "MISS", "p99_ms"), f["rps"]),
    ("L2 hit (second gateway, Redis), 1 client", lat(l2, "L2"), lat(l2, "L2", "p99_ms"), l2["rps"]),
    ("render throughput, 1 worker process, 8 clients", lat(w1), lat(w1, q="p99_ms"), w1["rps"]),
    ("render throughput, 2 worker processes, 8 clients", lat(w2), lat(w2, q="p99_ms"), w2["rps"]),
]
out = ["<!-- farm-bench:start -->", "## Farm benchmarks (scripts/bench-farm.sh)", "",
       f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; machine: {cores} cores ({cpu}); release build",
       f"- distinct z8 tiles (throughput rows: z9) of `gfs_TMP_2m`, the grid decoded once before, {json.load(open(os.path.join(work,'farm_c1.json')))['summary']['requests']} requests per row; everything on loopback on the same {cores} cores",
       "", "| path | p50 ms | p99 ms | req/s |", "| --- | ---: | ---: | ---: |"]
out += [f"| {n} | {a:.2f} | {b:.2f} | {r:,.0f} |" for n, a, b, r in rows]
out += ["", f"The queue adds **{lat(f,'MISS') - lat(e,'MISS'):.2f} ms** at p50 to a miss (farm − embedded).",
        f"Two worker processes render {w2['rps']/max(w1['rps'],1e-9):.2f}× the tiles of one (both share the machine's {cores} cores with the gateway, NATS and Redis).",
        "<!-- farm-bench:end -->"]
text = open(doc).read() if os.path.exists(doc) else "# Performance record\n"
block = "\n".join(out) + "\n"
if "<!-- farm-bench:start -->" in text:
    text = re.sub(r"<!-- farm-bench:start -->.*?<!-- farm-bench:end -->\n?", block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block
open(doc, "w").write(text)
print(block)
PY
