"""Drives a running wxfarm with OWSLib, the reference Python OGC client.

Usage: owslib_client.py BASE_URL OUT_DIR
Prints a JSON summary; writes the tile OWSLib fetched to OUT_DIR/tile.png.
"""
import json
import sys

from owslib.wmts import WebMapTileService

base, out_dir = sys.argv[1], sys.argv[2]
wmts = WebMapTileService(f"{base}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities")
layer = wmts.contents["gfs_TMP_2m"]
summary = {
    "layers": sorted(wmts.contents),
    "dimensions": sorted(layer.dimensions),
    "forecast_values": layer.dimensions["forecast"]["values"],
    "tile_matrix_sets": sorted(wmts.tilematrixsets),
    "styles": sorted(layer.styles),
}
tile = wmts.gettile(
    layer="gfs_TMP_2m",
    style="gradient",
    tilematrixset="WebMercatorQuad",
    tilematrix="2",
    row=1,
    column=3,
    format="image/png",
    forecast="2",
)
with open(f"{out_dir}/tile.png", "wb") as f:
    f.write(tile.read())
# A vector layer offers the wind symbol styles on top of the scalar ones.
summary["wind_styles"] = sorted(wmts.contents["gfs_WIND_10m"].styles)
for style in ("wind_barbs", "isolines"):
    layer_name = "gfs_WIND_10m" if style == "wind_barbs" else "gfs_PRMSL_msl"
    tile = wmts.gettile(
        layer=layer_name,
        style=style,
        tilematrixset="WebMercatorQuad",
        tilematrix="2",
        row=1,
        column=1,
        format="image/png",
        forecast="0",
    )
    with open(f"{out_dir}/{style}.png", "wb") as f:
        f.write(tile.read())
print(json.dumps(summary))
