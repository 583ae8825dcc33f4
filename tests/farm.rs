//! The distributed farm as separate processes of the real binary — NATS
//! JetStream, Redis, an S3 server (moto), scheduler, two workers, gateways —
//! started by the same launcher users run (`wxfarm farm up`). A real GRIB2
//! file goes into the bucket through the normal ingest path.

mod farm_support;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use farm_support::{Farm, gdas_grid, get_until};
use support::{assert_pixels_match_grid, default_gradient, get, rgba, shared_data};

#[tokio::test]
async fn farm_serves_correct_tiles_from_s3_through_jetstream_and_redis() {
    let Some(farm) = Farm::up_with_env(
        &["--gateways", "2", "--warm-max-zoom", "1"],
        &[("WXFARM_PREFETCH_RINGS", "1")],
    ) else {
        return;
    };
    let tile = "/tiles/gfs_VRATE_pbl/gradient/2/1/1.png";
    let (status, headers, body) = get_until(
        &format!("{}{tile}", farm.gateway(0)),
        Duration::from_secs(20),
        |s, _| s == 200,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-cache"], "MISS");
    let (_, _, pixels) = rgba(&body);
    assert_pixels_match_grid(
        &pixels,
        &gdas_grid(),
        &default_gradient(0, 2, 224),
        (2, 1, 1),
    );
    // Metrics are off the public port, on the gateway's own listener.
    assert_eq!(get(&format!("{}/metrics", farm.gateway(0))).await.0, 404);
    let (status, _, metrics) = get(farm.info["metrics"]["gateway"].as_str().expect("url")).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&metrics).contains("wxfarm_tile_requests_total"));

    // The other gateway finds the worker's copy in Redis.
    let (status, headers, other) = get(&format!("{}{tile}", farm.gateway(1))).await;
    assert_eq!((status, headers["x-cache"].to_str().unwrap()), (200, "L2"));
    assert_eq!(other, body);
    // The scheduler warmed zooms 0–1 of the new field.
    let (_, headers, _) = get_until(
        &format!("{}/tiles/gfs_VRATE_pbl/gradient/1/0/1.png", farm.gateway(1)),
        Duration::from_secs(20),
        |_, h| h["x-cache"] == "L2",
    )
    .await;
    assert_eq!(headers["x-cache"], "L2", "warmed tile");
    // The miss at z2 (1,1) queued its 8 neighbours at prefetch priority;
    // once rendered, the other gateway finds them in Redis.
    let started = Instant::now();
    while farm.renders_at("prefetch").await < 8 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        farm.renders_at("prefetch").await >= 8,
        "neighbours prefetched"
    );
    let (status, headers, _) = get(&format!(
        "{}/tiles/gfs_VRATE_pbl/gradient/2/2/1.png",
        farm.gateway(1)
    ))
    .await;
    assert_eq!(
        (status, headers["x-cache"].to_str().unwrap()),
        (200, "L2"),
        "prefetched neighbour"
    );
    // Capabilities list both ingested layers.
    let (_, _, caps) = get(&format!(
        "{}/wmts/1.0.0/WMTSCapabilities.xml",
        farm.gateway(0)
    ))
    .await;
    let caps = String::from_utf8_lossy(&caps);
    assert!(caps.contains("gfs_VRATE_pbl") && caps.contains("cmc_TMP_isbl"));
}

#[tokio::test]
async fn two_gateways_asking_for_one_tile_cause_one_render() {
    let Some(farm) = Farm::up(&["--gateways", "2", "--warm-max-zoom", "-1"]) else {
        return;
    };
    farm.serving(0).await;
    let before = farm.renders().await;
    let tile = "/tiles/gfs_VRATE_pbl/gradient/4/3/5.png";
    let requests: Vec<_> = (0..12)
        .map(|k| {
            let url = format!("{}{tile}", farm.gateway(k % 2));
            tokio::spawn(async move { get(&url).await })
        })
        .collect();
    for r in requests {
        let (status, _, _) = r.await.expect("join");
        assert_eq!(status, 200);
    }
    assert_eq!(
        farm.renders().await - before,
        1,
        "12 requests over 2 gateways, one render"
    );
}

#[tokio::test]
async fn redis_down_keeps_serving_and_l2_returns_with_it() {
    let Some(farm) = Farm::up(&["--gateways", "2", "--warm-max-zoom", "-1"]) else {
        return;
    };
    let base = farm.gateway(0);
    farm.serving(0).await;
    farm.kill("redis");
    let started = Instant::now();
    let (status, headers, _) = get(&format!("{base}/tiles/cmc_TMP_isbl/gradient/2/1/1.png")).await;
    assert_eq!(
        (status, headers["x-cache"].to_str().unwrap()),
        (200, "MISS")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no long stall without Redis"
    );
    farm.restart("redis");
    // Once Redis is back, a fresh render lands in L2 for the other gateway
    // (the store reconnects by itself; give it a moment).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, _, _) = get(&format!("{base}/tiles/cmc_TMP_isbl/gradient/3/5/3.png")).await;
    assert_eq!(status, 200);
    let (_, headers, _) = get_until(
        &format!("{}/tiles/cmc_TMP_isbl/gradient/3/5/3.png", farm.gateway(1)),
        Duration::from_secs(10),
        |_, h| h["x-cache"] == "L2",
    )
    .await;
    assert_eq!(
        headers["x-cache"], "L2",
        "L2 works again without restarting anything"
    );
}

#[tokio::test]
async fn nats_down_gives_503_for_misses_keeps_cached_tiles_and_recovers() {
    let Some(farm) = Farm::up(&["--warm-max-zoom", "-1"]) else {
        return;
    };
    let base = farm.gateway(0);
    let cached = format!("{base}/tiles/cmc_TMP_isbl/gradient/1/1/0.png");
    let (status, _, _) = get_until(&cached, Duration::from_secs(20), |s, _| s == 200).await;
    assert_eq!(status, 200);
    let ready = format!("{base}/readyz");
    assert_eq!(get(&ready).await.0, 200);
    farm.kill("nats");
    let (status, headers, _) = get(&cached).await;
    assert_eq!(
        (status, headers["x-cache"].to_str().unwrap()),
        (200, "L1"),
        "cached tiles still served"
    );
    let miss = format!("{base}/tiles/cmc_TMP_isbl/gradient/2/2/1.png");
    let started = Instant::now();
    let (status, headers, body) = get(&miss).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert!(headers.contains_key("retry-after"));
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast");
    // Not ready (take it out of the load balancer), yet alive.
    let (status, _, _) = get_until(&ready, Duration::from_secs(5), |s, _| s == 503).await;
    assert_eq!(status, 503);
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    // A worker started while NATS is down waits for it instead of exiting.
    let late_metrics = farm.start_worker("worker-late");
    tokio::time::sleep(Duration::from_secs(2)).await;
    farm.restart("nats");
    let (status, _, _) = get_until(&miss, Duration::from_secs(30), |s, _| s == 200).await;
    assert_eq!(status, 200, "recovered without restarting any role");
    assert_eq!(get(&ready).await.0, 200);
    // With the original workers gone, the late one renders alone.
    farm.kill("worker-1");
    farm.kill("worker-2");
    let other = format!("{base}/tiles/cmc_TMP_isbl/gradient/2/1/1.png");
    let (status, _, _) = get_until(&other, Duration::from_secs(60), |s, _| s == 200).await;
    assert_eq!(status, 200, "the worker started during the outage renders");
    let (_, _, body) = get(&late_metrics).await;
    let rendered = String::from_utf8_lossy(&body).lines().any(|l| {
        l.starts_with("wxfarm_renders_total{") && l.contains("result=\"ok\"") && !l.ends_with(" 0")
    });
    assert!(rendered, "the late worker counted its render");
}

#[tokio::test]
async fn a_corrupt_object_fails_its_tiles_only_and_killed_workers_are_survived() {
    let Some(farm) = Farm::up(&["--warm-max-zoom", "-1"]) else {
        return;
    };
    let base = farm.gateway(0);
    farm.serving(0).await;
    // Replace the GDAS object in the bucket with garbage behind the
    // catalog's back.
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("wxfarm")
        .with_region("us-east-1")
        .with_endpoint(farm.info["s3_endpoint"].as_str().expect("endpoint"))
        .with_allow_http(true)
        .with_access_key_id("farm")
        .with_secret_access_key("farm")
        .build()
        .expect("s3 client");
    let key = object_store::path::Path::from("gdas.t12z.pgrb2.0p25.f000.12");
    object_store::ObjectStore::put(&s3, &key, b"GRIB garbage garbage garbage".to_vec().into())
        .await
        .expect("overwrite");

    let started = Instant::now();
    let (status, headers, body) =
        get(&format!("{base}/tiles/gfs_VRATE_pbl/gradient/3/1/1.png")).await;
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/xml");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "answered within the deadline"
    );
    // Other layers keep flowing, also after losing a worker.
    farm.kill("worker-1");
    for (x, y) in [(0, 0), (1, 1), (2, 3), (3, 2)] {
        let (status, _, _) =
            get(&format!("{base}/tiles/cmc_TMP_isbl/gradient/2/{x}/{y}.png")).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn a_newly_ingested_file_reaches_every_gateway_through_the_catalog() {
    let Some(farm) = Farm::up(&["--gateways", "2", "--warm-max-zoom", "-1"]) else {
        return;
    };
    let data = shared_data().expect("samples");
    let caps = |k: usize| {
        format!(
            "{}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
            farm.gateway(k)
        )
    };
    let (_, _, before) = get(&caps(1)).await;
    assert!(!String::from_utf8_lossy(&before).contains("gfs_RH_isbl"));

    farm.ingest(&data.join("gdas.t12z.pgrb2.0p25.f000.46.xz"));
    let announced = Instant::now();
    for k in 0..2 {
        loop {
            let (_, _, body) = get(&caps(k)).await;
            if String::from_utf8_lossy(&body).contains("gfs_RH_isbl") {
                break;
            }
            assert!(
                announced.elapsed() < Duration::from_secs(15),
                "gateway {k} never saw the new layer"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "new layer visible on both gateways {:?} after the ingest event",
        announced.elapsed()
    );
    let (status, _, _) = get(&format!(
        "{}/tiles/gfs_RH_isbl/gradient/1/0/0.png",
        farm.gateway(1)
    ))
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wxfarm_warm_through_one_gateway_fills_redis_for_all() {
    let Some(farm) = Farm::up(&["--gateways", "2", "--warm-max-zoom", "-1"]) else {
        return;
    };
    farm.serving(0).await;
    farm.serving(1).await;
    let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["warm", "--url", &farm.gateway(0), "--token"])
        .arg(farm.info["admin_token"].as_str().expect("admin token"))
        .args(["--layers", "gfs_VRATE_pbl", "--zooms", "0-2"])
        .output()
        .expect("wxfarm warm");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("warmed 21 tiles") && text.contains("0 failed"),
        "{text}"
    );
    assert_eq!(
        farm.renders_at("warm").await,
        21,
        "rendered by workers at warm priority"
    );
    // The farm's own counters and the queue's depth are exported.
    let metric = |url: String, series: &'static str| async move {
        let (_, _, body) = get(&url).await;
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with(series))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let url = |role: &str| farm.info["metrics"][role].as_str().expect("url").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rendered = metric(
            url("worker-1"),
            "wxfarm_worker_jobs_total{outcome=\"rendered\"}",
        )
        .await
            + metric(
                url("worker-2"),
                "wxfarm_worker_jobs_total{outcome=\"rendered\"}",
            )
            .await;
        let published = metric(
            url("gateway"),
            "wxfarm_gateway_queue_events_total{event=\"published\"}",
        )
        .await;
        let (_, _, body) = get(&url("scheduler")).await;
        let depth_series = String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with("wxfarm_queue_depth{"))
            .count();
        if (rendered >= 21.0 && published >= 21.0 && depth_series == 3)
            || std::time::Instant::now() > deadline
        {
            assert!(rendered >= 21.0, "workers' rendered count {rendered}");
            assert!(published >= 21.0, "gateway's published count {published}");
            assert_eq!(depth_series, 3, "a depth per priority");
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The other gateway never saw them: they come from Redis.
    for tile in ["0/0/0", "1/0/1", "2/3/2"] {
        let (status, headers, _) = get(&format!(
            "{}/tiles/gfs_VRATE_pbl/gradient/{tile}.png",
            farm.gateway(1)
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L2", "{tile}");
    }
    // Without a gateway: straight over NATS, signed with the farm secret,
    // Redis checked first.
    let direct = |zooms: &str| {
        Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args(["warm", "--nats"])
            .arg(farm.info["nats_url"].as_str().expect("nats url"))
            .arg("--redis")
            .arg(farm.info["redis_url"].as_str().expect("redis url"))
            .args(["--layers", "gfs_VRATE_pbl", "--zooms", zooms])
            .env(
                "WXFARM_FARM_SECRET",
                farm.info["farm_secret"].as_str().expect("secret"),
            )
            .env_remove("WXFARM_ADMIN_TOKEN")
            .output()
            .expect("wxfarm warm --nats")
    };
    let out = direct("0-3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("warmed 85 tiles") && text.contains("64 rendered, 21 already cached"),
        "{text}"
    );
    assert_eq!(farm.renders_at("warm").await, 85, "the workers rendered z3");
    let (_, headers, _) = get(&format!(
        "{}/tiles/gfs_VRATE_pbl/gradient/3/5/2.png",
        farm.gateway(1)
    ))
    .await;
    assert_eq!(headers["x-cache"], "L2", "a tile warmed without a gateway");
    // A spec the farm's catalog refuses exits 2, naming why.
    let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["warm", "--nats"])
        .arg(farm.info["nats_url"].as_str().expect("nats url"))
        .args(["--layers", "no_such_layer"])
        .env(
            "WXFARM_FARM_SECRET",
            farm.info["farm_secret"].as_str().expect("secret"),
        )
        .output()
        .expect("wxfarm warm --nats");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_layer"));
}

#[tokio::test]
async fn positions_asked_on_any_gateway_are_warmed_farm_wide_for_a_new_forecast_hour() {
    // Demo data: f000 at start, f001 arrives later.
    let samples = tempfile::tempdir().expect("tempdir");
    let later = tempfile::tempdir().expect("tempdir");
    let opts = demo::DemoOptions {
        run: support::run_time(),
        seed: 7,
        hours: 1,
        radar_frames: 1,
        radar_step_minutes: 10,
        grid_coarsening: 10,
    };
    demo::write_demo_data(samples.path(), &opts).expect("demo data");
    let (dir, f001) = demo::gfs::file_name(&opts, 1);
    let next_hour = later.path().join(&f001);
    std::fs::rename(samples.path().join(&dir).join(&f001), &next_hour).expect("hold f001 back");
    let Some(farm) = Farm::up_with_samples(
        &[samples.path().to_path_buf()],
        &["--gateways", "2", "--warm-max-zoom", "-1"],
        &[("WXFARM_HOT_SET", "2"), ("WXFARM_DEMAND_SEND_MS", "200")],
    ) else {
        return;
    };
    let run = support::run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let tile = |k: usize, path: &str, h: u8| {
        format!(
            "{}/tiles/gfs_TMP_2m/{path}.png?run={run}&forecast={h}",
            farm.gateway(k)
        )
    };
    // One place is popular on gateway 0, another (in isolines) on gateway 1.
    let (status, _, _) = get_until(
        &tile(0, "gradient/5/9/12", 0),
        Duration::from_secs(30),
        |s, _| s == 200,
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        assert_eq!(get(&tile(0, "gradient/5/9/12", 0)).await.0, 200);
        assert_eq!(get(&tile(1, "isolines/6/40/20", 0)).await.0, 200);
    }
    assert_eq!(get(&tile(0, "gradient/4/3/5", 0)).await.0, 200);
    // The scheduler has the gateways' counts.
    let scheduler = farm.info["metrics"]["scheduler"]
        .as_str()
        .expect("url")
        .to_owned();
    get_until(&scheduler, Duration::from_secs(20), |_, _| true).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, m) = get(&scheduler).await;
        let positions = String::from_utf8_lossy(&m)
            .lines()
            .find_map(|l| l.strip_prefix("wxfarm_demand_positions "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if positions >= 3.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler never got the counts"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // f001 arrives through the normal ingest path.
    farm.ingest(&next_hour);
    let deadline = Instant::now() + Duration::from_secs(30);
    while farm.renders_at("warm").await < 2 {
        assert!(Instant::now() < deadline, "the hot set was not rendered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each hot position is in Redis, so even the gateway that never saw
    // it serves it without a render.
    for (k, path) in [(1, "gradient/5/9/12"), (0, "isolines/6/40/20")] {
        let (status, headers, _) = get(&tile(k, path, 1)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L2", "{path} on gateway {k}");
    }
    let (_, headers, _) = get(&tile(0, "gradient/4/3/5", 1)).await;
    assert_eq!(headers["x-cache"], "MISS", "outside the top 2");
    // The gateways told the scheduler what they served: both warmed tiles
    // were used (precision 1), and the one miss counts against recall.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, m) = get(&scheduler).await;
        let m = String::from_utf8_lossy(&m);
        let sample = |name: &str| {
            m.lines()
                .find(|l| l.starts_with(name) && l.contains("source=\"hot_set\""))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let (queued, used) = (
            sample("wxfarm_warm_queued_total{"),
            sample("wxfarm_warm_used_total{"),
        );
        if queued == 2.0 && used == 2.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scheduler's hot set: {queued} queued, {used} used"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_animating_client_gets_its_next_frames_rendered_into_redis() {
    let samples = tempfile::tempdir().expect("tempdir");
    let opts = demo::DemoOptions {
        run: support::run_time(),
        seed: 7,
        hours: 3,
        radar_frames: 1,
        radar_step_minutes: 10,
        grid_coarsening: 10,
    };
    demo::write_demo_data(samples.path(), &opts).expect("demo data");
    let Some(farm) = Farm::up_with_samples(
        &[samples.path().to_path_buf()],
        &["--gateways", "2", "--warm-max-zoom", "-1"],
        &[("WXFARM_LOOKAHEAD", "2")],
    ) else {
        return;
    };
    let run = support::run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let tile = |k: usize, h: u8| {
        format!(
            "{}/tiles/gfs_TMP_2m/gradient/4/3/5.png?run={run}&forecast={h}",
            farm.gateway(k)
        )
    };
    // The viewer's Play marks its first frame: no second frame needed.
    let (status, headers, _) = get_until(
        &format!("{}&animate=1", tile(0, 0)),
        Duration::from_secs(30),
        |s, _| s == 200,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-cache"], "MISS");
    let deadline = Instant::now() + Duration::from_secs(30);
    while farm.renders_at("prefetch").await < 2 {
        assert!(
            Instant::now() < deadline,
            "the next frames were not rendered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Rendered by workers into Redis: the other gateway has them (asked
    // for last, since stepping forward there is an animation too).
    let (_, headers, _) = get(&tile(1, 3)).await;
    assert_eq!(headers["x-cache"], "MISS", "beyond the lookahead");
    for h in [1, 2] {
        let (status, headers, _) = get(&tile(1, h)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L2", "forecast hour {h}");
    }
}

#[tokio::test]
async fn jobs_waiting_without_workers_are_listed_shown_and_replayed() {
    let Some(farm) = Farm::up(&["--warm-max-zoom", "-1"]) else {
        return;
    };
    farm.serving(0).await;
    farm.kill("worker-1");
    farm.kill("worker-2");
    let nats = farm.info["nats_url"].as_str().expect("nats url").to_owned();
    let secret = farm.info["farm_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    // A warm job with no worker to take it waits in the stream.
    let warm = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args([
            "warm",
            "--nats",
            &nats,
            "--layers",
            "gfs_VRATE_pbl",
            "--zooms",
            "0",
        ])
        .env("WXFARM_FARM_SECRET", &secret)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wxfarm warm");
    let jobs = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .arg("jobs")
            .args(args)
            .args(["--nats", &nats])
            .output()
            .expect("wxfarm jobs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed: serde_json::Value = loop {
        if let Some(line) = jobs(&["ls"]).lines().next() {
            break serde_json::from_str(line).expect("a JSON line");
        }
        assert!(Instant::now() < deadline, "the job was never listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(listed["priority"], "Warm", "{listed}");
    assert!(
        listed["key"]
            .as_str()
            .is_some_and(|k| k.contains("gfs_VRATE_pbl")),
        "{listed}"
    );
    let seq = listed["seq"].as_u64().expect("seq").to_string();
    let shown: serde_json::Value = serde_json::from_str(&jobs(&["get", &seq])).expect("json");
    assert_eq!(shown["job"]["key"]["layer"], "gfs_VRATE_pbl", "{shown}");
    assert!(jobs(&["replay", &seq]).starts_with(&format!("replayed job {seq} as ")));
    // A worker arrives: it takes the jobs, the warm run finishes, the queue
    // empties.
    farm.start_worker("worker-3");
    let out = tokio::task::spawn_blocking(move || warm.wait_with_output())
        .await
        .expect("join")
        .expect("warm output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("warmed 1 tiles"),
        "{text}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !jobs(&["ls"]).trim().is_empty() {
        assert!(Instant::now() < deadline, "jobs left in the queue");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
