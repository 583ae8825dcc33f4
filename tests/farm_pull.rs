//! The farm's `scheduler --follow`: a new run in a (fixture) NOAA bucket is
//! pulled into the farm's store, published to the gateways' catalog, and
//! the older run retired from both.

mod farm_support;
mod pull_support;
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use pull_support::fixture::{Fixture, Layers, layers_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_follows_a_source_into_the_farm_catalog() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let day = (Utc::now() - chrono::Duration::days(1)).date_naive();
    let run0 = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let run6 = day.and_hms_opt(6, 0, 0).unwrap().and_utc();
    fx.upload_run(run0, &[0, 3]).await;
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources.toml");
    fx.sources_file(&sources, 1);
    let (sources, endpoint) = (sources.display().to_string(), fx.proxy.url.clone());
    let farm = tokio::task::spawn_blocking(move || {
        let env = [
            ("WXFARM_FOLLOW", "gfs"),
            ("WXFARM_FOLLOW_INTERVAL", "1"),
            ("WXFARM_SOURCES", sources.as_str()),
            ("WXFARM_PULL_ENDPOINT", endpoint.as_str()),
        ];
        farm_support::Farm::up_with_env(&[], &env)
    })
    .await
    .unwrap();
    let Some(farm) = farm else { return };
    let gateway = farm.gateway(0);
    let iso = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // The three pulled layers (the farm's own samples are other runs).
    let runs_of_pulled = |layers: Layers| {
        let mut runs: Vec<Vec<String>> = layers
            .into_iter()
            .map(|(_, runs)| {
                runs.into_iter()
                    .filter(|(r, f)| {
                        r.starts_with(&day.format("%Y-%m-%d").to_string()) && f.len() == 2
                    })
                    .map(|(r, _)| r)
                    .collect::<Vec<_>>()
            })
            .filter(|r| !r.is_empty())
            .collect();
        runs.sort();
        runs
    };
    for want in [vec![iso(run0)], vec![iso(run6)]] {
        if want[0] == iso(run6) {
            fx.upload_run(run6, &[0, 3]).await;
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let runs = runs_of_pulled(layers_of(&gateway).await);
            if runs == vec![want.clone(); 3] {
                break;
            }
            if Instant::now() > deadline {
                let log = farm.dir.path().join("farm/logs/scheduler.log");
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(25).collect();
                panic!(
                    "gateway never showed {want:?}: {runs:?}\nscheduler log, newest first:\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
