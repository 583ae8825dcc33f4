# Helpers shared by the benchmark scripts (sourced, not run). They expect
# WORK (a scratch folder), RES (results folder) and BIN (release binaries).

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
stop_pid() { # stop_pid PID: terminate one child we started and reap it
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# wait_url FILE PID: the address a server printed as its first stdout line.
wait_url() {
  local line
  for _ in $(seq 1 600); do
    line=$(head -n1 "$1" 2>/dev/null || true)
    if [[ $line == "listening on "* ]]; then
      printf '%s\n' "${line#listening on }"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || die "server exited; see its log above: $(tail -n5 "$WORK/server.log" 2>/dev/null)"
    sleep 0.05
  done
  die "no 'listening on' line from the server within 30 s"
}

URL=""
STARTS=0
# start_server [ARGS...]: a fresh wxfarm serve (empty tile and grid caches)
# on a free port over $DATA (default $WORK/data), polling it every
# $POLL_SECS (default 0: never), with ARGS. Each start gets
# its own stdout file: reusing one could hand back the previous server's
# address before the new process truncates it.
start_server() {
  stop_pid "$SERVER_PID"
  STARTS=$((STARTS + 1))
  local out=$WORK/server.$STARTS.out
  "$BIN/wxfarm" serve --data "${DATA:-$WORK/data}" --listen 127.0.0.1:0 --poll-secs "${POLL_SECS:-0}" "$@" \
    >"$out" 2>>"$WORK/server.log" &
  SERVER_PID=$!
  URL=$(wait_url "$out" "$SERVER_PID")
}

# lg KEY REP ARGS...: one loadgen run, JSON report into results/KEY.REP.json.
# Threshold verdicts (exit 3) are the scenarios' business, not the bench's;
# any failed request is, though: figures with errors in them mean nothing.
lg() {
  local key=$1 rep=$2 out code=0
  shift 2
  out=$RES/$key.$rep.json
  "$BIN/wxfarm-loadgen" run -q --output json --out "$out" "$@" || code=$?
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ] || die "$key: wxfarm-loadgen exited $code"
  python3 - "$out" "$key" <<'EOF' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
if s["requests"] == 0 or s["errors"]:
    sys.exit(f"bench: {sys.argv[2]}: {s['requests']} requests, {s['errors']} errors {s['statuses']}")
EOF
}

# wrk_run KEY REP URL: wrk's own report into results/KEY.REP.wrk.
wrk_run() {
  wrk -t"$CORES" -c"$CONC" -d5s --latency "$3" >"$RES/$1.$2.wrk"
}

scenario() { # scenario NAME YAML-BODY: a bench-only scenario file
  printf 'name: %s\n%s\n' "$1" "$2" >"$WORK/scenarios/$1.yaml"
  printf '%s\n' "$WORK/scenarios/$1.yaml"
}

# The XYZ tile URL template of the bench-only scenarios.
XYZ='url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"'

# sweep_scenario: distinct tiles for 5 s, 8 workers: a sequential z8 sweep
# (65 536 tiles: a few seconds of sweeping never comes back to one).
sweep_scenario() {
  scenario cold_render "$XYZ
seed: 1
duration: 5s
concurrency: 8
timeout: 30s
dimensions: {forecast: [0]}
layers: [{name: gfs_TMP_2m}]
strategy: {kind: sequential, zoom: 8}"
}

# view_scenario NAME LAYER FORECAST: the first 2×2 view at z3 of LAYER at
# FORECAST (four concurrent requests), as a user opening the map sees it.
view_scenario() {
  scenario "$1" "$XYZ
seed: 1
requests: 4
concurrency: 4
timeout: 30s
dimensions: {forecast: [$3]}
layers: [{name: $2}]
strategy: {kind: fixed, tiles: [[3, 1, 2], [3, 2, 2], [3, 1, 3], [3, 2, 3]]}"
}
