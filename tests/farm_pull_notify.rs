//! The farm's notification webhook: an S3 event POSTed to a gateway's
//! `/admin/pull/notify` reaches the following scheduler over NATS, which
//! pulls the named object at once (long before its next poll), and the
//! gateways' catalog shows it.

mod farm_support;
mod pull_support;
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use pull_support::fixture::{BUCKET, Fixture, layers_of};
use pull_support::gfs_key;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_notification_is_pulled_into_the_farm_catalog() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources.toml");
    fx.sources_file(&sources, 2);
    let (sources, endpoint) = (sources.display().to_string(), fx.proxy.url.clone());
    let farm = tokio::task::spawn_blocking(move || {
        let env = [
            ("WXFARM_FOLLOW", "gfs"),
            // One poll at start-up, the next an hour later.
            ("WXFARM_FOLLOW_INTERVAL", "3600"),
            ("WXFARM_SOURCES", sources.as_str()),
            ("WXFARM_PULL_ENDPOINT", endpoint.as_str()),
        ];
        farm_support::Farm::up_with_env(&[], &env)
    })
    .await
    .unwrap();
    let Some(farm) = farm else { return };
    let gateway = farm.gateway(0);
    let token = farm.info["admin_token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    // Three days old, uploaded after the farm started: polls (today and
    // yesterday, hourly) never find it; only the notification names it.
    let run = (Utc::now() - chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    fx.upload_run(run, &[0, 3]).await;
    let run_iso = run.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let event = |key: &str| {
        serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]})
        .to_string()
    };
    let post = |body: String, auth: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(format!("{gateway}/admin/pull/notify"))
            .body(body);
        if let Some(t) = auth {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let idx3 = format!("{}.idx", gfs_key(run, 3));
    assert_eq!(post(event(&idx3), None).await.0, 401);
    assert_eq!(
        post(event(&idx3), Some("wrong-token-0123456789")).await.0,
        401
    );
    let (status, text) = post("{\"nope\": 1}".into(), Some(&token)).await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = post(event(&"k".repeat(2000)), Some(&token)).await;
    assert_eq!(status, 400, "{text}");
    let (status, _) = post(" ".repeat(300 << 10), Some(&token)).await;
    assert_eq!(status, 413);
    let pulled_runs = |layers: pull_support::fixture::Layers| {
        layers
            .into_iter()
            .filter(|(_, runs)| runs.iter().any(|(r, f)| *r == run_iso && f == &[3.0]))
            .count()
    };
    assert_eq!(pulled_runs(layers_of(&gateway).await), 0);
    // An SNS envelope naming f003's inventory.
    let sns = serde_json::json!({"Type": "Notification", "Message": event(&idx3)}).to_string();
    let (status, text) = post(sns, Some(&token)).await;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains("accepted 1 objects"), "{text}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        // The three fields of f003 (f000 was not named).
        if pulled_runs(layers_of(&gateway).await) == 3 {
            break;
        }
        if Instant::now() > deadline {
            let log = farm.dir.path().join("farm/logs/scheduler.log");
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(25).collect();
            panic!(
                "gateway never showed run {run_iso} f003: {:?}\nscheduler log, newest first:\n{}",
                layers_of(&gateway).await,
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Without NATS the gateway cannot forward: 503, not a silent 202.
    farm.kill("nats");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = post(event(&idx3), Some(&token)).await;
        if status == 503 {
            break;
        }
        assert_eq!(status, 202, "{text}");
        assert!(
            Instant::now() < deadline,
            "the gateway still accepts with NATS down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
