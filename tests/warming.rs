//! `serve` runs the farm's scheduler loop: a file that arrives while it
//! runs is ingested and its low zooms are warmed into L1, so the first
//! user to look finds them ready.

mod support;

use std::time::{Duration, Instant};

use support::{Server, demo_data, find_file, get, ingest_into, metric_sum, run_time};

#[tokio::test]
async fn a_newly_ingested_file_is_warmed_into_l1_before_anyone_asks() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &["--poll-secs", "1", "--warm-max-zoom", "1"]);
    // Drop one forecast hour in through the documented path.
    let file = find_file(demo_data(), "f001").expect("a demo forecast file");
    ingest_into(data.path(), &file);

    // Wait (without requesting any tile) until every queued warm job has
    // rendered.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (queued, rendered) = loop {
        let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
        let m = String::from_utf8_lossy(&m);
        let queued = metric_sum(&m, "wxfarm_warm_jobs_total", &[]);
        let rendered = metric_sum(&m, "wxfarm_renders_total", &["priority=\"warm\""]);
        if queued > 0 && rendered >= queued {
            break (queued, rendered);
        }
        assert!(
            Instant::now() < deadline,
            "warming did not finish: {rendered} of {queued} rendered\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // z0 and z1 of each layer of the file: 1 + 4 tiles each.
    assert_eq!(queued % 5, 0, "{queued} warm jobs");
    assert!(rendered >= 5);

    // The very first request for a warmed tile is an L1 hit, and for a
    // zoom that was not warmed a miss.
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let url = |z: u8, x: u32, y: u32| {
        format!(
            "{}/tiles/gfs_TMP_2m/gradient/{z}/{x}/{y}.png?run={run}&forecast=1",
            server.url
        )
    };
    let (status, headers, body) = get(&url(1, 1, 0)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-cache"], "L1", "warmed before it was asked for");
    let (status, headers, _) = get(&url(2, 1, 1)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-cache"], "MISS", "z2 was not warmed");
    // One warmed tile asked for, once: one use, however often it is asked.
    assert_eq!(get(&url(1, 1, 0)).await.0, 200);
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    let m = String::from_utf8_lossy(&m);
    assert_eq!(
        metric_sum(&m, "wxfarm_warm_used_total", &["source=\"static\""]),
        1
    );
    assert_eq!(
        metric_sum(&m, "wxfarm_warm_queued_total", &["source=\"static\""]),
        queued
    );
}

#[tokio::test]
async fn the_positions_users_ask_for_most_are_warmed_for_a_new_field() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        data.path(),
        &[
            "--poll-secs",
            "1",
            "--warm-max-zoom",
            "-1",
            "--hot-set",
            "3",
        ],
    );
    let ingest = |hour: &str| {
        let file = find_file(demo_data(), hour).expect("a demo forecast file");
        ingest_into(data.path(), &file);
    };
    ingest("f001");
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let url = |z: u8, x: u32, y: u32, h: u8, style: &str| {
        format!(
            "{}/tiles/gfs_TMP_2m/{style}/{z}/{x}/{y}.png?run={run}&forecast={h}",
            server.url
        )
    };
    // Users look at two places over and over, and once at a third.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&url(5, 9, 12, 1, "gradient")).await.0 != 200 {
        assert!(Instant::now() < deadline, "f001 never served");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..5 {
        assert_eq!(get(&url(5, 9, 12, 1, "gradient")).await.0, 200);
        assert_eq!(get(&url(6, 40, 20, 1, "isolines")).await.0, 200);
    }
    assert_eq!(get(&url(4, 3, 5, 1, "gradient")).await.0, 200);

    // The next forecast hour arrives: the two hot positions, in the styles
    // they were seen in, are rendered before anyone asks.
    ingest("f002");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
        let m = String::from_utf8_lossy(&m);
        let queued = metric_sum(&m, "wxfarm_warm_jobs_total", &["source=\"hot_set\""]);
        let rendered = metric_sum(&m, "wxfarm_renders_total", &["priority=\"warm\""]);
        if queued >= 2 && rendered >= queued {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hot set not warmed: {queued} queued, {rendered} rendered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (u, what) in [
        (url(5, 9, 12, 2, "gradient"), "the hottest position"),
        (url(6, 40, 20, 2, "isolines"), "the second, in its style"),
    ] {
        let (status, headers, _) = get(&u).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "{what} was warmed");
    }
    let (_, headers, _) = get(&url(4, 3, 5, 2, "gradient")).await;
    assert_eq!(
        headers["x-cache"], "MISS",
        "asked for once: chance, not demand, though the hot set had room"
    );
    // Both warmed tiles were used: precision 1, measured.
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    let m = String::from_utf8_lossy(&m);
    assert_eq!(
        metric_sum(&m, "wxfarm_warm_queued_total", &["source=\"hot_set\""]),
        2
    );
    assert_eq!(
        metric_sum(&m, "wxfarm_warm_used_total", &["source=\"hot_set\""]),
        2
    );
}

#[tokio::test]
async fn the_layer_catalogue_says_which_zooms_styles_and_tile_matrix_sets_to_warm() {
    let data = tempfile::tempdir().expect("tempdir");
    let rules = data.path().with_extension("warm.toml");
    std::fs::write(
        &rules,
        r#"[[warm]]
layers = "gfs_TMP_*"
zooms = [1, 1]
styles = ["gradient", "isolines"]
tms = ["WorldCRS84Quad"]

[[warm]]
layers = "*"
zooms = [0, 0]
styles = []
"#,
    )
    .expect("rules");
    // No --warm-max-zoom: the rules decide.
    let server = Server::start_with(
        data.path(),
        &[
            "--poll-secs",
            "1",
            "--layers",
            rules.to_str().expect("utf-8 path"),
        ],
        &["WXFARM_WARM_MAX_ZOOM"],
    );
    let file = find_file(demo_data(), "f001").expect("a demo forecast file");
    ingest_into(data.path(), &file);
    let deadline = Instant::now() + Duration::from_secs(120);
    let queued = loop {
        let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
        let m = String::from_utf8_lossy(&m);
        let queued = metric_sum(&m, "wxfarm_warm_jobs_total", &[]);
        let rendered = metric_sum(&m, "wxfarm_renders_total", &["priority=\"warm\""]);
        if queued > 0 && rendered >= queued {
            break queued;
        }
        assert!(
            Instant::now() < deadline,
            "warming did not finish\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Only 2 m temperature: z1 of WorldCRS84Quad is 4 × 2 tiles, two styles.
    assert_eq!(queued, 16, "warm jobs");
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let wmts = |layer: &str, style: &str, tms: &str, z: u8, row: u32, col: u32| {
        format!(
            "{}/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}.png?run={run}&forecast=1",
            server.url
        )
    };
    for (url, what) in [
        (
            wmts("gfs_TMP_2m", "gradient", "WorldCRS84Quad", 1, 1, 3),
            "gradient",
        ),
        (
            wmts("gfs_TMP_2m", "isolines", "WorldCRS84Quad", 1, 0, 0),
            "isolines",
        ),
    ] {
        let (status, headers, _) = get(&url).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "{what} was warmed");
    }
    for (url, what) in [
        (
            wmts("gfs_TMP_2m", "gradient", "WebMercatorQuad", 1, 0, 0),
            "another tile matrix set",
        ),
        (
            wmts("gfs_TMP_2m", "gradient", "WorldCRS84Quad", 0, 0, 0),
            "another zoom",
        ),
        (
            wmts("gfs_PRMSL_msl", "gradient", "WorldCRS84Quad", 1, 0, 0),
            "a layer whose rule warms no style",
        ),
    ] {
        let (status, headers, _) = get(&url).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(headers["x-cache"], "MISS", "{what} was not warmed");
    }
}
