//! Work ahead of users in the distributed farm, as separate processes of
//! the real binary (`wxfarm farm up`: NATS JetStream, Redis, moto, the
//! scheduler, workers, gateways): `wxfarm warm` through a gateway and over
//! NATS, the farm-wide hot set and its measured use, lookahead into Redis,
//! and the jobs tool on jobs that wait. (Serving and failures: `farm.rs`.)

mod farm_support;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use farm_support::{Farm, get_until};
use support::get;

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
