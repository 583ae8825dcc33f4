#!/usr/bin/env bash
# Renders one sample map per style, and the legend of each colour scale,
# from the demo data into docs/styles/
# (`make style-samples`): WMS GetMap over the North Atlantic, overlays
# composited on their layer's gradient (Pillow) so they read as a forecaster
# would see them. Needs python3; installs Pillow into the user site if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/styles}
# BIN: a folder holding a built wxfarm (default: build release).
BIN=${BIN:-}
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 -c 'import PIL' 2>/dev/null || python3 -m pip install --quiet --user pillow
# shellcheck source=scripts/demo-serve.sh
source scripts/demo-serve.sh
demo_serve "$WORK"
mkdir -p "$OUT"
python3 - "$URL" "$OUT" <<'PY'
import io, sys, urllib.request
from PIL import Image

base, out = sys.argv[1], sys.argv[2]
BOX = "-6000000,2500000,1500000,8000000"  # EPSG:3857: North Atlantic, Europe
SIZE = (768, 563)

def getmap(layer, style, extra=""):
    url = (f"{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}"
           f"&STYLES={style}&CRS=EPSG:3857&BBOX={BOX}&WIDTH={SIZE[0]}&HEIGHT={SIZE[1]}"
           f"&FORMAT=image/png&forecast=0{extra}")
    return Image.open(io.BytesIO(urllib.request.urlopen(url).read())).convert("RGBA")

samples = {
    "gradient": ("gfs_TMP_2m", "gradient", None, ""),
    "filled_contours": ("gfs_TMP_2m", "filled_contours", None, ""),
    "isolines": ("gfs_PRMSL_msl", "isolines", ("gfs_TMP_2m", "gradient"), ""),
    "wind_barbs": ("gfs_WIND_10m", "wind_barbs", ("gfs_WIND_10m", "gradient"), ""),
    "wind_arrows": ("gfs_WIND_10m", "wind_arrows", ("gfs_WIND_10m", "gradient"), ""),
    "wind_barbs_by_speed": ("gfs_WIND_10m", "wind_barbs", ("gfs_PRMSL_msl", "isolines"),
                            "&COLORBYSPEED=true&COLORSCALERANGE=0,35"),
}
for name, (layer, style, under, extra) in samples.items():
    top = getmap(layer, style, extra)
    if under:
        paper = (120, 124, 130, 255) if name == "wind_barbs_by_speed" else (245, 245, 240, 255)
        base_img = Image.new("RGBA", SIZE, paper)
        base_img.alpha_composite(getmap(*under))
        if name != "wind_barbs_by_speed":
            # Fade the backdrop so the overlay reads.
            base_img = Image.blend(base_img, Image.new("RGBA", SIZE, (255, 255, 255, 255)), 0.35)
        base_img.alpha_composite(top)
        top = base_img
    top.save(f"{out}/{name}.png", optimize=True)
    print(f"{out}/{name}.png")

# Each colour scale as users see it: the legend of a layer that uses it.
legends = {
    "temperature": "gfs_TMP_2m",
    "precipitation": "gfs_PRATE_sfc",
    "pressure": "gfs_PRMSL_msl",
    "wind": "gfs_WIND_10m",
    "diverging": "gfs_UGRD_10m",
    "reflectivity": "mrms_REFL",
    "enhanced_ir": "goes16_C13_conus",
}
for name, layer in legends.items():
    url = f"{base}/legend/{layer}/gradient.png?WIDTH=360&HEIGHT=56"
    with open(f"{out}/legend_{name}.png", "wb") as f:
        f.write(urllib.request.urlopen(url).read())
    print(f"{out}/legend_{name}.png")
PY
