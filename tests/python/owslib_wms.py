"""OWSLib's WMS 1.3.0 client against a running wxfarm.

Usage: owslib_wms.py BASE_URL OUT_DIR   (writes map.png and legend.png)
"""
import json
import sys
import urllib.request

from owslib.wms import WebMapService

base, out_dir = sys.argv[1], sys.argv[2]
wms = WebMapService(f"{base}/wms", version="1.3.0")
layer = wms["gfs_TMP_2m"]
img = wms.getmap(
    layers=["gfs_TMP_2m"],
    styles=["gradient"],
    srs="EPSG:4326",
    bbox=(-130, 20, -60, 55),
    size=(350, 175),
    format="image/png",
    time="2025-06-01T00:00:00Z",
)
with open(f"{out_dir}/map.png", "wb") as f:
    f.write(img.read())
info = wms.getfeatureinfo(
    layers=["gfs_TMP_2m"],
    srs="EPSG:4326",
    bbox=(-130, 20, -60, 55),
    size=(350, 175),
    format="image/png",
    query_layers=["gfs_TMP_2m"],
    info_format="application/json",
    xy=(175, 90),
)
legend_url = layer.styles["gradient"]["legend"]
with open(f"{out_dir}/legend.png", "wb") as f:
    f.write(urllib.request.urlopen(legend_url).read())
# Wind barbs over the Web Mercator box of tile z2 (1, 1), and their legend.
wind = wms["gfs_WIND_10m"]
half = 20037508.342789244
img = wms.getmap(
    layers=["gfs_WIND_10m"],
    styles=["wind_barbs"],
    srs="EPSG:3857",
    bbox=(-half / 2, 0.0, 0.0, half / 2),
    size=(256, 256),
    format="image/png",
    time="2025-06-01T00:00:00Z",
)
with open(f"{out_dir}/barbs_map.png", "wb") as f:
    f.write(img.read())
with open(f"{out_dir}/barbs_legend.png", "wb") as f:
    f.write(urllib.request.urlopen(wind.styles["wind_barbs"]["legend"]).read())
# A polar stereographic map (EPSG:3413 is easting first, so OWSLib sends
# the box as given).
img = wms.getmap(
    layers=["gfs_TMP_2m"],
    styles=["gradient"],
    srs="EPSG:3413",
    bbox=(-4000000, -4000000, 4000000, 4000000),
    size=(300, 300),
    format="image/png",
    time="2025-06-01T00:00:00Z",
)
with open(f"{out_dir}/polar_map.png", "wb") as f:
    f.write(img.read())
print(json.dumps({
    "layers": sorted(wms.contents),
    "operations": sorted(op.name for op in wms.operations),
    "crs": sorted(layer.crsOptions),
    "wind_styles": sorted(wind.styles),
    "info": json.loads(info.read()),
}))
