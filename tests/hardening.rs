//! Hostile input against a real `wxfarm serve`: each case once crashed or
//! starved the server. Each now gets a clean rejection while the rest keeps
//! serving.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Server, demo_data, get, rgba};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn map(url: &str, style: &str, crs: &str, bbox: &str) -> String {
    format!(
        "{url}/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.3.0&LAYERS=gfs_WIND_10m&STYLES={style}\
         &CRS={crs}&BBOX={bbox}&WIDTH=256&HEIGHT=256&FORMAT=image/png"
    )
}

#[tokio::test]
async fn map_boxes_beyond_the_world_are_refused_and_the_server_stays_up() {
    let server = Server::start(demo_data(), &[]);
    let url = &server.url;
    // Each of these allocated gigabytes or burned CPU-seconds in the
    // symbol lattice before it was bounded.
    for (style, crs, bbox) in [
        ("wind_barbs", "EPSG:3857", "-2e12,-2e12,2e12,2e12"),
        ("wind_arrows", "EPSG:3857", "-2e12,-2e12,2e12,2e12"),
        ("wind_barbs", "CRS:84", "-1e6,-80,1e6,80"),
        ("wind_barbs", "CRS:84", "-360000,-80,360000,80"),
        ("gradient", "CRS:84", "-inf,-80,10,80"),
        ("gradient", "CRS:84", "NaN,-80,10,80"),
    ] {
        let (status, _, body) = get(&map(url, style, crs, bbox)).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{style} {crs} {bbox}: {text}");
        assert!(
            text.contains("InvalidParameterValue") && text.contains("locator=\"bbox\""),
            "{bbox}: {text}"
        );
    }
    let (status, _, _) = get(&format!("{url}/healthz")).await;
    assert_eq!(status, 200);
    // A whole-world barb map, and one just across the antimeridian, still
    // draw symbols.
    for (crs, bbox) in [
        (
            "EPSG:3857",
            "-20037508.34,-20037508.34,20037508.34,20037508.34",
        ),
        ("CRS:84", "90,-60,270,60"),
    ] {
        let (status, _, body) = get(&map(url, "wind_barbs", crs, bbox)).await;
        assert_eq!(status, 200, "{bbox}: {}", String::from_utf8_lossy(&body));
        let (_, _, px) = rgba(&body);
        let inked = px.chunks(4).filter(|p| p[3] == 255 && p[0] < 60).count();
        assert!(inked > 100, "{bbox}: barbs drawn ({inked} dark pixels)");
    }
}

/// Opens a connection that sends half a request head and then nothing.
async fn slow_client(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    s
}

/// Whether the server closes `s` within `within` (EOF or reset).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a response (e.g. 408) before the close
        }
    }
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_while_health_checks_answer() {
    let server = Server::start(
        demo_data(),
        &["--header-timeout-secs", "1", "--max-connections", "1000"],
    );
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(slow_client(&addr).await);
    }
    // The server answers others while 300 heads trickle in.
    let (status, _, body) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // An idle keep-alive connection, after one full request.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.expect("response");
    assert_eq!(&head, b"HTTP/1.1 200");
    // Generous bounds: they say "closed", not how fast.
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(30)).await,
            "a slow client's connection is closed"
        );
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(30)).await,
        "an idle keep-alive connection is closed"
    );
}

/// Sends one raw GET of `target` and returns the whole response.
async fn raw_get(addr: &str, target: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // The server may answer and close before reading all of a huge head.
    let _ = s.write_all(head.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn overlong_uris_are_refused_and_the_server_stays_up() {
    let server = Server::start(demo_data(), &[]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Over the URI limit, within the head buffer: an OGC exception report.
    let long = format!(
        "/wms?SERVICE=WMS&REQUEST=GetCapabilities&pad={}",
        "x".repeat(20_000)
    );
    let r = raw_get(&addr, &long).await;
    assert!(r.starts_with("HTTP/1.1 414"), "{}", &r[..r.len().min(200)]);
    assert!(r.contains("ExceptionReport"), "{r}");
    // Over the head buffer: refused by the HTTP layer, nothing allocated.
    let huge = format!("/wms?pad={}", "x".repeat(200_000));
    let r = raw_get(&addr, &huge).await;
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 4"),
        "{}",
        &r[..r.len().min(200)]
    );
    let (status, _, _) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200);
}

/// Rewrites every embedded PNG's header in a GRIB2 file to claim
/// `side`×`side` RGBA pixels of 16 bits, with a valid CRC.
fn claim_giant_pngs(bytes: &mut [u8], side: u32) -> usize {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut patched = 0;
    let mut at = 0;
    while let Some(k) = bytes[at..].windows(SIG.len()).position(|w| w == SIG) {
        let ihdr = at + k + SIG.len(); // length(4) "IHDR"(4) data(13) crc(4)
        assert_eq!(&bytes[ihdr + 4..ihdr + 8], b"IHDR");
        let data = ihdr + 8;
        bytes[data..data + 4].copy_from_slice(&side.to_be_bytes());
        bytes[data + 4..data + 8].copy_from_slice(&side.to_be_bytes());
        bytes[data + 8] = 16; // bit depth
        bytes[data + 9] = 6; // RGBA
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[ihdr + 4..data + 13]);
        bytes[data + 13..data + 17].copy_from_slice(&crc.sum().to_be_bytes());
        patched += 1;
        at = data + 17;
    }
    patched
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn a_png_field_claiming_a_giant_image_is_rejected_at_ingest_and_the_good_field_kept() {
    let data = tempfile::tempdir().expect("tempdir");
    copy_dir(demo_data(), data.path());
    let radar = support::find_file(data.path(), "mrms").expect("a radar file in the demo data");
    let mut bytes = std::fs::read(&radar).expect("read radar");
    assert!(
        claim_giant_pngs(&mut bytes, 60_000) > 0,
        "the radar is PNG-packed"
    );
    // Same fields, same times: it would replace the good file's fields.
    let hostile = radar.with_file_name("zz-hostile-radar.grib2");
    std::fs::write(&hostile, &bytes).expect("write hostile file");

    let server = Server::start(data.path(), &[]);
    let (status, _, body) = get(&format!(
        "{}/tiles/mrms_REFL/gradient/2/0/1.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (_, _, px) = rgba(&body);
    assert!(
        px.chunks(4).any(|p| p[3] != 0),
        "the good file's echoes still draw"
    );
    let log = server.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("zz-hostile-radar.grib2") && l.contains("PNG")),
        "the rejection names the file and the reason:\n{log}"
    );
    let (status, _, _) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200);
}

/// A GRIB2 message of the first field of `template` (a lat/lon grid) on a
/// `side`×`side` grid with 0-bit simple packing: every point is the
/// reference value, so the file stays tiny whatever the grid.
fn zero_bit_giant_grid(template: &[u8], side: u32) -> Vec<u8> {
    let mut sections = std::collections::BTreeMap::new();
    let mut at = 16;
    while &template[at..at + 4] != b"7777" {
        let len = u32::from_be_bytes(template[at..at + 4].try_into().expect("4")) as usize;
        sections
            .entry(template[at + 4])
            .or_insert(template[at..at + len].to_vec());
        at += len;
    }
    let mut s3 = sections[&3].clone();
    assert_eq!(&s3[12..14], &[0, 0], "template 3.0 (regular lat/lon)");
    let points = side * side;
    s3[6..10].copy_from_slice(&points.to_be_bytes());
    s3[30..34].copy_from_slice(&side.to_be_bytes());
    s3[34..38].copy_from_slice(&side.to_be_bytes());
    let mut s5 = vec![0, 0, 0, 21, 5];
    s5.extend(points.to_be_bytes());
    s5.extend([0, 0]); // template 5.0
    s5.extend(280.0f32.to_be_bytes()); // reference value
    s5.extend([0, 0, 0, 0, 0, 0]); // scales 0, 0 bits, floating point
    let body = [
        sections[&1].clone(),
        s3,
        sections[&4].clone(),
        s5,
        vec![0, 0, 0, 6, 6, 255],
        vec![0, 0, 0, 5, 7],
    ]
    .concat();
    let total = (16 + body.len() + 4) as u64;
    let mut out = template[..8].to_vec();
    out.extend(total.to_be_bytes());
    out.extend(body);
    out.extend(b"7777");
    out
}

/// The process's peak resident memory (VmHWM), bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[tokio::test]
async fn tiny_files_declaring_giant_grids_are_refused_and_feature_info_stays_bounded() {
    let data = tempfile::tempdir().expect("tempdir");
    copy_dir(demo_data(), data.path());
    let gfs = support::find_file(data.path(), "gfs").expect("a GFS file in the demo data");
    let hostile = zero_bit_giant_grid(&std::fs::read(&gfs).expect("read"), 16_384);
    assert!(hostile.len() < 400, "{} bytes", hostile.len());
    for k in 0..8 {
        std::fs::write(data.path().join(format!("zz-giant-{k}.grib2")), &hostile).expect("write");
    }
    let server = Server::start(data.path(), &[]);
    let map = "LAYERS=gfs_TMP_2m&STYLES=&CRS=CRS:84&BBOX=-130,20,-60,55&WIDTH=350&HEIGHT=175";
    let url = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&{map}&QUERY_LAYERS=gfs_TMP_2m&I=175&J=90&INFO_FORMAT=application/json",
        server.url
    );
    let answers = futures::future::join_all((0..8).map(|_| get(&url))).await;
    for (status, _, body) in answers {
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
        // The good field's value, not the giant field's constant (280 K).
        let value = info["values"][0]["value"].as_f64().expect("a value");
        let units = info["values"][0]["units"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let constant = if units.contains('C') {
            280.0 - 273.15
        } else {
            280.0
        };
        assert!((value - constant).abs() > 1e-3, "{info}");
    }
    let log = server.log_text();
    for k in 0..8 {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("zz-giant-{k}.grib2")) && l.contains("points")),
            "the rejection names zz-giant-{k}.grib2 and the reason:\n{log}"
        );
    }
    // 8 × 16384² floats would be 8 GiB; the demo data needs a few hundred MB.
    let peak = peak_rss(server.pid());
    assert!(peak < 1 << 30, "peak RSS {} MiB", peak >> 20);
    let (status, _, _) = get(&format!("{}/healthz", server.url)).await;
    assert_eq!(status, 200);
}

#[test]
fn farm_down_signals_only_processes_of_its_farm() {
    use std::process::Command;
    // A recorded PID now held by a stranger (PIDs are reused), and one
    // process that really is the farm's.
    let mut stranger = Command::new("sleep").arg("60").spawn().expect("sleep");
    let mut member = Command::new("sleep")
        .arg("60")
        .env("WXFARM_FARM_ID", "f00d")
        .spawn()
        .expect("sleep");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = serde_json::json!({
        "gateway_url": "http://127.0.0.1:1", "gateway_urls": [], "metrics": {},
        "s3_endpoint": "", "bucket": "", "nats_url": "", "redis_url": "",
        "farm_secret": "", "farm_id": "f00d", "dir": dir.path(),
        "pids": {"gateway": stranger.id(), "worker-1": member.id()},
    });
    std::fs::write(dir.path().join("farm.json"), state.to_string()).expect("state");
    let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["farm", "down", "--dir"])
        .arg(dir.path())
        .output()
        .expect("farm down");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        member.wait().is_ok_and(|s| !s.success()),
        "the farm's process was stopped"
    );
    assert!(
        stranger.try_wait().expect("try_wait").is_none(),
        "the stranger still runs"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("left alone"));
    let _ = stranger.kill();
    let _ = stranger.wait();
}

#[tokio::test]
async fn metrics_can_live_off_the_public_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server::start(demo_data(), &["--metrics-listen", &addr]);
    let (status, _, _) = get(&format!("{}/metrics", server.url)).await;
    assert_eq!(status, 404, "not on the public port");
    // A request to count.
    let (status, _, _) = get(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/0/0/0.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    let mut body = String::new();
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("http://{addr}/metrics")).await
            && r.status() == 200
        {
            body = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        body.contains("wxfarm_tile_requests_total"),
        "metrics on the private listener: {body}"
    );
    // Described, and counters that have not moved yet are already there.
    for line in [
        "# HELP wxfarm_tile_requests_total",
        "# HELP wxfarm_tile_request_duration_seconds",
        "wxfarm_renders_abandoned_total 0",
        "wxfarm_rate_limited_total 0",
    ] {
        assert!(body.lines().any(|l| l.starts_with(line)), "{line}: {body}");
    }
    // The caches' sizes and the grid cache's lookups (published each second).
    let sample = |body: &str, series: &str| {
        body.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let started = std::time::Instant::now();
    loop {
        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        let l1 = sample(&body, "wxfarm_l1_tiles ").unwrap_or(0.0);
        let grid_misses =
            sample(&body, "wxfarm_grid_cache_lookups_total{result=\"miss\"}").unwrap_or(0.0);
        let grid_bytes = sample(&body, "wxfarm_grid_cache_bytes ").unwrap_or(0.0);
        // One tile rendered: one grid decoded and held (4 bytes a point).
        if l1 >= 1.0 && grid_misses == 1.0 && grid_bytes > 10_000.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "L1 {l1}, grid misses {grid_misses}, grid bytes {grid_bytes}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
