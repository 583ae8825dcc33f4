#!/usr/bin/env bash
# Screenshots of the viewer as a user first sees it (`make screenshots`):
# headless Chromium against `wxfarm serve` on the demo data, written to
# docs/screenshots/ for the README. Views: the default (2 m temperature),
# radar with its legend, wind barbs, a clicked point with its time series,
# and each satellite layer the demo data has.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/screenshots}
# BIN: a folder holding a built wxfarm (default: build release).
BIN=${BIN:-}
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BROWSER=$(command -v chromium || command -v chromium-browser || true)
[[ -n $BROWSER ]] || { echo "screenshots: needs chromium (scripts/setup.sh installs it)" >&2; exit 1; }
# shellcheck source=scripts/demo-serve.sh
source scripts/demo-serve.sh
demo_serve "$WORK"
mkdir -p "$OUT"

shot() { # name, query
  "$BROWSER" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1200,760 --virtual-time-budget=15000 \
    --user-data-dir="$WORK/profile-$1" --screenshot="$OUT/$1.png" "$URL/$2" \
    >/dev/null 2>&1
  echo "screenshots: $OUT/$1.png"
}
shot default ""
shot radar "?layer=mrms_REFL&style=gradient&view=4/38/-96"
shot wind_barbs "?layer=gfs_WIND_10m&style=wind_barbs&view=4/45/-30"
shot click_for_value "?layer=gfs_TMP_2m&info=48.85,2.35&view=4/48/8"
# Satellite layers, when the demo data has them.
for layer in $(curl -fsS "$URL/api/layers" | python3 -c \
  'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin) if l["name"].startswith("goes")))'); do
  shot "$layer" "?layer=$layer"
done
