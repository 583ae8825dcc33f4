//! Cross-checks the capabilities document with an independent client:
//! OWSLib, the Python OGC library QGIS-adjacent tooling uses. Skipped (with
//! the reason printed) where python3 or OWSLib is missing; install it with
//! `pip install OWSLib`.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use gateway::ogc::wmts_capabilities;

/// Reads the document from stdin and asserts what a client must see.
const SCRIPT: &str = r#"
import sys
from owslib.wmts import WebMapTileService

model, obs, levelled, hostile, run = sys.argv[1:6]
w = WebMapTileService("http://localhost/wmts", xml=sys.stdin.buffer.read())

assert w.identification.title == "wxfarm", w.identification.title
assert w.identification.type == "OGC WMTS", w.identification.type
ops = sorted(o.name for o in w.operations)
assert ops == ["GetCapabilities", "GetFeatureInfo", "GetTile"], ops
assert w.serviceMetadataURL.endswith("/wmts/1.0.0/WMTSCapabilities.xml")

assert sorted(w.contents) == sorted([model, obs, levelled]), list(w.contents)
assert sorted(w.tilematrixsets) == ["WebMercatorQuad", "WorldCRS84Quad"]
merc = w.tilematrixsets["WebMercatorQuad"]
assert merc.crs == "urn:ogc:def:crs:EPSG::3857", merc.crs
assert len(merc.tilematrix) == 19
assert merc.tilematrix["3"].matrixwidth == 8
crs84 = w.tilematrixsets["WorldCRS84Quad"]
assert crs84.tilematrix["0"].topleftcorner == (-180.0, 90.0)
assert crs84.tilematrix["0"].matrixwidth == 2

m = w.contents[model]
assert sorted(m.dimensions) == ["forecast", "run"], m.dimensions
assert m.dimensions["run"]["default"] == run
assert m.dimensions["forecast"]["values"] == ["0", "3", "6"]
assert m.dimensions["forecast"]["UOM"] == "h"
assert m.boundingBoxWGS84 == (-180.0, -90.0, 180.0, 90.0), m.boundingBoxWGS84
assert sorted(m.tilematrixsetlinks) == ["WebMercatorQuad", "WorldCRS84Quad"]
assert m.styles["gradient"]["isDefault"]
assert m.styles["gradient"]["legend"].endswith("/legend/%s/gradient.png" % model)
assert m.formats == ["image/png"] and "application/json" in m.infoformats

url = w.buildTileResource(layer=model, tilematrixset="WebMercatorQuad",
                          tilematrix="3", row=2, column=5, run=run, forecast="3")
assert url.endswith("/%s/gradient/WebMercatorQuad/3/2/5.png?run=%s&forecast=3"
                    % (model, run)), url

o = w.contents[obs]
assert o.title == hostile, o.title
assert list(o.dimensions) == ["time"], o.dimensions
assert len(o.dimensions["time"]["values"]) == 3
limits = o.tilematrixsetlinks["WebMercatorQuad"].tilematrixlimits
assert len(limits) == 19 and limits["5"].mintilecol == 7, limits

assert w.contents[levelled].dimensions["elevation"]["UOM"] == "hPa"
print("owslib ok:", len(w.contents), "layers")
"#;

#[test]
fn owslib_reads_layers_dimensions_and_matrix_sets() {
    match Command::new("python3")
        .args(["-c", "import owslib"])
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "skipped: OWSLib not importable ({}); `pip install OWSLib` to run",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("skipped: python3 not runnable: {e}");
            return;
        }
    }

    let xml = wmts_capabilities(&catalog(), BASE, now());
    let run = r1().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, MODEL, OBS, LEVELLED, HOSTILE_TITLE, &run])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "OWSLib rejected the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}
