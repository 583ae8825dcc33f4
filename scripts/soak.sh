#!/usr/bin/env bash
# Soak (`make soak`): a release `wxfarm serve` over the sample data for
# SOAK_SECS (300) under valid and hostile traffic at once:
#   - wxfarm-loadgen's `pan` scenario (valid tiles, 4 closed-loop workers);
#   - scripts/soak_traffic.py: SOAK_SLOW (2000) slow clients holding half-sent
#     request heads (reopened whenever cut off), a loop of hostile requests
#     (world-sized barb maps, NaN boxes, giant sizes, tiny contour
#     intervals, overlong URIs, traversal), and a timed /healthz probe every
#     100 ms.
# Pass: no valid-tile error, /healthz p99 under 50 ms with no failed probe,
# no 5xx for hostile requests other than 501/503, the server alive at the
# end. Writes the result between <!-- soak:start --> and <!-- soak:end --> in
# docs/reliability.md (SOAK_DOC), and exits non-zero on a failed check.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECS=${SOAK_SECS:-300}
SLOW=${SOAK_SLOW:-2000}
DOC=${SOAK_DOC:-docs/reliability.md}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release

log() { printf 'soak: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((SLOW + 512)) ] || die "need $((SLOW + 512)) file descriptors, have $(ulimit -n)"

log "building release binaries"
cargo build --release --quiet -p wxfarm --bin wxfarm -p wxfarm-loadgen --bins

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxfarm-soak.XXXXXX")
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "writing sample data"
"$BIN/wxfarm" demo-data "$WORK/data" >"$WORK/demo-data.log" 2>&1 || die "demo-data failed"
"$BIN/wxfarm" serve --data "$WORK/data" --listen 127.0.0.1:0 --poll-secs 0 \
  >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  line=$(head -n1 "$WORK/server.out" 2>/dev/null || true)
  [[ $line == "listening on "* ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -n5 "$WORK/server.log")"
  sleep 0.05
done
URL=${line#listening on }
[ -n "$URL" ] || die "no 'listening on' line from the server"

log "soaking $URL for ${SECS}s: pan + $SLOW slow clients + hostile requests + /healthz probe"
python3 scripts/soak_traffic.py "$URL" "$SECS" "$SLOW" >"$WORK/hostile.json" &
TRAFFIC=$!
code=0
"$BIN/wxfarm-loadgen" run -q -s pan --base-url "$URL" --concurrency 4 --duration "${SECS}s" \
  --output json --out "$WORK/valid.json" || code=$?
[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || die "wxfarm-loadgen exited $code"
wait "$TRAFFIC" || die "soak_traffic.py failed"
ALIVE=yes
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=no
PEAK_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)

python3 - "$WORK/valid.json" "$WORK/hostile.json" "$DOC" "$SECS" "$SLOW" "$ALIVE" "$PEAK_KB" "$(nproc)" <<'PY'
import datetime, json, re, sys
valid_path, hostile_path, doc, secs, slow, alive, peak_kb, cores = sys.argv[1:]
v = json.load(open(valid_path))["summary"]
h = json.load(open(hostile_path))
hz = h["healthz"]
bad = {s: n for s, n in h["hostile_statuses"].items() if s == "None" or (int(s) >= 500 and s not in ("501", "503"))}
checks = [
    ("valid tiles: no errors", v["errors"] == 0 and v["requests"] > 0),
    ("/healthz p99 < 50 ms, no failed probe", hz["p99_ms"] is not None and hz["p99_ms"] < 50 and hz["failures"] == 0),
    ("hostile requests: only 4xx, 501 or 503", not bad),
    ("server alive at the end", alive == "yes"),
]
l = v["latency"]
lines = [
    f"Run {datetime.date.today()} on {cores} cores (server, load generator and hostile clients share them), "
    f"release `wxfarm serve` over `wxfarm demo-data`, {int(secs)} s, by `scripts/soak.sh`.",
    "",
    "| what | result |",
    "|---|---|",
    f"| valid tiles (`pan`, 4 workers) | {v['requests']} requests, {v['errors']} errors, p50 {l['p50_ms']:.1f} ms, p99 {l['p99_ms']:.1f} ms |",
    f"| slow clients held open | {slow} at once; {h['slow_clients']['opened']} opened, {h['slow_clients']['cut_off']} cut off by the header timeout, {h['slow_clients']['refused']} refused |",
    f"| hostile requests | {sum(h['hostile_statuses'].values())}: " + ", ".join(f"{n} × {s}" for s, n in sorted(h["hostile_statuses"].items())) + " |",
    f"| `/healthz` probe (fresh connection, every 100 ms) | {hz['count']} ok, {hz['failures']} failed; p50 {hz['p50_ms']:.1f} ms, p99 {hz['p99_ms']:.1f} ms, max {hz['max_ms']:.1f} ms |",
    f"| server peak RSS | {int(peak_kb) // 1024} MiB |",
    "",
] + [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks]
section = "<!-- soak:start -->\n" + "\n".join(lines) + "\n<!-- soak:end -->"
try:
    text = open(doc).read()
except FileNotFoundError:
    text = "# Reliability\n\n<!-- soak:start -->\n<!-- soak:end -->\n"
text = re.sub(r"<!-- soak:start -->.*<!-- soak:end -->", lambda _: section, text, flags=re.S)
open(doc, "w").write(text)
print("\n".join(lines))
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
