//! README claims checked over HTTP against a real `serve`: compressed
//! ingest, 512 px tiles, WorldCRS84Quad, WMS maps equal to tiles, and the
//! effect (not only the validation) of the colour options.

mod support;

use std::collections::BTreeSet;
use std::io::Write;

use support::{Server, demo_data, find_file, get, rgba, run_time};

fn run() -> String {
    run_time().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn image(url: &str) -> (u32, u32, Vec<u8>) {
    let (status, headers, body) = get(url).await;
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "image/png");
    rgba(&body)
}

fn opaque_colours(px: &[u8]) -> BTreeSet<[u8; 4]> {
    px.chunks(4)
        .filter(|p| p[3] != 0)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect()
}

#[tokio::test]
async fn a_gzipped_grib_ingested_into_a_data_folder_is_served() {
    let data = tempfile::tempdir().expect("tempdir");
    let raw = std::fs::read(find_file(demo_data(), "f002").expect("f002")).expect("read");
    let gz = data.path().join("upload-f002.grib2.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).expect("gzip");
    let staged = tempfile::tempdir().expect("tempdir");
    let file = staged.path().join("upload-f002.grib2.gz");
    std::fs::write(&file, enc.finish().expect("gzip")).expect("write");
    support::ingest_into(data.path(), &file);
    assert!(!gz.exists(), "the data folder holds the decompressed file");
    assert_eq!(
        std::fs::read(data.path().join("upload-f002.grib2")).expect("decompressed"),
        raw
    );
    let server = Server::start(data.path(), &[]);
    let (w, h, px) = image(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/1/0/0.png?run={}&forecast=2",
        server.url,
        run()
    ))
    .await;
    assert_eq!((w, h), (256, 256));
    assert!(opaque_colours(&px).len() > 20, "a real temperature field");
}

#[tokio::test]
async fn tiles_maps_and_sizes_agree_pixel_for_pixel() {
    let server = Server::start(demo_data(), &[]);
    let url = &server.url;
    let q = format!("run={}&forecast=1", run());
    // A 512 px tile of z2 has the pixels of the four 256 px tiles of z3.
    let (w, h, big) = image(&format!(
        "{url}/tiles/gfs_TMP_2m/gradient/2/1/1.png?{q}&tilesize=512"
    ))
    .await;
    assert_eq!((w, h), (512, 512));
    let (_, _, child) = image(&format!("{url}/tiles/gfs_TMP_2m/gradient/3/3/2.png?{q}")).await;
    // Child (3, 2) is the parent's top-right quadrant.
    for r in 0..256usize {
        let from = (r * 512 + 256) * 4;
        assert_eq!(
            &big[from..from + 1024],
            &child[r * 1024..(r + 1) * 1024],
            "row {r}"
        );
    }
    // WorldCRS84Quad over WMTS REST, and the WMS map of the same box.
    let (w, h, tile) = image(&format!(
        "{url}/wmts/1.0.0/gfs_TMP_2m/default/WorldCRS84Quad/1/0/1.png?{q}"
    ))
    .await;
    assert_eq!((w, h), (256, 256));
    assert!(opaque_colours(&tile).len() > 20);
    // z1 of CRS84: 90° tiles; column 1, row 0 spans 90°W–0°, 0°–90°N.
    let (_, _, map) = image(&format!(
        "{url}/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.3.0&LAYERS=gfs_TMP_2m&STYLES=gradient\
         &CRS=CRS:84&BBOX=-90,0,0,90&WIDTH=256&HEIGHT=256&FORMAT=image/png\
         &DIM_REFERENCE_TIME={}&TIME={}",
        run(),
        (run_time() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
    ))
    .await;
    assert_eq!(map, tile, "the WMS map of a tile's box is the tile");
}

#[tokio::test]
async fn colour_options_change_the_pixels_as_documented() {
    let server = Server::start(demo_data(), &[]);
    let base = format!(
        "{}/tiles/gfs_TMP_2m/gradient/1/0/0.png?run={}&forecast=0",
        server.url,
        run()
    );
    let default = opaque_colours(&image(&base).await.2);
    assert!(
        default.len() > 40,
        "a continuous ramp: {} colours",
        default.len()
    );
    // NUMCOLORBANDS: at most that many colours.
    let banded = opaque_colours(&image(&format!("{base}&NUMCOLORBANDS=4")).await.2);
    assert!((2..=4).contains(&banded.len()), "{banded:?}");
    // A range entirely above the data, with an explicit below-range
    // colour: every pixel takes it.
    let below = opaque_colours(
        &image(&format!(
            "{base}&COLORSCALERANGE=100,200&BELOWMINCOLOR=0x00FF00"
        ))
        .await
        .2,
    );
    assert_eq!(below, BTreeSet::from([[0, 255, 0, 255]]));
    // A range entirely below the data: ABOVEMAXCOLOR everywhere, and a
    // transparent one clears the tile.
    let above = opaque_colours(
        &image(&format!(
            "{base}&COLORSCALERANGE=-300,-200&ABOVEMAXCOLOR=0xFF00FF"
        ))
        .await
        .2,
    );
    assert_eq!(above, BTreeSet::from([[255, 0, 255, 255]]));
    let cleared = image(&format!(
        "{base}&COLORSCALERANGE=-300,-200&ABOVEMAXCOLOR=transparent"
    ))
    .await
    .2;
    assert!(cleared.chunks(4).all(|p| p[3] == 0));
    // UNITS moves the range into other units: °F with the same range
    // converted draws the same map (up to f32 rounding at a few band
    // edges), and the same numbers in °F draw a different one.
    let celsius = image(&format!("{base}&COLORSCALERANGE=-40,45")).await.2;
    let fahrenheit = image(&format!("{base}&UNITS=degF&COLORSCALERANGE=-40,113"))
        .await
        .2;
    let same_numbers = image(&format!("{base}&UNITS=degF&COLORSCALERANGE=-40,45"))
        .await
        .2;
    let px = celsius.len() / 4;
    assert!(support::differing_pixels(&celsius, &fahrenheit, 0) * 200 < px);
    assert!(support::differing_pixels(&celsius, &same_numbers, 0) * 2 > px);
}

#[tokio::test]
async fn contour_interval_and_symbol_spacing_change_the_pixels_as_documented() {
    let server = Server::start(demo_data(), &[]);
    let ink = |px: &[u8]| px.chunks(4).filter(|p| p[3] > 0).count();
    let tile = |style: &str, layer: &str, options: &str| {
        format!(
            "{}/tiles/{layer}/{style}/2/1/1.png?run={}&forecast=0{options}",
            server.url,
            run()
        )
    };
    // Isolines every 2 hPa draw more line than every 8 hPa (about 4×).
    let dense = ink(
        &image(&tile("isolines", "gfs_PRMSL_msl", "&CONTOURINTERVAL=2"))
            .await
            .2,
    );
    let sparse = ink(
        &image(&tile("isolines", "gfs_PRMSL_msl", "&CONTOURINTERVAL=8"))
            .await
            .2,
    );
    assert!(sparse > 0, "some isolines at 8 hPa");
    assert!(dense > 2 * sparse, "2 hPa: {dense} px, 8 hPa: {sparse} px");
    // Barbs every 20 px: about 16× the symbols of every 80 px.
    let close = ink(
        &image(&tile("wind_barbs", "gfs_WIND_10m", "&SYMBOLSPACING=20"))
            .await
            .2,
    );
    let far = ink(
        &image(&tile("wind_barbs", "gfs_WIND_10m", "&SYMBOLSPACING=80"))
            .await
            .2,
    );
    assert!(far > 0, "some barbs at 80 px");
    assert!(close > 4 * far, "20 px: {close} px, 80 px: {far} px");
}

#[tokio::test]
async fn rest_feature_info_json_is_the_kvp_answer() {
    let server = Server::start(demo_data(), &[]);
    let kvp = format!(
        "{}/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo&VERSION=1.0.0&LAYER=gfs_TMP_2m&STYLE=gradient&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=3&TILEROW=2&TILECOL=4&I=100&J=60&INFOFORMAT=application/json&run={}&forecast=1",
        server.url,
        run()
    );
    let rest = format!(
        "{}/wmts/1.0.0/gfs_TMP_2m/gradient/WebMercatorQuad/3/2/4/60/100.json?run={}&forecast=1",
        server.url,
        run()
    );
    let (status, headers, a) = get(&kvp).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&a));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .contains("json")
    );
    let (status, _, b) = get(&rest).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&a).expect("json"),
        serde_json::from_slice(&b).expect("json"),
    );
    assert_eq!(a, b);
    assert!(a["values"][0]["value"].as_f64().is_some_and(f64::is_finite));
}

#[tokio::test]
async fn an_overloaded_serve_answers_503_with_retry_after_and_stays_ready() {
    // One render slot and one queue place: a burst of distinct misses
    // overflows at once.
    let server = Server::start(
        demo_data(),
        &["--render-slots", "1", "--queue-capacity", "1"],
    );
    let urls: Vec<String> = (0..32)
        .map(|i| {
            format!(
                "{}/tiles/mrms_REFL/gradient/6/{}/{}.png",
                server.url,
                10 + i % 8,
                20 + i / 8
            )
        })
        .collect();
    let answers = futures::future::join_all(urls.iter().map(|u| get(u))).await;
    let busy: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(
        !busy.is_empty(),
        "no 503 among {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(answers.iter().all(|(s, _, _)| *s == 200 || *s == 503));
    for (_, headers, body) in &busy {
        assert!(headers.contains_key("retry-after"), "{headers:?}");
        assert!(String::from_utf8_lossy(body).contains("ExceptionReport"));
    }
    // Overload is not unreadiness: the server still takes work.
    assert_eq!(get(&format!("{}/readyz", server.url)).await.0, 200);
    assert_eq!(get(&format!("{}/healthz", server.url)).await.0, 200);
}

#[tokio::test]
async fn demo_data_writes_forecast_hours_that_serve_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["demo-data"])
        .arg(dir.path())
        .args(["--hours", "2", "--run", "2025-06-01T00:00:00Z"])
        .output()
        .expect("demo-data");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for h in ["f000", "f001", "f002"] {
        assert!(find_file(dir.path(), h).is_some(), "{h} written");
    }
    assert!(find_file(dir.path(), "f003").is_none());
    let server = Server::start(dir.path(), &[]);
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let t2m = layers
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == "gfs_TMP_2m"))
        .expect("gfs_TMP_2m");
    assert_eq!(t2m["latest_run"], "2025-06-01T00:00:00Z");
    assert_eq!(t2m["forecasts"], serde_json::json!([0.0, 1.0, 2.0]));
}

#[tokio::test]
async fn radar_humidity_and_other_layers_carry_their_units() {
    let server = Server::start(demo_data(), &[]);
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let unit = |name: &str| {
        layers
            .as_array()
            .and_then(|l| l.iter().find(|l| l["name"] == name))
            .map(|l| l["units"].clone())
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(unit("mrms_REFL"), "dBZ");
    assert_eq!(unit("gfs_TMP_2m"), "°C");
    // Asking for the layer's own unit works; another quantity is refused.
    let tile = |units: &str| {
        format!(
            "{}/tiles/mrms_REFL/gradient/3/2/3.png?UNITS={units}",
            server.url
        )
    };
    assert_eq!(get(&tile("dBZ")).await.0, 200);
    let (status, _, body) = get(&tile("kt")).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("units"));
}

#[tokio::test]
async fn wind_components_use_a_ramp_centred_on_zero() {
    let server = Server::start(demo_data(), &[]);
    let (w, h, px) = image(&format!(
        "{}/legend/gfs_UGRD_10m/gradient.png?WIDTH=200&HEIGHT=50",
        server.url
    ))
    .await;
    assert_eq!((w, h), (200, 50));
    // The bar's middle row: its coloured span, blue at the west end (−40
    // m/s), white in the middle (0), red at the east end (+40).
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * 200 + x) * 4;
        [px[i], px[i + 1], px[i + 2]]
    };
    let y = (0..50)
        .max_by_key(|&y| (0..200).filter(|&x| at(x, y)[0] != at(x, y)[2]).count())
        .expect("rows");
    let coloured: Vec<usize> = (0..200)
        .filter(|&x| px[(y * 200 + x) * 4 + 3] == 255 && at(x, y) != [20, 20, 20])
        .collect();
    let (x0, x1) = (coloured[0], coloured[coloured.len() - 1]);
    let (west, mid, east) = (at(x0, y), at((x0 + x1) / 2, y), at(x1, y));
    assert!(west[2] > west[0] + 50, "blue west end {west:?}");
    assert!(mid.iter().all(|&c| c > 220), "white at zero {mid:?}");
    assert!(east[0] > east[2] + 50, "red east end {east:?}");
}

#[tokio::test]
async fn a_parameter_no_rule_names_becomes_a_coded_layer_in_the_generic_ramp() {
    let Some(shared) = support::shared_data() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    // NDFD critical fire weather: a parameter the shipped catalogue lacks.
    std::fs::copy(
        shared.join("ds.critfireo.bin.xz"),
        data.path().join("ds.critfireo.bin.xz"),
    )
    .expect("copy");
    let server = Server::start(data.path(), &[]);
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let names: Vec<&str> = layers
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["ndfd_D0C192P192_sfc"], "named by its codes");
    // The documented generic ramp (viridis-like), pinned from the README's
    // promise, not from the code: every opaque pixel lies on it.
    let stops: [(f32, [f32; 3]); 5] = [
        (0.00, [68.0, 1.0, 84.0]),
        (0.25, [59.0, 82.0, 139.0]),
        (0.50, [33.0, 145.0, 140.0]),
        (0.75, [94.0, 201.0, 98.0]),
        (1.00, [253.0, 231.0, 37.0]),
    ];
    let ramp: Vec<[f32; 3]> = (0..=1000)
        .map(|k| {
            let t = k as f32 / 1000.0;
            let i = stops.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(3);
            let (a, b) = (stops[i], stops[i + 1]);
            let f = (t - a.0) / (b.0 - a.0);
            std::array::from_fn(|c| a.1[c] + f * (b.1[c] - a.1[c]))
        })
        .collect();
    // Over the NDFD grid (CONUS) at z4.
    let (_, _, px) = image(&format!(
        "{}/tiles/ndfd_D0C192P192_sfc/gradient/4/3/6.png",
        server.url
    ))
    .await;
    let opaque: Vec<&[u8]> = px.chunks(4).filter(|p| p[3] == 255).collect();
    assert!(opaque.len() > 1000, "{} opaque pixels", opaque.len());
    for p in opaque {
        let near = ramp
            .iter()
            .any(|r| (0..3).all(|c| (f32::from(p[c]) - r[c]).abs() <= 3.0));
        assert!(near, "{p:?} is not on the generic ramp");
    }
}

#[tokio::test]
async fn light_rain_is_a_visible_blue_on_the_precipitation_ramp() {
    let server = Server::start(demo_data(), &[]);
    let (_, _, px) = image(&format!(
        "{}/legend/gfs_PRATE_sfc/gradient.png?WIDTH=400&HEIGHT=50",
        server.url
    ))
    .await;
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * 400 + x) * 4;
        [px[i], px[i + 1], px[i + 2]]
    };
    // The bar: the row with the most distinct colours.
    let y = (0..50)
        .max_by_key(|&y| (0..400).map(|x| at(x, y)).collect::<BTreeSet<_>>().len())
        .expect("rows");
    let coloured: Vec<usize> = (0..400)
        .filter(|&x| {
            px[(y * 400 + x) * 4 + 3] == 255
                && at(x, y) != [20, 20, 20]
                && at(x, y) != [255, 255, 255]
        })
        .collect();
    let (x0, x1) = (coloured[0], coloured[coloured.len() - 1]);
    // 1 mm/h of a 0-20 mm/h ramp: 5 % along, a saturated blue.
    let x = x0 + (x1 - x0) / 20;
    let [r, g, b] = at(x, y);
    assert!(b > 180 && r < 60 && g < 130, "1 mm/h is {:?}", [r, g, b]);
}

#[tokio::test]
async fn mean_sea_level_pressure_fills_are_colours_not_a_pale_wash() {
    let server = Server::start(demo_data(), &[]);
    // A z1 tile of the filled contours: most pixels are clearly coloured
    // (channel spread over 60), not the near-white of a diverging ramp.
    let (_, _, px) = image(&format!(
        "{}/tiles/gfs_PRMSL_msl/filled_contours/1/0/0.png?run={}&forecast=0",
        server.url,
        run()
    ))
    .await;
    let opaque: Vec<&[u8]> = px.chunks(4).filter(|p| p[3] > 200).collect();
    assert!(opaque.len() > 30_000, "{} opaque px", opaque.len());
    let coloured = opaque
        .iter()
        .filter(|p| p[..3].iter().max().unwrap_or(&0) - p[..3].iter().min().unwrap_or(&0) > 60)
        .count();
    assert!(
        coloured * 10 > opaque.len() * 7,
        "{coloured} of {} pixels coloured",
        opaque.len()
    );
}
