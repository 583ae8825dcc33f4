//! Work ahead of users in `serve`: a miss queues its neighbours, and a
//! client stepping through time gets its next frames queued. (The farm's
//! version is checked in `tests/farm.rs`.)

mod support;

use std::time::{Duration, Instant};

use support::{Server, demo_data, get, run_time};

async fn renders_at(server: &Server, priority: &str) -> u64 {
    let (_, _, m) = get(&format!("{}/metrics", server.url)).await;
    String::from_utf8_lossy(&m)
        .lines()
        .filter(|l| {
            l.starts_with("wxfarm_renders_total{")
                && l.contains("result=\"ok\"")
                && l.contains(&format!("priority=\"{priority}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
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

fn tile(server: &Server, z: u8, x: u32, y: u32, forecast: u32) -> String {
    let run = run_time().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{}/tiles/gfs_TMP_2m/gradient/{z}/{x}/{y}.png?run={run}&forecast={forecast}",
        server.url
    )
}

#[tokio::test]
async fn a_miss_prefetches_its_neighbours_into_l1() {
    let server = Server::start(demo_data(), &["--prefetch-rings", "1", "--lookahead", "0"]);
    let (status, headers, _) = get(&tile(&server, 3, 0, 3, 0)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-cache"], "MISS");
    // 8 neighbours; x wraps: column -1 is column 7.
    assert_eq!(prefetched(&server, 8).await, 8);
    for (x, y) in [(7, 2), (1, 3), (0, 4), (7, 4)] {
        let (status, headers, _) = get(&tile(&server, 3, x, y, 0)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "neighbour ({x},{y})");
    }
    // Two rings out was not prefetched.
    let (_, headers, _) = get(&tile(&server, 3, 2, 3, 0)).await;
    assert_eq!(headers["x-cache"], "MISS");
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
