# Sourced by the scripts that picture the demo data (style-samples.sh,
# screenshots.sh): `demo_serve WORK` builds wxfarm unless BIN names a folder
# holding one, writes the demo data under WORK, starts `wxfarm serve` on a
# free port and sets URL and SERVER_PID (the caller's trap stops it).
demo_serve() {
  local work=$1
  if [[ -z ${BIN:-} ]]; then
    cargo build --release --quiet --bin wxfarm
    BIN=${CARGO_TARGET_DIR:-target}/release
  fi
  "$BIN/wxfarm" demo-data "$work/data" >/dev/null
  "$BIN/wxfarm" serve --data "$work/data" --listen 127.0.0.1:0 --poll-secs 0 \
    >"$work/server.out" 2>"$work/server.log" &
  SERVER_PID=$!
  URL=""
  local line
  for _ in $(seq 1 600); do
    line=$(head -n1 "$work/server.out" 2>/dev/null || true)
    if [[ $line == "listening on "* ]]; then URL=${line#listening on }; break; fi
    sleep 0.05
  done
  [[ -n $URL ]] || { echo "server did not start: $(cat "$work/server.log")" >&2; exit 1; }
}
