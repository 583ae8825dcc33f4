//! End to end: a real `wxfarm serve` process over sample data, driven over
//! HTTP. Tiles are checked by pixel content against independently decoded
//! data; errors by their OGC exception codes.

mod support;

use protocol::TileMatrixSetId;
use protocol::style::{StyleKind, StyleSpec, Units};
use render::Gradient;
use support::{Server, demo_data, get, rgba, run_time};

fn find_file(dir: &std::path::Path, needle: &str) -> std::path::PathBuf {
    support::find_file(dir, needle).unwrap_or_else(|| panic!("no {needle} under {}", dir.display()))
}

use support::default_gradient;

#[tokio::test]
async fn tile_pixels_are_the_ramp_colours_of_the_decoded_values() {
    let server = Server::start(demo_data(), &[]);
    let (z, x, y) = (2u8, 1u32, 1u32);
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let (status, headers, body) = get(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/{z}/{x}/{y}.png?run={run}&forecast=0",
        server.url
    ))
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "image/png");
    let (w, h, pixels) = rgba(&body);
    assert_eq!((w, h), (256, 256));

    // Decode the same field independently of the server.
    let file = std::fs::read(find_file(demo_data(), "f000")).expect("f000");
    let grid = decode::decode_message(&file, 0).expect("TMP is the first field");
    support::assert_pixels_match_grid(&pixels, &grid, &default_gradient(0, 0, 0), (z, x, y));
}

#[tokio::test]
async fn radar_is_transparent_off_the_mosaic_and_coloured_in_echoes() {
    let server = Server::start(demo_data(), &[]);
    // z3 (1,3) lies over the South Atlantic, far from the CONUS mosaic.
    let (status, _, body) = get(&format!(
        "{}/tiles/mrms_REFL/gradient/3/4/4.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    let (_, _, px) = rgba(&body);
    assert!(px.chunks(4).all(|p| p[3] == 0), "no data, no colour");
    // z2 (0,1) covers CONUS: the sample storms show up in reflectivity colours.
    let (_, _, body) = get(&format!(
        "{}/tiles/mrms_REFL/gradient/2/0/1.png",
        server.url
    ))
    .await;
    let (_, _, px) = rgba(&body);
    let gradient = default_gradient(209, 10, 0);
    let tint = protocol::layers::LayerCatalogue::builtin()
        .parameter(209, 10, 0)
        .and_then(|r| r.no_data_color)
        .expect("the radar rule has a no-data colour");
    // Everything drawn is an echo colour or (on the mosaic, where no radar
    // sees) the no-coverage tint.
    let opaque: Vec<&[u8]> = px.chunks(4).filter(|p| p[3] != 0 && **p != tint).collect();
    assert!(!opaque.is_empty(), "echoes are drawn");
    let palette: Vec<[u8; 4]> = (0..=700)
        .map(|k| gradient.color(5.0 + k as f32 * 0.1))
        .collect();
    assert!(
        opaque
            .iter()
            .all(|p| palette.contains(&[p[0], p[1], p[2], p[3]]))
    );
}

/// Radar "no coverage" (MRMS −999, missing on the grid) is tinted in the
/// layer's no-data colour; "no echo" (−99, a measurement below the 5 dBZ
/// threshold) and everything off the grid stay clear.
#[tokio::test]
async fn radar_tints_no_coverage_and_leaves_no_echo_clear() {
    let server = Server::start(demo_data(), &[]);
    let path = find_file(demo_data(), "MergedReflectivityQCComposite");
    let grid = decode::decode_message(&std::fs::read(&path).expect("radar"), 0).expect("decodes");
    // The frame's time from its name (…_YYYYMMDD-HHMMSS.grib2).
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let stamp = &name[name.len() - 21..name.len() - 6];
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S")
        .expect("stamp")
        .and_utc();
    let (z, x, y) = (2u8, 0u32, 1u32);
    let (status, _, body) = get(&format!(
        "{}/tiles/mrms_REFL/gradient/{z}/{x}/{y}.png?time={}",
        server.url,
        time.format("%Y-%m-%dT%H:%M:%SZ")
    ))
    .await;
    assert_eq!(status, 200);
    let (_, _, px) = rgba(&body);
    let tint = protocol::layers::LayerCatalogue::builtin()
        .parameter(209, 10, 0)
        .and_then(|r| r.no_data_color)
        .expect("the radar rule has a no-data colour");
    let tms = protocol::TileMatrixSetId::WebMercatorQuad;
    let (lons, lats) = (tms.pixel_lons(z, x, 256), tms.pixel_lats(z, y, 256));
    let (mut tinted, mut clear_no_echo, mut off_grid) = (0, 0, 0);
    for r in (0..256).step_by(3) {
        for c in (0..256).step_by(3) {
            let got: [u8; 4] = px[(r * 256 + c) * 4..][..4].try_into().expect("rgba");
            let Some((i, j)) = grid.locate(lons[c], lats[r]) else {
                assert_eq!(got[3], 0, "({c},{r}) off the grid: clear");
                off_grid += 1;
                continue;
            };
            let (i0, j0) = (i.floor() as usize, j.floor() as usize);
            let around: Vec<f32> = [(0, 0), (1, 0), (0, 1), (1, 1)]
                .iter()
                .map(|(di, dj)| grid.value((i0 + di).min(grid.ni - 1), (j0 + dj).min(grid.nj - 1)))
                .collect();
            if around.iter().all(|v| v.is_nan()) {
                assert_eq!(got, tint, "({c},{r}) no coverage: tinted");
                tinted += 1;
            } else if around.iter().all(|&v| v == -99.0) {
                assert_eq!(got[3], 0, "({c},{r}) no echo: clear");
                clear_no_echo += 1;
            }
        }
    }
    assert!(
        tinted > 100 && clear_no_echo > 100 && off_grid > 100,
        "tinted {tinted}, no echo {clear_no_echo}, off grid {off_grid}"
    );
}

#[tokio::test]
async fn bad_requests_get_their_ogc_exception_and_status() {
    let server = Server::start(demo_data(), &[]);
    let kvp = "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=gfs_TMP_2m&STYLE=default&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=1&TILEROW=0&TILECOL=0&FORMAT=image/png";
    let with = |from: &str, to: &str| kvp.replace(from, to);
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        (
            with("LAYER=gfs_TMP_2m&", ""),
            400,
            "MissingParameterValue",
            Some("layer"),
        ),
        (
            with("TILEMATRIX=1", "TILEMATRIX=abc"),
            400,
            "InvalidParameterValue",
            Some("tilematrix"),
        ),
        (
            with("TILEROW=0", "TILEROW=9"),
            400,
            "TileOutOfRange",
            Some("tilerow"),
        ),
        (
            with("TILECOL=0", "TILECOL=-1"),
            400,
            "InvalidParameterValue",
            Some("tilecol"),
        ),
        (
            with("TILEMATRIXSET=WebMercatorQuad", "TILEMATRIXSET=Foo"),
            400,
            "InvalidParameterValue",
            Some("tilematrixset"),
        ),
        (
            with("FORMAT=image/png", "FORMAT=image/gif"),
            400,
            "InvalidParameterValue",
            Some("format"),
        ),
        (
            with("LAYER=gfs_TMP_2m", "LAYER=nope"),
            404,
            "InvalidParameterValue",
            Some("layer"),
        ),
        (
            with("STYLE=default", "STYLE=sparkles"),
            400,
            "InvalidParameterValue",
            Some("style"),
        ),
        (
            format!("{kvp}&forecast=99"),
            400,
            "InvalidParameterValue",
            Some("forecast"),
        ),
        (
            format!("{kvp}&run=2001-01-01T00:00:00Z"),
            400,
            "InvalidParameterValue",
            Some("run"),
        ),
        (
            format!("{kvp}&COLORSCALERANGE=5,1"),
            400,
            "InvalidParameterValue",
            Some("colorscalerange"),
        ),
        (
            format!("{kvp}&UNITS=kt"),
            400,
            "InvalidParameterValue",
            Some("units"),
        ),
        (
            format!("{kvp}&tilesize=1024"),
            400,
            "InvalidParameterValue",
            Some("tilesize"),
        ),
        (
            with("SERVICE=WMTS", "SERVICE=WMS"),
            400,
            "InvalidParameterValue",
            Some("service"),
        ),
        (
            with("REQUEST=GetTile", "REQUEST=DescribeCoverage"),
            501,
            "OperationNotSupported",
            None,
        ),
        (
            "/tiles/gfs_TMP_2m/gradient/30/0/0.png".into(),
            400,
            "TileOutOfRange",
            Some("tilematrix"),
        ),
        (
            "/tiles/gfs_TMP_2m/gradient/1/0/0.gif".into(),
            400,
            "InvalidParameterValue",
            Some("format"),
        ),
        (
            "/wmts/1.0.0/gfs_TMP_2m/default/WebMercatorQuad/2/4/0.png".into(),
            400,
            "TileOutOfRange",
            Some("tilerow"),
        ),
    ];
    for (path, status, code, locator) in cases {
        let (got, headers, body) = get(&format!("{}{path}", server.url)).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{path}: {text}");
        assert_eq!(headers["content-type"], "application/xml", "{path}");
        let doc =
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        let exception = doc
            .descendants()
            .find(|n| n.has_tag_name("Exception"))
            .expect("Exception element");
        assert_eq!(exception.attribute("exceptionCode"), Some(code), "{path}");
        if let Some(l) = locator {
            assert_eq!(exception.attribute("locator"), Some(l), "{path}");
        }
    }
}

fn renders_in(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("wxfarm_renders_total{") && l.contains("result=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn concurrent_requests_for_one_tile_render_once() {
    let server = Server::start(demo_data(), &[]);
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    let before = renders_in(&String::from_utf8_lossy(&m));
    let url = format!(
        "{}/tiles/gfs_PRMSL_msl/gradient/3/2/3.png?forecast=2",
        server.url
    );
    let requests = (0..16).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { get(&url).await })
    });
    let mut tiers = Vec::new();
    let mut bodies = Vec::new();
    for r in requests {
        let (status, headers, body) = r.await.expect("join");
        assert_eq!(status, 200);
        tiers.push(headers["x-cache"].to_str().unwrap_or_default().to_owned());
        bodies.push(body);
    }
    assert_eq!(
        tiers.iter().filter(|t| *t == "MISS").count(),
        1,
        "{tiers:?}"
    );
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    assert_eq!(
        renders_in(&String::from_utf8_lossy(&m)) - before,
        1,
        "one render for 16 requests"
    );
}

#[tokio::test]
async fn validators_and_cache_lifetimes() {
    let server = Server::start(demo_data(), &[]);
    let latest = format!("{}/tiles/gfs_TMP_2m/gradient/1/1/0.png", server.url);
    let (_, headers, _) = get(&latest).await;
    assert_eq!(headers["cache-control"], "public, max-age=60");
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let pinned = format!("{latest}?run={run}&forecast=1");
    let (_, headers, _) = get(&pinned).await;
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = headers["etag"].clone();
    let client = reqwest::Client::new();
    let r = client
        .get(&pinned)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(r.status().as_u16(), 304);
    assert!(r.bytes().await.expect("body").is_empty());
    // Another forecast hour is another tile with another validator.
    let (_, other, _) = get(&pinned.replace("forecast=1", "forecast=2")).await;
    assert_ne!(other["etag"], etag);
}

#[tokio::test]
async fn a_corrupt_file_is_rejected_by_name_and_the_rest_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        find_file(demo_data(), "f001"),
        dir.path().join("good.grib2"),
    )
    .expect("copy");
    std::fs::write(
        dir.path().join("broken.grib2"),
        b"GRIB\x00\x00\x00\x02 definitely not a forecast",
    )
    .expect("write");
    let good = std::fs::read(dir.path().join("good.grib2")).expect("read");
    std::fs::write(dir.path().join("truncated.grib2"), &good[..good.len() / 3]).expect("write");

    let server = Server::start(dir.path(), &[]);
    let (status, _, _) = get(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/0/0/0.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200, "the good file serves");
    let log = server.log_text();
    assert!(
        log.contains("broken.grib2"),
        "log names the corrupt file: {log}"
    );
    assert!(
        log.contains("truncated.grib2"),
        "log names the truncated file: {log}"
    );

    // `wxfarm ingest` refuses it too, naming the file, with a failing exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["ingest", "--data"])
        .arg(dir.path().join("store"))
        .arg(dir.path().join("broken.grib2"))
        .arg(dir.path().join("good.grib2"))
        .output()
        .expect("run ingest");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.grib2") && stderr.contains("1 of 2 files rejected"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("good.grib2: 5 fields"));
}

#[tokio::test]
async fn wind_layers_pair_u_and_v_and_draw_the_speed() {
    let server = Server::start(demo_data(), &[]);
    let (status, _, body) = get(&format!("{}/api/layers", server.url)).await;
    assert_eq!(status, 200);
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(
        layers
            .as_array()
            .expect("list")
            .iter()
            .any(|l| l["name"] == "gfs_WIND_10m")
    );

    let (status, _, body) = get(&format!(
        "{}/tiles/gfs_WIND_10m/gradient/1/0/0.png?forecast=0",
        server.url
    ))
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (_, _, pixels) = rgba(&body);
    let file = std::fs::read(find_file(demo_data(), "f000")).expect("f000");
    let (u, v) = (
        decode::decode_message(&file, 2).expect("u"),
        decode::decode_message(&file, 3).expect("v"),
    );
    // Knots on the wind ramp over 0..80 kt, as the wind layer prescribes.
    let gradient = Gradient::new(&StyleSpec::new(
        StyleKind::Gradient,
        protocol::style::ColorMapName::Wind,
        (0.0, 80.0),
        Units::MetresPerSecond,
        Units::Knots,
    ));
    let tms = TileMatrixSetId::WebMercatorQuad;
    let (lons, lats) = (tms.pixel_lons(1, 0, 256), tms.pixel_lats(1, 0, 256));
    for (px, py) in [(40usize, 60usize), (128, 128), (220, 200)] {
        let (i, j) = u.locate(lons[px], lats[py]).expect("global");
        let (i0, j0) = (i.floor() as usize, j.floor() as usize);
        let speeds: Vec<f32> = [
            (i0, j0),
            ((i0 + 1) % u.ni, j0),
            (i0, j0 + 1),
            ((i0 + 1) % u.ni, j0 + 1),
        ]
        .iter()
        .map(|&(a, b)| u.value(a, b).hypot(v.value(a, b)))
        .collect();
        let hi = speeds.iter().fold(0f32, |a, &s| a.max(s));
        // Interpolated components can cancel (down to calm) but never exceed
        // the fastest corner.
        let allowed: Vec<_> = (0..=800)
            .map(|k| gradient.color(hi * 1.0001 * k as f32 / 800.0))
            .collect();
        let k = (py * 256 + px) * 4;
        let got: [u8; 4] = pixels[k..k + 4].try_into().unwrap();
        assert!(
            allowed.contains(&got),
            "pixel ({px},{py}) {got:?} is not a speed colour of 0..{hi} m/s"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start(demo_data(), &[]);
    let (status, _, _) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200);
    let exit = server.terminate(std::time::Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "exits 0 on SIGTERM: {exit:?}"
    );
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let server = Server::start(
        demo_data(),
        &["--rate-limit", "2", "--rate-limit-burst", "5"],
    );
    let url = format!("{}/api/layers", server.url);
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..12 {
        let (status, headers, body) = get(&url).await;
        statuses.push(status);
        if status == 429 && limited.is_none() {
            limited = Some((headers, body));
        }
    }
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        (5..=6).contains(&ok),
        "the burst passes, then no more: {statuses:?}"
    );
    let (headers, body) = limited.expect("a 429");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(String::from_utf8_lossy(&body).contains("ExceptionReport"));
    // Health checks are never limited; the client recovers after waiting.
    assert_eq!(get(&format!("{}/healthz", server.url)).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&url).await.0, 200);
}

#[tokio::test]
async fn the_rate_limit_from_the_environment_counts_forwarded_clients_apart() {
    // WXFARM_RATE_LIMIT=3 and no burst given: the burst is 2 s worth (6).
    let server = Server::start_env(
        demo_data(),
        &["--trust-forwarded-for"],
        &[],
        &[("WXFARM_RATE_LIMIT", "3")],
    );
    let url = format!("{}/api/layers", server.url);
    let client = reqwest::Client::new();
    let ask = |from: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(&url)
                // A client's own entry, then what the proxy appended.
                .header("x-forwarded-for", format!("6.6.6.6, {from}"))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    let mut first = Vec::new();
    for _ in 0..10 {
        first.push(ask("10.0.0.1").await);
    }
    let ok = first.iter().filter(|&&s| s == 200).count();
    assert!(
        (6..=7).contains(&ok),
        "the default burst, then 429: {first:?}"
    );
    assert!(first.contains(&429));
    // Another client behind the same proxy (same socket address) has its
    // own allowance; the spoofable first entry is ignored.
    assert_eq!(ask("10.0.0.2").await, 200);
}
