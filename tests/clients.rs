//! Third-party clients and tools against wxfarm: OWSLib over HTTP, and the
//! `inspect` command against wgrib2's reference dumps.

mod support;

use std::io::Read;
use std::process::Command;

use support::{Server, demo_data, get, shared_data};

fn owslib_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import owslib"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        support::require::missing("OWSLib (python3 -m pip install OWSLib)");
    }
    ok
}

/// Runs `tests/python/SCRIPT BASE_URL OUT_DIR` (an OWSLib client), which
/// must succeed; its stdout is the JSON summary returned.
async fn owslib(script: &str, server: &Server, out: &std::path::Path) -> serde_json::Value {
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let result = run(
        "python3",
        vec![script, server.url.clone(), out.display().to_string()],
    )
    .await;
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("json summary")
}

#[tokio::test]
async fn owslib_sees_layers_and_dimensions_and_fetches_the_same_tile() {
    if !owslib_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let out = tempfile::tempdir().expect("tempdir");
    let summary = owslib("owslib_client.py", &server, out.path()).await;
    let layers: Vec<&str> = summary["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for expected in [
        "gfs_TMP_2m",
        "gfs_PRMSL_msl",
        "gfs_UGRD_10m",
        "gfs_PRATE_sfc",
        "mrms_REFL",
    ] {
        assert!(layers.contains(&expected), "{expected} in {layers:?}");
    }
    assert_eq!(
        summary["dimensions"],
        serde_json::json!(["forecast", "run"])
    );
    assert_eq!(
        summary["forecast_values"],
        serde_json::json!(["0", "1", "2", "3"])
    );
    assert_eq!(
        summary["tile_matrix_sets"],
        serde_json::json!(["WebMercatorQuad", "WorldCRS84Quad"])
    );

    // The tile OWSLib built a URL for is byte-identical to the XYZ tile.
    let from_owslib = std::fs::read(out.path().join("tile.png")).expect("tile.png");
    let (status, _, xyz) = get(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/2/3/1.png?forecast=2",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(from_owslib, xyz);

    assert_eq!(
        summary["wind_styles"],
        serde_json::json!([
            "filled_contours",
            "gradient",
            "isolines",
            "wind_arrows",
            "wind_barbs"
        ])
    );
    assert_eq!(
        summary["styles"],
        serde_json::json!(["filled_contours", "gradient", "isolines"])
    );
    for (layer, style) in [
        ("gfs_WIND_10m", "wind_barbs"),
        ("gfs_PRMSL_msl", "isolines"),
    ] {
        let from_owslib = std::fs::read(out.path().join(format!("{style}.png"))).expect(style);
        let (status, _, xyz) = get(&format!(
            "{}/tiles/{layer}/{style}/2/1/1.png?forecast=0",
            server.url
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(from_owslib, xyz, "{style}");
        let (_, _, px) = support::rgba(&xyz);
        let ink = px.chunks(4).filter(|p| p[3] > 128 && p[0] < 80).count();
        assert!(ink > 500, "{style}: dark lines or symbols drawn ({ink} px)");
    }
}

#[test]
fn inspect_values_match_wgrib2() {
    let Some(dir) = shared_data() else { return };
    let out = tempfile::tempdir().expect("tempdir");
    let values = out.path().join("values.bin");
    let status = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["inspect", "--message", "1", "--values"])
        .arg(&values)
        .arg(dir.join("gdas.t12z.pgrb2.0p25.f000.12.xz"))
        .status()
        .expect("run inspect");
    assert!(status.success());
    let ours = std::fs::read(&values).expect("values");
    let mut reference = Vec::new();
    let compressed =
        std::fs::read(dir.join("reference/gdas-12-wgrib2-le.bin.xz")).expect("reference");
    xz2::read::XzDecoder::new(&compressed[..])
        .read_to_end(&mut reference)
        .expect("unxz");
    assert_eq!(ours.len(), reference.len());
    let f32s = |b: &[u8]| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<_>>()
    };
    let (ours, reference) = (f32s(&ours), f32s(&reference));
    let worst = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "largest relative difference {worst}");

    let listing = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .arg("inspect")
        .arg(dir.join("ds.critfireo.bin.xz"))
        .output()
        .expect("inspect");
    let text = String::from_utf8_lossy(&listing.stdout);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().all(|l| l.contains("d=2023110206")));
}

#[test]
fn jobs_decode_turns_a_queued_job_into_json() {
    use chrono::TimeZone;
    use protocol::style::{ColorMapName, StyleKind, Units};
    let run = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 12, 0, 0).unwrap();
    let key = protocol::TileKey {
        layer: "gfs_TMP_2m".into(),
        style: "gradient".into(),
        style_params: String::new(),
        tms: protocol::TileMatrixSetId::WebMercatorQuad,
        z: 3,
        x: 4,
        y: 2,
        tile_size: 256,
        run,
        valid: run,
        elevation: None,
        format: protocol::ImageFormat::Png,
    };
    let style = protocol::StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Temperature,
        (-40.0, 45.0),
        Units::Kelvin,
        Units::Celsius,
    );
    let source = protocol::FieldRef {
        object_key: "gfs/f000".into(),
        offset: 10,
        length: 20,
        submessage: 0,
    };
    let job = protocol::RenderJob::new(key, vec![source], style, protocol::Priority::Interactive);
    let bytes = protocol::codec::encode(&job).expect("encode");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["jobs", "decode"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &bytes).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = json.to_string();
    assert!(
        text.contains("gfs_TMP_2m") && text.contains("gfs/f000") && text.contains("Interactive"),
        "{text}"
    );
}

#[tokio::test]
async fn owslib_wms_client_gets_maps_feature_info_and_legends() {
    if !owslib_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let out = tempfile::tempdir().expect("tempdir");
    let summary = owslib("owslib_wms.py", &server, out.path()).await;
    assert!(
        summary["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .any(|l| l == "mrms_REFL")
    );
    for op in ["GetCapabilities", "GetMap", "GetFeatureInfo"] {
        assert!(
            summary["operations"]
                .as_array()
                .expect("ops")
                .iter()
                .any(|o| o == op),
            "{op}"
        );
    }
    assert!(summary["info"]["values"][0]["value"].as_f64().is_some());
    // OWSLib sees the PROJ CRSs (inherited from the root layer) and its
    // EPSG:3413 map is ours.
    let crs = summary["crs"].as_array().expect("crs");
    for code in ["EPSG:3413", "EPSG:3031", "EPSG:32633", "EPSG:27700"] {
        assert!(crs.iter().any(|c| c == code), "{code}: {crs:?}");
    }
    let (_, _, polar) = get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=gradient&CRS=EPSG:3413&BBOX=-4000000,-4000000,4000000,4000000&WIDTH=300&HEIGHT=300&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    ))
    .await;
    let owslib_polar = std::fs::read(out.path().join("polar_map.png")).expect("polar_map.png");
    assert_eq!(support::rgba(&owslib_polar).2, support::rgba(&polar).2);
    // OWSLib's EPSG:4326 request (it swaps to latitude first) = our CRS:84 map.
    let ours = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=gradient&CRS=CRS:84&BBOX=-130,20,-60,55&WIDTH=350&HEIGHT=175&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    );
    let (_, _, expected) = get(&ours).await;
    let owslib_map = std::fs::read(out.path().join("map.png")).expect("map.png");
    assert_eq!(support::rgba(&owslib_map).2, support::rgba(&expected).2);
    assert_eq!(
        support::rgba(&std::fs::read(out.path().join("legend.png")).expect("legend")).0,
        320
    );
    assert!(
        summary["wind_styles"]
            .as_array()
            .expect("styles")
            .iter()
            .any(|s| s == "wind_barbs")
    );
    // OWSLib's EPSG:3857 barbs map of tile z2 (1, 1)'s box is that tile:
    // symbols sit on a lattice fixed to the world, not to the image.
    let (_, _, tile) = get(&format!(
        "{}/tiles/gfs_WIND_10m/wind_barbs/2/1/1.png?time=2025-06-01T00:00:00Z",
        server.url
    ))
    .await;
    let map = std::fs::read(out.path().join("barbs_map.png")).expect("barbs map");
    let (tile, map) = (support::rgba(&tile).2, support::rgba(&map).2);
    assert!(
        tile.chunks(4).filter(|p| p[3] > 0).count() > 3000,
        "barbs drawn"
    );
    assert_eq!(
        support::differing_pixels(&tile, &map, 0),
        0,
        "pixels differ"
    );
    let (w, h, legend) =
        support::rgba(&std::fs::read(out.path().join("barbs_legend.png")).expect("legend"));
    assert_eq!((w, h), (320, 64));
    assert!(
        legend.chunks(4).filter(|p| p[0] < 80 && p[3] > 200).count() > 100,
        "barbs inked"
    );
}

fn gdal_available() -> bool {
    let ok = Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        support::require::missing("GDAL (Debian gdal-bin)");
    }
    ok
}

/// Runs a client program off the async runtime, in a scratch directory.
async fn run(cmd: &'static str, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        // GDAL's WMS/WMTS block cache defaults to ./gdalwmscache: keep it out.
        let cache = tempfile::tempdir().expect("cache dir");
        Command::new(cmd)
            .args(&args)
            .current_dir(cache.path())
            .env("GDAL_DEFAULT_WMS_CACHE_PATH", cache.path())
            .env("GDAL_ENABLE_WMS_CACHE", "NO")
            .env("GDAL_HTTP_TIMEOUT", "30")
            .output()
    })
    .await
    .expect("join")
    .expect(cmd)
}

#[tokio::test]
async fn gdal_wmts_driver_reads_the_same_pixels_as_our_tiles() {
    if !gdal_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let caps = format!("WMTS:{}/wmts/1.0.0/WMTSCapabilities.xml", server.url);
    let info = run("gdalinfo", vec![caps.clone()]).await;
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        text.contains("layer=gfs_TMP_2m") && text.contains("layer=mrms_REFL"),
        "{text}"
    );

    for (layer, style) in [
        ("gfs_TMP_2m", "gradient"),
        ("gfs_WIND_10m", "wind_barbs"),
        ("gfs_PRMSL_msl", "isolines"),
    ] {
        gdal_window_equals_tile(&server, layer, style).await;
    }
}

/// `gdal_translate -of PNG OPTIONS SOURCE`, which must succeed; the PNG's
/// width, height and RGBA pixels.
async fn gdal_translate_png(source: String, options: &[&str]) -> (u32, u32, Vec<u8>) {
    let out = tempfile::tempdir().expect("tempdir");
    let png = out.path().join("out.png");
    let mut args: Vec<String> = ["-q", "-of", "PNG"]
        .iter()
        .chain(options)
        .map(|s| s.to_string())
        .collect();
    args.extend([source, png.display().to_string()]);
    let r = run("gdal_translate", args).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    support::rgba(&std::fs::read(&png).expect("png"))
}

/// Zoom 2 of WebMercatorQuad read by GDAL as one 1024×1024 raster: the
/// window of tile (3, 1) equals our tile pixel for pixel.
async fn gdal_window_equals_tile(server: &Server, layer: &str, style: &str) {
    let source = format!(
        "WMTS:{}/wmts/1.0.0/WMTSCapabilities.xml,layer={layer},style={style},tilematrixset=WebMercatorQuad",
        server.url
    );
    let window = ["-oo", "ZOOM_LEVEL=2", "-srcwin", "768", "256", "256", "256"];
    let (gw, gh, theirs) = gdal_translate_png(source, &window).await;
    let (_, _, tile) = get(&format!("{}/tiles/{layer}/{style}/2/3/1.png", server.url)).await;
    let (w, h, ours) = support::rgba(&tile);
    assert_eq!((gw, gh), (w, h));
    assert!(ours.chunks(4).any(|p| p[3] > 0), "{style}: something drawn");
    assert!(
        theirs == ours,
        "{style}: GDAL's window equals our tile pixel for pixel"
    );
}

#[tokio::test]
async fn gdal_wms_driver_lists_layers_and_draws_a_map() {
    if !gdal_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let info = run(
        "gdalinfo",
        vec![format!(
            "WMS:{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities",
            server.url
        )],
    )
    .await;
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && text.contains("LAYERS=gfs_TMP_2m"),
        "{text}{}",
        String::from_utf8_lossy(&info.stderr)
    );

    let source = format!(
        "WMS:{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&CRS=CRS:84&BBOX=-130,20,-60,55&FORMAT=image/png",
        server.url
    );
    let (w, h, px) = gdal_translate_png(source, &["-outsize", "350", "175"]).await;
    assert_eq!((w, h), (350, 175));
    // Every pixel is a colour of the temperature ramp (GDAL resamples by
    // nearest neighbour), and the map is covered.
    let gradient = support::default_gradient(0, 0, 0);
    let palette: std::collections::HashSet<[u8; 4]> = (0..=2000)
        .map(|k| gradient.color(200.0 + k as f32 * 0.07))
        .collect();
    let opaque: Vec<[u8; 4]> = px
        .chunks(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .filter(|p| p[3] == 255)
        .collect();
    assert!(opaque.len() > (w * h) as usize * 9 / 10);
    assert!(opaque.iter().all(|p| palette.contains(p)));
}

/// GDAL's WMS driver with SRS=EPSG:3413 (polar stereographic north): it
/// georeferences the raster in that CRS and reads our map of the box.
#[tokio::test]
async fn gdal_wms_driver_reads_a_polar_stereographic_map() {
    if !gdal_available() {
        return;
    }
    let server = Server::start(demo_data(), &[]);
    let source = format!(
        "WMS:{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&CRS=EPSG:3413&BBOX=-4000000,-4000000,4000000,4000000&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    );
    let info = run("gdalinfo", vec![source.clone()]).await;
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && text.contains("NSIDC Sea Ice Polar Stereographic North"),
        "{text}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        text.contains("Upper Left  (-4000000.000, 4000000.000)"),
        "upper left: {text}"
    );
    let (w, h, px) = gdal_translate_png(source, &["-outsize", "1024", "1024"]).await;
    assert_eq!((w, h), (1024, 1024));
    let (_, _, ours) = get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=&CRS=EPSG:3413&BBOX=-4000000,-4000000,4000000,4000000&WIDTH=1024&HEIGHT=1024&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
        server.url
    ))
    .await;
    let (_, _, ours) = support::rgba(&ours);
    // At its 1024 px overview GDAL asks for exactly this map: the same
    // pixels.
    let differing = support::differing_pixels(&px, &ours, 0);
    assert_eq!(
        differing,
        0,
        "{differing} of {} pixels differ from our map",
        w * h
    );
}
