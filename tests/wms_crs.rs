//! WMS maps in EPSG CRSs drawn through PROJ, end to end against `wxfarm
//! serve`, with `cs2cs` (PROJ's command-line tool, a separate program) as
//! the oracle of where each pixel is.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{Server, default_gradient, demo_data, get, rgba};

/// Interpolation between transform-grid nodes moves a pixel's position by
/// at most this many output pixels (`render::crs::MAX_MESH_ERROR_PX`,
/// measured against PROJ at every pixel in `render/tests/crs_mesh.rs`).
const MESH_ERROR_PX: f64 = 0.15;

fn cs2cs_available() -> bool {
    let ok = Command::new("cs2cs").stdin(Stdio::null()).output().is_ok();
    if !ok {
        support::require::missing("cs2cs (Debian proj-bin)");
    }
    ok
}

/// `cs2cs EPSG:code EPSG:4326` of each (x, y): longitude and latitude
/// (cs2cs writes EPSG:4326 latitude first); `None` where it has no answer.
fn cs2cs(code: u32, points: &[(f64, f64)]) -> Vec<Option<(f64, f64)>> {
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.10f", &format!("EPSG:{code}"), "EPSG:4326"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cs2cs");
    let input: String = points.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("cs2cs output");
    let text = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<_> = text
        .lines()
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            match v[..] {
                [lat, lon, ..] if lat.is_finite() && lon.is_finite() => Some((lon, lat)),
                _ => None,
            }
        })
        .collect();
    assert_eq!(answers.len(), points.len(), "{text}");
    answers
}

/// Checks that each listed pixel of a `width`×`height` map of `bbox`
/// (easting first) in `EPSG:code` has a colour the field takes within
/// [`MESH_ERROR_PX`] of the pixel centre, positions from cs2cs: any colour
/// between the smallest and largest grid value around those positions
/// (the renderer blends the four grid nodes around a point bilinearly).
fn assert_pixels_match_cs2cs(
    code: u32,
    bbox: [f64; 4],
    (width, height): (u32, u32),
    pixels: &[u8],
    grid: &decode::Grid,
    gradient: &render::Gradient,
) -> usize {
    let res = (
        (bbox[2] - bbox[0]) / f64::from(width),
        (bbox[3] - bbox[1]) / f64::from(height),
    );
    let step = 37;
    let chosen: Vec<(u32, u32)> = (0..height)
        .step_by(step)
        .flat_map(|r| (0..width).step_by(step).map(move |c| (c, r)))
        .collect();
    let e = MESH_ERROR_PX;
    let offsets = [
        (0.0, 0.0),
        (-e, -e),
        (e, -e),
        (-e, e),
        (e, e),
        (0.0, e),
        (0.0, -e),
        (e, 0.0),
        (-e, 0.0),
    ];
    let positions: Vec<(f64, f64)> = chosen
        .iter()
        .flat_map(|&(c, r)| {
            offsets.iter().map(move |(dx, dy)| {
                (
                    bbox[0] + (f64::from(c) + 0.5 + dx) * res.0,
                    bbox[3] - (f64::from(r) + 0.5 + dy) * res.1,
                )
            })
        })
        .collect();
    let lonlats = cs2cs(code, &positions);
    let mut checked = 0;
    for (k, &(c, r)) in chosen.iter().enumerate() {
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for ll in &lonlats[k * offsets.len()..(k + 1) * offsets.len()] {
            let (lon, lat) = ll.expect("cs2cs answers inside the map");
            let (i, j) = grid.locate(lon, lat).expect("inside the grid");
            let (i0, j0) = (i.floor() as usize, j.floor() as usize);
            for (di, dj) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let v = grid.value((i0 + di) % grid.ni, (j0 + dj).min(grid.nj - 1));
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let allowed: Vec<_> = (0..=400)
            .map(|k| gradient.color(lo + (hi - lo) * k as f32 / 400.0))
            .collect();
        let at = ((r * width + c) * 4) as usize;
        let got: [u8; 4] = pixels[at..at + 4].try_into().expect("4 bytes");
        assert!(
            allowed.contains(&got),
            "EPSG:{code} pixel ({c},{r}) {got:?} is no colour of {lo}..{hi}"
        );
        checked += 1;
    }
    checked
}

fn get_map(server: &Server, crs: &str, bbox: &str, (w, h): (u32, u32), style: &str) -> String {
    format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES={style}&CRS={crs}&BBOX={bbox}&WIDTH={w}&HEIGHT={h}&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    )
}

#[tokio::test]
async fn polar_stereographic_and_utm_maps_put_each_pixel_where_cs2cs_does() {
    if !cs2cs_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let file = std::fs::read(support::find_file(demo_data(), "f000").expect("f000")).expect("f000");
    let grid = decode::decode_message(&file, 0).expect("TMP");
    let gradient = default_gradient(0, 0, 0);
    for (code, bbox, size) in [
        // The Arctic, pole and antimeridian inside.
        (3413, [-4.0e6, -4.5e6, 4.0e6, 3.5e6], (700, 700)),
        // Central Europe in UTM 33N.
        (32633, [-2.0e5, 4.2e6, 1.3e6, 6.2e6], (600, 800)),
    ] {
        let text = format!("{},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3]);
        let (status, headers, body) = get(&get_map(
            &server,
            &format!("EPSG:{code}"),
            &text,
            size,
            "gradient",
        ))
        .await;
        assert_eq!(
            status,
            200,
            "EPSG:{code}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers["content-type"], "image/png");
        let (w, h, px) = rgba(&body);
        assert_eq!((w, h), size);
        let checked = assert_pixels_match_cs2cs(code, bbox, size, &px, &grid, &gradient);
        assert!(checked >= 250, "{checked}");
        let colours: std::collections::HashSet<&[u8]> = px.chunks(4).collect();
        assert!(colours.len() > 20, "EPSG:{code}: a field, not a flat fill");
    }
}

#[tokio::test]
async fn every_style_draws_in_a_proj_crs() {
    let server = Server::start(demo_data(), &[]);
    let bbox = "-4000000,-4000000,4000000,4000000";
    for (layer, style) in [
        ("gfs_TMP_2m", "isolines"),
        ("gfs_TMP_2m", "filled_contours"),
        ("gfs_WIND_10m", "wind_barbs"),
        ("gfs_WIND_10m", "wind_arrows"),
        ("gfs_WIND_10m", "gradient"),
    ] {
        let url =
            get_map(&server, "EPSG:3413", bbox, (400, 400), style).replace("gfs_TMP_2m", layer);
        let (status, _, body) = get(&url).await;
        assert_eq!(
            status,
            200,
            "{layer} {style}: {}",
            String::from_utf8_lossy(&body)
        );
        let (_, _, px) = rgba(&body);
        let drawn = px.chunks(4).filter(|p| p[3] > 0).count();
        assert!(drawn > 2000, "{layer} {style}: {drawn} pixels drawn");
    }
}

#[tokio::test]
async fn northing_first_crss_take_their_boxes_northing_first_in_1_3_0_only() {
    let server = Server::start(demo_data(), &[]);
    // EPSG:3035 (ETRS89 LAEA Europe) registers northing first.
    let (e0, n0, e1, n1) = (3.0e6, 2.0e6, 5.0e6, 4.0e6);
    let v130 = get_map(
        &server,
        "EPSG:3035",
        &format!("{n0},{e0},{n1},{e1}"),
        (300, 300),
        "gradient",
    );
    let v111 = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=&SRS=EPSG:3035&BBOX={e0},{n0},{e1},{n1}&WIDTH=300&HEIGHT=300&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    );
    let (s1, _, a) = get(&v130).await;
    let (s2, _, b) = get(&v111).await;
    assert_eq!((s1, s2), (200, 200), "{}", String::from_utf8_lossy(&b));
    assert_eq!(rgba(&a).2, rgba(&b).2, "the same map both ways");
}

#[tokio::test]
async fn unknown_crss_are_invalid_crs_and_served_ones_are_listed() {
    let server = Server::start(demo_data(), &[]);
    for (crs, why) in [
        ("EPSG:99999", "no such EPSG code"),
        ("FOO:1234", "EPSG codes and CRS:84 are"),
        ("EPSG:4978", "geocentric"),
    ] {
        let (status, _, body) = get(&get_map(&server, crs, "0,0,1,1", (10, 10), "gradient")).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{crs}: {text}");
        assert!(
            text.contains("code=\"InvalidCRS\"") && text.contains("locator=\"crs\""),
            "{crs}: {text}"
        );
        assert!(text.contains(why), "{crs}: {text}");
    }
    let v111 = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=&SRS=EPSG:99999&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/png",
        server.url
    );
    let (status, _, body) = get(&v111).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("InvalidSRS"));

    let (_, _, caps) = get(&format!(
        "{}/wms?SERVICE=WMS&REQUEST=GetCapabilities",
        server.url
    ))
    .await;
    let caps = String::from_utf8_lossy(&caps);
    for crs in [
        "EPSG:3413",
        "EPSG:3031",
        "EPSG:32633",
        "EPSG:32760",
        "EPSG:27700",
        "CRS:84",
    ] {
        assert!(caps.contains(&format!("<CRS>{crs}</CRS>")), "{crs}");
    }

    // Feature info in a PROJ CRS: the value at the pixel cs2cs places.
    let url = get_map(
        &server,
        "EPSG:3413",
        "-4000000,-4000000,4000000,4000000",
        (400, 400),
        "gradient",
    )
    .replace("GetMap", "GetFeatureInfo")
        + "&QUERY_LAYERS=gfs_TMP_2m&INFO_FORMAT=application/json&I=100&J=300";
    let (status, _, body) = get(&url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(info["values"][0]["value"].as_f64().is_some(), "{info}");
    if cs2cs_available() {
        // Pixel (100, 300) of 400 over 8,000 km: its centre, exactly.
        let centre = (-4.0e6 + 100.5 * 2.0e4, 4.0e6 - 300.5 * 2.0e4);
        let (lon, lat) = cs2cs(3413, &[centre])[0].expect("cs2cs");
        let (got_lon, got_lat) = (info["lon"].as_f64().unwrap(), info["lat"].as_f64().unwrap());
        assert!(
            (got_lon - lon).abs() < 1e-6 && (got_lat - lat).abs() < 1e-6,
            "{got_lon},{got_lat} vs cs2cs {lon},{lat}"
        );
    }
}
