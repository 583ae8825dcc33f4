//! Work ahead of users in `serve`: a miss queues its neighbours, and a
//! client stepping through time gets its next frames queued. (The farm's
//! versions are checked in `tests/farm.rs` and `tests/farm_warming.rs`.)

mod support;

use std::time::{Duration, Instant};

use support::{Server, demo_data, get, run_time};

/// The sum of the server's `metric` samples whose labels contain every
/// one of `labels`.
async fn metric(server: &Server, metric: &str, labels: &[&str]) -> u64 {
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    support::metric_sum(&String::from_utf8_lossy(&m), metric, labels)
}

async fn renders_at(server: &Server, priority: &str) -> u64 {
    let priority = format!("priority=\"{priority}\"");
    metric(
        server,
        "wxfarm_renders_total",
        &["result=\"ok\"", &priority],
    )
    .await
}

/// Waits (without requesting tiles) until `n` prefetch renders are done.
async fn prefetched(server: &Server, n: u64) -> u64 {
    let started = Instant::now();
    loop {
        let done = renders_at(server, "prefetch").await;
        if done >= n || started.elapsed() > Duration::from_secs(60) {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every prefetch job queued so far has rendered; returns
/// how many that is.
async fn all_prefetched(server: &Server) -> u64 {
    let started = Instant::now();
    loop {
        let queued = metric(server, "wxfarm_prefetch_jobs_total", &[]).await;
        let done = renders_at(server, "prefetch").await;
        if done >= queued || started.elapsed() > Duration::from_secs(60) {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tile(server: &Server, z: u8, x: u32, y: u32, forecast: u32) -> String {
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{}/tiles/gfs_TMP_2m/gradient/{z}/{x}/{y}.png?run={run}&forecast={forecast}",
        server.url
    )
}

#[tokio::test]
async fn a_miss_prefetches_its_neighbours_into_l1_and_a_pan_keeps_going() {
    let server = Server::start(demo_data(), &["--prefetch-rings", "1", "--lookahead", "0"]);
    let (status, headers, _) = get(&tile(&server, 3, 0, 3, 0)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-cache"], "MISS");
    // 8 neighbours; x wraps: column -1 is column 7.
    assert_eq!(prefetched(&server, 8).await, 8);
    for (x, y) in [(7, 2), (0, 4), (7, 4)] {
        let (status, headers, _) = get(&tile(&server, 3, x, y, 0)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "neighbour ({x},{y})");
    }
    // Two columns east and two rows down is outside every ring so far.
    let (_, headers, _) = get(&tile(&server, 3, 2, 5, 0)).await;
    assert_eq!(headers["x-cache"], "MISS", "two rings out");
    // Panning east onto a prefetched tile prefetches further east ...
    let before = all_prefetched(&server).await;
    let (_, headers, _) = get(&tile(&server, 3, 1, 3, 0)).await;
    assert_eq!(headers["x-cache"], "L1");
    // (column 2, rows 2-3: (2,4) was queued by the miss at (2,5))
    assert!(all_prefetched(&server).await >= before + 2);
    let (_, headers, _) = get(&tile(&server, 3, 2, 3, 0)).await;
    assert_eq!(headers["x-cache"], "L1", "the pan went on");
    // ... one column at a time.
    let (_, headers, _) = get(&tile(&server, 3, 4, 3, 0)).await;
    assert_eq!(headers["x-cache"], "MISS", "three columns on");
}

#[tokio::test]
async fn stepping_through_forecast_hours_queues_the_next_frames() {
    let server = Server::start(demo_data(), &["--prefetch-rings", "0", "--lookahead", "2"]);
    // One frame alone is not an animation.
    let (_, headers, _) = get(&tile(&server, 2, 1, 1, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
    // The next step of the same tile is: hours 2 and 3 get queued.
    let (_, headers, _) = get(&tile(&server, 2, 1, 1, 1)).await;
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(prefetched(&server, 2).await, 2);
    for hour in [2, 3] {
        let (status, headers, _) = get(&tile(&server, 2, 1, 1, hour)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "forecast hour {hour}");
    }
}

#[tokio::test]
async fn an_animate_hint_queues_the_next_frames_from_the_first_one() {
    let server = Server::start(demo_data(), &["--prefetch-rings", "0", "--lookahead", "2"]);
    // A first frame with the viewer's hint: no second frame needed.
    let (_, headers, _) = get(&format!("{}&animate=1", tile(&server, 2, 2, 1, 0))).await;
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(prefetched(&server, 2).await, 2);
    // Without the hint, a first frame queues nothing.
    let (_, headers, _) = get(&tile(&server, 2, 0, 1, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(renders_at(&server, "prefetch").await, 2);
    for hour in [1, 2] {
        let (status, headers, _) = get(&tile(&server, 2, 2, 1, hour)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "forecast hour {hour}");
    }
    // A hint that is neither 1 nor 0 is an error naming it.
    let (status, _, body) = get(&format!("{}&animate=maybe", tile(&server, 2, 2, 1, 0))).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("animate"));
}

/// The `wxfarm_warm_decisions_total` samples for `source` and `decision`.
async fn decisions(server: &Server, source: &str, decision: &str) -> u64 {
    let (source, decision) = (
        format!("source=\"{source}\""),
        format!("decision=\"{decision}\""),
    );
    metric(server, "wxfarm_warm_decisions_total", &[&source, &decision]).await
}

#[tokio::test]
async fn prefetch_keeps_to_its_budget_of_jobs_per_second() {
    let server = Server::start(
        demo_data(),
        &[
            "--prefetch-rings",
            "1",
            "--lookahead",
            "0",
            "--warm-budget",
            "3",
        ],
    );
    let (_, headers, _) = get(&tile(&server, 3, 3, 3, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
    // 8 neighbours planned, a budget of 3 a second: 3 queued, 5 refused.
    assert_eq!(prefetched(&server, 3).await, 3);
    assert_eq!(decisions(&server, "spatial", "queued").await, 3);
    assert_eq!(decisions(&server, "spatial", "over_budget").await, 5);
    assert_eq!(renders_at(&server, "prefetch").await, 3);
}

#[tokio::test]
async fn slow_user_renders_pause_prefetch() {
    // Any render slower than 1 ms pauses work ahead: the first miss
    // decodes its grid, which takes longer than that.
    let server = Server::start(
        demo_data(),
        &[
            "--prefetch-rings",
            "1",
            "--lookahead",
            "0",
            "--warm-pause-ms",
            "1",
        ],
    );
    let (_, headers, _) = get(&tile(&server, 3, 4, 3, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(decisions(&server, "spatial", "paused").await, 8);
    assert_eq!(decisions(&server, "spatial", "queued").await, 0);
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    assert!(
        String::from_utf8_lossy(&m).contains("wxfarm_warm_paused 1"),
        "the pause is exported"
    );
    // Logs reach the file through a buffered writer: give it a moment.
    let logged = Instant::now();
    while !server.log_text().contains("prefetch and warming paused") {
        assert!(
            logged.elapsed() < Duration::from_secs(10),
            "the pause is logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing was queued: the neighbour is still a miss.
    let (_, headers, _) = get(&tile(&server, 3, 5, 3, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
}
