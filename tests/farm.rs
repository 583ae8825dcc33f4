//! The distributed farm as separate processes of the real binary — NATS
//! JetStream, Redis, an S3 server (moto), scheduler, two workers, gateways —
//! started by the same launcher users run (`wxfarm farm up`). A real GRIB2
//! file goes into the bucket through the normal ingest path.

mod farm_support;
mod support;

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
    // The scheduler warmed zooms 0–1 of the new field. Asked before the
    // workers finish, a tile is an ordinary miss (and then an L1 hit), so
    // wait for every warm job the scheduler issued to be rendered first.
    let scheduler = farm.info["metrics"]["scheduler"]
        .as_str()
        .expect("url")
        .to_owned();
    let started = Instant::now();
    let issued = loop {
        let (_, _, text) = get(&scheduler).await;
        let issued = support::metric_sum(
            &String::from_utf8_lossy(&text),
            "wxfarm_warm_jobs_total",
            &[],
        );
        if (issued > 0 && farm.renders_at("warm").await >= issued)
            || started.elapsed() > Duration::from_secs(30)
        {
            break issued;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(issued >= 5, "z0–1 warmed: {issued} jobs");
    let (_, headers, _) = get(&format!(
        "{}/tiles/gfs_VRATE_pbl/gradient/1/0/1.png",
        farm.gateway(1)
    ))
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
