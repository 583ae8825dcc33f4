//! A new model run arriving hour by hour into a running `serve`: no request
//! that succeeded before it began fails while it arrives, hours it has come
//! from it at once, and it becomes the default only when complete.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Server, get, run_time};

const LAST_HOUR: u32 = 3;

fn options(run: chrono::DateTime<chrono::Utc>) -> demo::DemoOptions {
    demo::DemoOptions {
        run,
        seed: 7,
        hours: LAST_HOUR,
        radar_frames: 1,
        radar_step_minutes: 10,
        grid_coarsening: 10,
    }
}

/// `/api/layers`' entry for gfs_TMP_2m.
async fn layer(url: &str) -> serde_json::Value {
    let (status, _, body) = get(&format!("{url}/api/layers")).await;
    assert_eq!(status, 200);
    let layers: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("json");
    layers
        .into_iter()
        .find(|l| l["name"] == "gfs_TMP_2m")
        .expect("gfs_TMP_2m listed")
}

/// Waits until the catalog holds `count` valid times of `run`.
async fn wait_for_hours(url: &str, run: &str, count: u64) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let l = layer(url).await;
        let arrived = l["runs"]
            .as_array()
            .and_then(|runs| runs.iter().find(|r| r["run"] == run))
            .and_then(|r| r["valid_times"].as_u64());
        if arrived == Some(count) {
            return l;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{run}: {l}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn move_file(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::rename(from, to).expect("rename");
}

#[tokio::test]
async fn a_run_arriving_hour_by_hour_breaks_no_request() {
    let first = run_time();
    let next = first + chrono::Duration::hours(24); // the same cycle, a day on
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let data = tempfile::tempdir().expect("tempdir");
    demo::write_demo_data(data.path(), &options(first)).expect("first run");
    let staged = tempfile::tempdir().expect("tempdir");
    demo::write_demo_data(staged.path(), &options(next)).expect("next run");

    let server = Server::start(data.path(), &["--poll-secs", "1"]);
    let url = server.url.clone();
    let tile = |forecast: Option<u32>| match forecast {
        Some(h) => format!("{url}/tiles/gfs_TMP_2m/gradient/1/0/0.png?forecast={h}"),
        None => format!("{url}/tiles/gfs_TMP_2m/gradient/1/0/0.png"),
    };
    let requests: Vec<String> = std::iter::once(None)
        .chain((0..=LAST_HOUR).map(Some))
        .map(tile)
        .collect();
    for r in &requests {
        assert_eq!(get(r).await.0, 200, "{r} before the new run");
    }
    assert_eq!(layer(&url).await["latest_run"], iso(first));

    for h in 0..=LAST_HOUR {
        let opts = options(next);
        let (dir, name) = demo::gfs::file_name(&opts, h);
        move_file(
            &staged.path().join(&dir).join(&name),
            &data.path().join(&dir).join(&name),
        );
        let l = wait_for_hours(&url, &iso(next), u64::from(h) + 1).await;
        for r in &requests {
            let (status, _, body) = get(r).await;
            assert_eq!(
                status,
                200,
                "{r} with {} hours of the new run in: {}",
                h + 1,
                String::from_utf8_lossy(&body)
            );
        }
        let state = l["runs"]
            .as_array()
            .and_then(|runs| runs.iter().find(|r| r["run"] == iso(next)))
            .map(|r| r["state"].clone())
            .expect("the new run listed");
        let hours = l["runs"]
            .as_array()
            .and_then(|runs| runs.iter().find(|r| r["run"] == iso(next)))
            .map(|r| r["forecasts"].as_array().map_or(0, Vec::len))
            .expect("the new run listed");
        assert_eq!(hours, h as usize + 1, "the new run's hours so far");
        if h < LAST_HOUR {
            assert_eq!(state, "arriving");
            assert_eq!(
                l["latest_run"],
                iso(first),
                "the default waits for the whole run"
            );
        } else {
            assert_eq!(state, "complete");
            let older = l["runs"]
                .as_array()
                .and_then(|runs| runs.iter().find(|r| r["run"] == iso(first)))
                .map(|r| r["state"].clone())
                .expect("the first run still listed");
            assert_eq!(older, "expired", "older than the default now");
            assert_eq!(
                l["latest_run"],
                iso(next),
                "the complete run is the default"
            );
        }
    }
}
