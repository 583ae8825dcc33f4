#!/usr/bin/env bash
# Cache hits at the HTTP stack's limit (issue #12): `wrk -t2 -c64` on one L1
# tile of a release `wxfarm serve`, against static-tile-server (the same
# HTTP stack answering one tile from memory: the ceiling) and nginx (when
# installed), back to back in each round so all see the same machine load.
# For each: req/s and server CPU per request (utime + stime of the server
# process from /proc/PID/stat over the run, divided by wrk's request count).
# Every figure is the median of BENCH_REPS rounds. Writes the "Cache hits vs
# the ceiling" section of docs/performance.md (between
# <!-- cache-hits:start --> and <!-- cache-hits:end -->). Called by
# scripts/bench.sh; runs alone too.
#
# wxfarm runs with its shipped per-request features on (hot-set counting,
# spatial prefetch, lookahead, CORS, metrics); only ingest-time warming is
# off, so no background renders share the CPU during the runs.
#
# Environment: BENCH_REPS (3), CACHE_BENCH_SECS (8), BENCH_DOC
# (docs/performance.md), CARGO_TARGET_DIR; CACHE_BENCH_BIN: a folder with
# already built `wxfarm` and `static-tile-server` to measure instead
# (nothing is built), e.g. an older build for a before/after.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
REPS=${BENCH_REPS:-3}
SECS=${CACHE_BENCH_SECS:-8}
DOC=${BENCH_DOC:-docs/performance.md}
BIN=${CACHE_BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release}
THREADS=2
CONNS=64
TILE_PATH="/tiles/gfs_TMP_2m/gradient/5/16/10.png?forecast=0"

for cmd in cargo curl python3 wrk; do
  command -v "$cmd" >/dev/null || die "$cmd is required (scripts/setup.sh installs wrk)"
done
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || log "nginx is missing (apt-get install nginx-light): measuring without it"

if [ -z "${CACHE_BENCH_BIN:-}" ]; then
  log "building release binaries"
  cargo build --release --quiet -p wxfarm --bin wxfarm -p wxfarm-loadgen --bin static-tile-server
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxfarm-cache-bench.XXXXXX")
RES=$WORK/results
mkdir -p "$RES"
SERVER_PID=""
STATIC_PID=""
NGINX_PID=""
cleanup() {
  stop_pid "$SERVER_PID"
  stop_pid "$STATIC_PID"
  stop_pid "$NGINX_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_ticks PID...: utime + stime (clock ticks) of the processes, all threads.
cpu_ticks() {
  local total=0 pid stat rest
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat")
    rest=${stat##*) } # fields from the 3rd on (the name may hold spaces)
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12])) # fields 14 and 15: utime, stime
  done
  echo "$total"
}

# measure KEY REP URL PID...: one wrk run; wrk's report, the server's CPU
# ticks over it and the load average before it into results/KEY.REP.*.
measure() {
  local key=$1 rep=$2 url=$3 before after
  shift 3
  cut -d' ' -f1-3 /proc/loadavg >"$RES/$key.$rep.load"
  before=$(cpu_ticks "$@")
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$url" >"$RES/$key.$rep.wrk"
  after=$(cpu_ticks "$@")
  echo $((after - before)) >"$RES/$key.$rep.ticks"
  if grep -q 'Non-2xx\|Socket errors' "$RES/$key.$rep.wrk"; then
    die "$key: errors during the run: $(grep 'Non-2xx\|Socket errors' "$RES/$key.$rep.wrk")"
  fi
}

START=$(date +%s)
log "writing sample data"
"$BIN/wxfarm" demo-data "$WORK/data" >"$WORK/demo-data.log" 2>&1 || die "demo-data failed: $(tail -n5 "$WORK/demo-data.log")"

start_server --warm-max-zoom -1
curl -sf -o /dev/null "$URL$TILE_PATH" || die "the first request for the tile failed"
curl -sf -D "$WORK/headers" -o "$WORK/tile.png" "$URL$TILE_PATH" || die "fetching the tile failed"
grep -qi '^x-cache: L1' "$WORK/headers" || die "the tile is not an L1 hit: $(cat "$WORK/headers")"

"$BIN/static-tile-server" "$WORK/tile.png" >"$WORK/static.out" 2>>"$WORK/server.log" &
STATIC_PID=$!
STATIC_URL=$(wait_url "$WORK/static.out" "$STATIC_PID")

TARGETS=(wxfarm static)
if [ -n "$NGINX" ]; then
  # nginx with the tile as a file (kept open), as many workers as cores,
  # unlimited keep-alive requests (as hyper), the tile's headers added.
  mkdir -p "$WORK/nginx/www"
  cp "$WORK/tile.png" "$WORK/nginx/www/tile.png"
  chmod -R a+rX "$WORK"
  NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
user $(id -un);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000000;
  open_file_cache max=16;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      root $WORK/nginx/www;
      default_type image/png;
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header X-Cache L1;
      add_header Access-Control-Allow-Origin *;
      try_files /tile.png =404;
    }
  }
}
EOF
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>>"$WORK/server.log" &
  NGINX_PID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT$TILE_PATH" && break
    sleep 0.05
  done
  curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT$TILE_PATH" || die "nginx did not answer: $(cat "$WORK/nginx/error.log")"
  TARGETS+=(nginx)
fi

# nginx_pids: the master and its workers.
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }

# A short warm-up of each (connections, allocator, caches), not measured.
wrk -t"$THREADS" -c"$CONNS" -d1s "$URL$TILE_PATH" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d1s "$STATIC_URL$TILE_PATH" >/dev/null
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
  log "round $rep of $REPS: ${TARGETS[*]}"
  measure wxfarm "$rep" "$URL$TILE_PATH" "$SERVER_PID"
  measure static "$rep" "$STATIC_URL$TILE_PATH" "$STATIC_PID"
  if [ -n "$NGINX" ]; then
    # shellcheck disable=SC2046 # one argument per pid
    measure nginx "$rep" "http://127.0.0.1:$NGINX_PORT$TILE_PATH" $(nginx_pids)
  fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# Hits were counted as such (metrics still count them).
curl -sf "$URL/metrics" | grep -q 'wxfarm_tile_requests_total{.*tier="l1"' ||
  die "/metrics does not count the L1 hits"

log "writing $DOC"
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
python3 - "$RES" "$DOC" "$REPS" "$SECS" "$(nproc)" "$THREADS" "$CONNS" "${CPU:-unknown}" \
  "$LOAD_BEFORE / $LOAD_AFTER" "$(($(date +%s) - START))" "$(getconf CLK_TCK)" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(rustc --version)" "$TILE_PATH" \
  "${TARGETS[@]}" <<'EOF'
import datetime, glob, os, re, statistics, sys

(res, doc, reps, secs, cores, threads, conns, cpu, load, elapsed, hz, commit, rustc, path,
 *targets) = sys.argv[1:]
hz = int(hz)

def runs(key):
    out = []
    for f in sorted(glob.glob(f"{res}/{key}.*.wrk")):
        text = open(f).read()
        n = int(re.search(r"(\d+) requests in", text).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
        ticks = int(open(f[:-4] + ".ticks").read())
        load = open(f[:-4] + ".load").read().split()[0]
        out.append({"rps": rps, "us": ticks / hz / n * 1e6, "load": load})
    return out

names = {
    "wxfarm": "wxfarm serve, L1 hit",
    "static": "static-tile-server (ceiling: same HTTP stack, one tile from memory)",
    "nginx": "nginx 1.x, the tile as a file (open_file_cache), same headers",
}
fig = {}
for t in targets:
    rs = runs(t)
    fig[t] = {
        "runs": rs,
        "rps": statistics.median(r["rps"] for r in rs),
        "us": statistics.median(r["us"] for r in rs),
    }
ceil = fig["static"]
out = []
w = out.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
w("<!-- cache-hits:start -->")
w("## Cache hits vs the ceiling (scripts/bench-cache-hits.sh)")
w("")
w("Generated by `scripts/bench-cache-hits.sh` (run by `make bench`); do not edit between the markers.")
w("")
w(f"- date: {now}, commit `{commit}`, {rustc}")
w(f"- machine: {cores} cores, {cpu}; load average (1/5/15 min) before / after: {load}; "
  f"wrk and the servers share the {cores} cores")
w(f"- `wrk -t{threads} -c{conns} -d{secs}s` on `{path}`; the targets back to back in each "
  f"of {reps} rounds; figures are medians over the rounds")
w("- CPU per request: the server's utime + stime (`/proc/PID/stat`, all threads; nginx: "
  "master and workers) over the run ÷ requests answered")
w("- wxfarm: release `serve` over `wxfarm demo-data`, shipped per-request features on "
  "(metrics, CORS, hot-set counting, prefetch, lookahead); startup warming off")
w("")
w("| target | req/s per round | req/s | CPU µs/request per round | CPU µs/request | load (1 min) per round |")
w("| --- | --- | ---: | --- | ---: | --- |")
for t in targets:
    f = fig[t]
    rps = " · ".join(format(r["rps"], ",.0f") for r in f["runs"])
    us = " · ".join(format(r["us"], ".1f") for r in f["runs"])
    loads = " · ".join(r["load"] for r in f["runs"])
    w(f"| {names[t]} | {rps} | **{f['rps']:,.0f}** | {us} | **{f['us']:.1f}** | {loads} |")
w("")
wx = fig["wxfarm"]
w(f"**wxfarm / ceiling: {wx['rps'] / ceil['rps']:.2f} of the req/s** (target ≥ 0.85), "
  f"**{wx['us'] / ceil['us']:.2f}× the CPU per request** (target ≤ 1.2).")
if "nginx" in fig:
    n = fig["nginx"]
    w(f"Against nginx: {wx['rps'] / n['rps']:.2f} of its req/s, {wx['us'] / n['us']:.2f}× its CPU per request.")
w("<!-- cache-hits:end -->")
section = "\n".join(out) + "\n"
text = open(doc).read() if os.path.exists(doc) else "# Performance\n"
pattern = re.compile(r"<!-- cache-hits:start -->.*?<!-- cache-hits:end -->\n?", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text, count=1)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(doc, "w").write(text)
print(section)
EOF
log "done in $(($(date +%s) - START)) s"
