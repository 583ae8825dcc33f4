//! GOES-R ABI satellite layers end to end, on the real NOAA files in
//! `../shared/data/goes/` (ingested with `wxfarm ingest`): every reference
//! point through `wxfarm inspect --at` and through GetFeatureInfo over
//! HTTP, a tile against the WMS map of its box, the limb, the ramp colours,
//! and the layer list the viewer reads.

#[path = "support/goes_reference.rs"]
mod goes_reference;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use goes_reference::{RefPoint, close, goes_files, reference_points};
use protocol::TileMatrixSetId;
use protocol::style::{StyleKind, StyleSpec};
use support::{Server, get, rgba};

fn goes() -> Option<PathBuf> {
    let dir = goes_reference::goes_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.is_none() {
        support::require::missing("the shared GOES-R samples (../shared/data/goes)");
    }
    dir
}

/// A data folder with the four GOES files ingested, once per binary.
fn data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in goes_files(&goes().expect("checked by the caller")) {
            support::ingest_into(dir.path(), &f);
        }
        dir
    })
    .path()
}

/// (layer, file) for each file, by what its name says.
fn layer_of(file: &Path) -> String {
    let n = file.file_name().unwrap().to_string_lossy();
    let sat = if n.contains("_G17_") {
        "goes17"
    } else {
        "goes16"
    };
    let band = &n[n.find("M6C").or(n.find("M3C")).unwrap() + 2..][..3];
    let sector = if n.contains("RadC") { "conus" } else { "meso1" };
    format!("{sat}_{band}_{sector}")
}

fn shown_matches(p: &RefPoint, got: f64, kelvin_shown_in_celsius: bool) -> bool {
    let got = if kelvin_shown_in_celsius {
        got + 273.15
    } else {
        got
    };
    close(got, p.shown, 1e-5)
}

#[test]
fn inspect_prints_every_reference_point() {
    let Some(dir) = goes() else { return };
    for file in goes_files(&dir) {
        let points = reference_points(&file);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxfarm"));
        cmd.arg("inspect").arg(&file);
        for p in &points {
            cmd.arg("--at").arg(format!("{},{}", p.lon, p.lat));
        }
        let out = cmd.output().expect("run wxfarm inspect");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Vec<String>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        assert_eq!(rows.len(), points.len(), "{text}");
        for (p, r) in points.iter().zip(&rows) {
            let num = |k: usize| r[k].parse::<f64>().unwrap();
            match p.row_col {
                None => assert_eq!((num(2), num(3)), (-1.0, -1.0), "{file:?} {p:?}"),
                Some((row, col)) => {
                    assert_eq!((num(2), num(3)), (row as f64, col as f64), "{p:?}");
                    assert!(close(num(4), p.value, 1e-5), "{p:?}: {r:?}");
                    assert!(close(num(5), p.shown, 1e-5), "{p:?}: {r:?}");
                }
            }
        }
        // The listing names the projection from the file and the variables.
        let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .arg("inspect")
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("+proj=geos +h=35786023 +a=6378137 +b=6356752.31414"),
            "{text}"
        );
        assert!(
            text.contains("goes_imager_projection") && text.contains("DQF"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn feature_info_answers_every_reference_point() {
    if goes().is_none() {
        return;
    }
    let server = Server::start(data(), &[]);
    for file in goes_files(&goes().unwrap()) {
        let layer = layer_of(&file);
        let infrared = !layer.contains("_C01_");
        for p in reference_points(&file) {
            // A one-pixel map centred on the point.
            let d = 1e-4;
            let url = format!(
                "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS={layer}&QUERY_LAYERS={layer}&STYLES=&CRS=CRS:84&BBOX={},{},{},{}&WIDTH=1&HEIGHT=1&I=0&J=0&INFO_FORMAT=application/json",
                server.url,
                p.lon - d,
                p.lat - d,
                p.lon + d,
                p.lat + d
            );
            let (status, _, body) = get(&url).await;
            assert_eq!(status, 200, "{layer}: {}", String::from_utf8_lossy(&body));
            let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let value = info["values"][0]["value"].as_f64();
            match p.row_col {
                None => assert_eq!(value, None, "{layer} {p:?}"),
                Some(_) => {
                    let v = value.unwrap_or_else(|| panic!("{layer} {p:?}: {info}"));
                    assert!(shown_matches(&p, v, infrared), "{layer} {p:?}: {v}");
                }
            }
            assert_eq!(info["units"], if infrared { "°C" } else { "" }, "{layer}");
        }
    }
}

/// The decoded grid of a file, straight from the reader.
fn grid(file: &Path) -> decode::Grid {
    decode::decode_field(&std::fs::read(file).unwrap(), 0).unwrap()
}

#[tokio::test]
async fn a_tile_equals_the_wms_map_of_its_box_and_shows_the_ramp() {
    let Some(dir) = goes() else { return };
    let server = Server::start(data(), &[]);
    let file = goes_files(&dir)
        .into_iter()
        .find(|f| f.to_string_lossy().contains("C16_G16"))
        .unwrap();
    let layer = layer_of(&file);
    let g = grid(&file);
    let tms = TileMatrixSetId::WebMercatorQuad;
    // z4 tiles holding reference points: each point's pixel is a ramp
    // colour of the values around it.
    let rule = protocol::layers::LayerCatalogue::builtin();
    let band = rule.band(16).unwrap();
    let spec = StyleSpec::new(
        StyleKind::Gradient,
        band.colormap,
        band.range,
        protocol::style::Units::Kelvin,
        band.display_units(),
    );
    let gradient = render::Gradient::new(&spec);
    for p in reference_points(&file)
        .iter()
        .filter(|p| p.row_col.is_some())
    {
        let (x, y, px, py) = tile_of(4, p.lon, p.lat);
        let lons = tms.pixel_lons(4, x, 256);
        let (status, _, tile) = get(&format!(
            "{}/tiles/{layer}/gradient/4/{x}/{y}.png",
            server.url
        ))
        .await;
        assert_eq!(status, 200);
        let (_, _, pixels) = rgba(&tile);
        let axes = (lons, tms.pixel_lats(4, y, 256));
        support::assert_image_pixels_match_grid(&pixels, &axes, &[(px, py)], &g, &gradient);
        // Imagery is drawn as measured: the pixel shows the colour of a scan
        // pixel under its centre, not a blend of neighbours. (Within one
        // scan pixel: at z4 the sampling lattice's 0.125 px bound is half
        // a scan pixel.)
        let (i, j) = g.locate(axes.0[px], axes.1[py]).expect("on the scan");
        let (i, j) = (i.round() as usize, j.round() as usize);
        let scan: Vec<[u8; 4]> = (i - 1..=i + 1)
            .flat_map(|a| (j - 1..=j + 1).map(move |b| (a, b)))
            .map(|(a, b)| gradient.color(g.value(a, b)))
            .collect();
        let k = (py * 256 + px) * 4;
        let got: [u8; 4] = pixels[k..k + 4].try_into().expect("rgba");
        assert!(
            scan.contains(&got),
            "imagery: {got:?} is a scan pixel's own colour"
        );
        // The WMS map of the same box, in EPSG:3857, is the same image.
        let span = 2.0 * 20037508.342789244 / 16.0;
        let (x0, y1) = (
            -20037508.342789244 + x as f64 * span,
            20037508.342789244 - y as f64 * span,
        );
        let url = format!(
            "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}&STYLES=&CRS=EPSG:3857&BBOX={x0},{},{},{y1}&WIDTH=256&HEIGHT=256&FORMAT=image/png",
            server.url,
            y1 - span,
            x0 + span
        );
        let (status, _, map) = get(&url).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&map));
        assert_eq!(rgba(&map).2, pixels, "WMS map of tile 4/{x}/{y} = the tile");
    }
}

#[tokio::test]
async fn beyond_the_limb_is_transparent() {
    let Some(dir) = goes() else { return };
    let server = Server::start(data(), &[]);
    let file = goes_files(&dir)
        .into_iter()
        .find(|f| f.to_string_lossy().contains("C16_G16"))
        .unwrap();
    let g = grid(&file);
    // The first pixel of the top row that is on the disk: the limb.
    let col = (0..g.ni)
        .find(|&i| g.lonlat(i as f64, 0.0).0.is_finite())
        .expect("a row reaching the disk");
    assert!(
        col > 0,
        "the CONUS sector's north-west corner is off the disk"
    );
    let (lon, lat) = g.lonlat(col as f64 + 20.0, 0.0);
    let tms = TileMatrixSetId::WebMercatorQuad;
    let z = 4u8;
    let (x, y, _, _) = tile_of(z, lon, lat);
    let (_, _, tile) = get(&format!(
        "{}/tiles/{}/gradient/{z}/{x}/{y}.png",
        server.url,
        layer_of(&file)
    ))
    .await;
    let (_, _, px) = rgba(&tile);
    let (lons, lats) = (tms.pixel_lons(z, x, 256), tms.pixel_lats(z, y, 256));
    // PROJ says which pixels the satellite cannot see.
    let mut probes = Vec::new();
    for r in (0..256).step_by(8) {
        for c in (0..256).step_by(8) {
            probes.push((c, r));
        }
    }
    let input: String = probes
        .iter()
        .map(|&(c, r)| format!("{} {}\n", lons[c], lats[r]))
        .collect();
    let Some(out) = cs2cs_geos(-75.0, &input) else {
        return;
    };
    let (mut hidden, mut seen) = (0, 0);
    for (&(c, r), line) in probes.iter().zip(out.lines()) {
        let alpha = px[(r * 256 + c) * 4 + 3];
        if line.contains("inf") {
            hidden += 1;
            assert_eq!(alpha, 0, "pixel ({c}, {r}) beyond the limb");
        } else if g
            .locate(lons[c], lats[r])
            .is_some_and(|(i, j)| g.value(i.round() as usize, j.round() as usize).is_finite())
        {
            seen += 1;
        }
    }
    assert!(
        hidden > 10 && seen > 10,
        "tile {z}/{x}/{y}: {hidden} hidden, {seen} seen"
    );
    assert!(
        px.chunks(4).any(|p| p[3] == 255),
        "some of the disk is drawn"
    );
}

/// The WebMercatorQuad tile (x, y) at zoom `z` holding (lon, lat), and the
/// pixel (column, row) of the point in it.
fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32, usize, usize) {
    let n = f64::from(1u32 << z);
    let fx = (lon + 180.0) / 360.0 * n;
    let phi = lat.to_radians();
    let fy = (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    let px = ((fx - fx.floor()) * 256.0) as usize;
    let py = ((fy - fy.floor()) * 256.0) as usize;
    (fx as u32, fy as u32, px, py)
}

fn cs2cs_geos(lon0: f64, input: &str) -> Option<String> {
    use std::io::Write;
    let child = Command::new("cs2cs")
        .args([
            "-f",
            "%.3f",
            "+proj=longlat",
            "+a=6378137",
            "+b=6356752.31414",
            "+to",
            "+proj=geos",
            "+h=35786023",
            "+a=6378137",
            "+b=6356752.31414",
            &format!("+lon_0={lon0}"),
            "+sweep=x",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            support::require::missing(&format!("cs2cs ({e})"));
            return None;
        }
    };
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    String::from_utf8(child.wait_with_output().ok()?.stdout).ok()
}

#[tokio::test]
async fn layers_list_satellite_layers_with_time_and_styles() {
    if goes().is_none() {
        return;
    }
    let server = Server::start(data(), &[]);
    let (status, _, body) = get(&format!("{}/api/layers", server.url)).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    let layers: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let list = layers
        .as_array()
        .or(layers["layers"].as_array())
        .unwrap_or_else(|| panic!("{text}"));
    let find = |name: &str| {
        list.iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .clone()
    };
    let ir = find("goes17_C13_meso1");
    assert_eq!(
        ir["title"],
        "GOES-17 ABI band 13 clean longwave IR (10.3 µm), Mesoscale 1"
    );
    assert!(ir.to_string().contains("2019-10-27T20:00:27Z"), "{ir}");
    let vis = find("goes16_C01_conus");
    assert!(vis.to_string().contains("gradient_sqrt"), "{vis}");
    find("goes16_C16_conus");
    find("goes16_C01_meso1");
    // The capabilities list the time dimension and the styles' legends.
    let (_, _, caps) = get(&format!(
        "{}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
        server.url
    ))
    .await;
    let caps = String::from_utf8_lossy(&caps);
    assert!(caps.contains("goes17_C13_meso1") && caps.contains("2019-10-27T20:00:27Z"));
    let (status, _, legend) = get(&format!(
        "{}/legend/goes16_C01_conus/gradient_sqrt.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    assert!(rgba(&legend).0 >= 120);
}

/// The sample scans `wxfarm demo-data` writes, once per binary.
#[test]
fn a_cut_short_file_is_rejected_at_ingest_with_its_name() {
    let Some(dir) = goes() else { return };
    let src = goes_files(&dir).into_iter().next().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("cut_short_scan.nc");
    let bytes = std::fs::read(&src).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .arg("ingest")
        .arg(&bad)
        .arg("--data")
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("cut_short_scan.nc: not a usable GRIB2 or NetCDF file"),
        "{err}"
    );
}

/// Third-party clients read satellite imagery as they read model fields:
/// GDAL's WMS driver and OWSLib each fetch the EPSG:3857 map of a z4 tile's
/// box of GOES-16 band 16, and get our tile pixel for pixel.
#[tokio::test]
async fn gdal_and_owslib_fetch_satellite_imagery() {
    let Some(dir) = goes() else { return };
    let file = goes_files(&dir)
        .into_iter()
        .find(|f| f.to_string_lossy().contains("C16_G16"))
        .expect("band 16");
    let layer = layer_of(&file);
    let server = Server::start(data(), &[]);
    // The tile over Kansas, inside the CONUS sector.
    let (x, y, _, _) = tile_of(4, -98.0, 38.5);
    let (status, _, tile) = get(&format!(
        "{}/tiles/{layer}/gradient/4/{x}/{y}.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    let ours = rgba(&tile).2;
    assert!(ours.chunks(4).all(|p| p[3] == 255), "all on the scan");
    let half = 20037508.342789244;
    let span = 2.0 * half / 16.0;
    let (x0, y1) = (-half + f64::from(x) * span, half - f64::from(y) * span);
    let bbox = format!("{x0},{},{},{y1}", y1 - span, x0 + span);
    let out = tempfile::tempdir().expect("tempdir");

    // GDAL: the WMS driver in EPSG:3857 reads the box at its default size
    // (1024 px, one block), which equals our 1024 px map of it.
    let png = out.path().join("gdal.png");
    let gdal = std::process::Command::new("gdal_translate")
        .args(["-q", "-of", "PNG", "-outsize", "1024", "1024"])
        .arg(format!(
            "WMS:{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}&CRS=EPSG:3857&BBOX={bbox}&FORMAT=image/png",
            server.url
        ))
        .arg(&png)
        .output()
        .expect("run gdal_translate (scripts/setup.sh installs gdal-bin)");
    assert!(
        gdal.status.success(),
        "{}",
        String::from_utf8_lossy(&gdal.stderr)
    );
    let (status, _, map) = get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}&STYLES=&CRS=EPSG:3857&BBOX={bbox}&WIDTH=1024&HEIGHT=1024&FORMAT=image/png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    let (ours_1024, theirs) = (rgba(&map).2, rgba(&std::fs::read(&png).expect("png")).2);
    assert!(ours_1024.chunks(4).all(|p| p[3] == 255), "all on the scan");
    assert!(ours_1024 == theirs, "GDAL's read = our 1024 px map");

    // OWSLib: the layer is in the capabilities, and its GetMap is the tile.
    let png = out.path().join("owslib.png");
    let script = format!(
        r#"
import sys
from owslib.wms import WebMapService
wms = WebMapService("{url}/wms", version="1.3.0")
assert "{layer}" in wms.contents, list(wms.contents)
img = wms.getmap(layers=["{layer}"], styles=[""], srs="EPSG:3857",
                 bbox=({bbox}), size=(256, 256), format="image/png")
open(sys.argv[1], "wb").write(img.read())
print(wms["{layer}"].title)
"#,
        url = server.url
    );
    let py = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(&png)
        .output()
        .expect("run python3 (OWSLib)");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert!(
        String::from_utf8_lossy(&py.stdout).contains("GOES-16 ABI band 16"),
        "title: {}",
        String::from_utf8_lossy(&py.stdout)
    );
    assert!(
        rgba(&std::fs::read(&png).expect("png")).2 == ours,
        "OWSLib's map = our tile"
    );
}
