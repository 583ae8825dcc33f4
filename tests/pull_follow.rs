//! `serve --follow` against a fixture of NOAA's buckets (see
//! `tests/pull.rs`): new runs picked up by polling and by S3 event
//! notifications, old runs retired.

mod pull_support;
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pull_support::fixture::{BUCKET, Fixture, layers_of};
use pull_support::{Fault, data_ranges, files_under, gfs_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_follow_picks_up_a_new_run_and_retires_the_oldest() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    // Yesterday's runs: `latest` looks at today, then yesterday.
    let day = (Utc::now() - chrono::Duration::days(1)).date_naive();
    let run0 = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let run6 = day.and_hms_opt(6, 0, 0).unwrap().and_utc();
    fx.upload_run(run0, &[0, 3]).await;
    let data = tempfile::tempdir().unwrap();
    let sources = data.path().with_extension("sources.toml");
    fx.sources_file(&sources, 1);
    let server = support::Server::start(
        data.path(),
        &[
            "--follow",
            "gfs",
            "--follow-interval",
            "1",
            "--sources",
            sources.to_str().unwrap(),
            "--endpoint",
            &fx.proxy.url,
            "--retry-backoff-ms",
            "20",
        ],
    );
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let wait_for_runs = |want: Vec<String>| {
        let url = server.url.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let layers = layers_of(&url).await;
                let all = layers.len() == 3
                    && layers.iter().all(|(_, runs)| {
                        runs.iter()
                            .map(|(r, f)| (r.clone(), f.len()))
                            .collect::<Vec<_>>()
                            == want.iter().map(|r| (r.clone(), 2)).collect::<Vec<_>>()
                    });
                if all {
                    return Instant::now();
                }
                assert!(
                    Instant::now() < deadline,
                    "runs {want:?} never arrived: {layers:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for_runs(vec![iso(run0)]).await;
    let uploaded = Instant::now();
    fx.upload_run(run6, &[0, 3]).await;
    let arrived = wait_for_runs(vec![iso(run6)]).await;
    // Picked up within a poll or two (1 s each) plus the pull itself.
    assert!(
        arrived - uploaded < Duration::from_secs(20),
        "{:?}",
        arrived - uploaded
    );
    let day_dir = format!("{BUCKET}/gfs.{}/00/", day.format("%Y%m%d"));
    let left: Vec<String> = files_under(data.path())
        .into_iter()
        .filter(|f| f.starts_with(&day_dir))
        .collect();
    assert!(left.is_empty(), "run 00 deleted: {left:?}");
    assert_eq!(
        files_under(data.path()).len(),
        6,
        "run 06: 3 messages x 2 hours"
    );
}

/// The admin token of the notification tests.
const TOKEN: &str = "notify-token-0123456789";

/// `serve` following the fixture's GFS bucket (polling hourly, so only
/// notifications pull within a test), with the notification webhook.
fn notified_server(fx: &Fixture, data: &std::path::Path) -> support::Server {
    let sources = data.with_extension("sources.toml");
    fx.sources_file(&sources, 2);
    support::Server::start(
        data,
        &[
            "--follow",
            "gfs",
            "--follow-interval",
            "3600",
            "--sources",
            sources.to_str().unwrap(),
            "--endpoint",
            &fx.proxy.url,
            "--admin-token",
            TOKEN,
        ],
    )
}

/// A run three days old: polls (today and yesterday) never find it, only
/// a notification names it.
fn unpolled_run() -> DateTime<Utc> {
    (Utc::now() - chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

/// An S3 event notification of `key` created in the fixture's bucket.
fn s3_event(key: &str) -> String {
    serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_pulls_the_object_it_names() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = notified_server(&fx, data.path());
    let run = unpolled_run();
    fx.upload_run(run, &[0, 3]).await;
    let event = s3_event;
    let post = |body: String, auth: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(format!("{}/admin/pull/notify", server.url))
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
    let (status, text) = post("{\"nope\": 1}".into(), Some(TOKEN)).await;
    assert_eq!(status, 400, "{text}");
    // Over the 256 KiB budget: refused before it is read.
    let (status, _) = post(" ".repeat(300 << 10), Some(TOKEN)).await;
    assert_eq!(status, 413);
    // An SNS envelope naming f003's inventory: f003 alone is pulled.
    let sns = serde_json::json!({"Type": "Notification", "Message": event(&idx3)}).to_string();
    let (status, text) = post(sns, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("pulled 3 messages"), "{text}");
    let layers = layers_of(&server.url).await;
    assert_eq!(layers.len(), 3, "{layers:?}");
    for (name, runs) in &layers {
        let iso = run.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        assert_eq!(runs, &vec![(iso, vec![3.0])], "{name}");
    }
    // Again: already present. Another bucket: 404.
    let (status, text) = post(event(&idx3), Some(TOKEN)).await;
    assert!(
        status == 200 && text.contains("3 already present"),
        "{text}"
    );
    let (status, text) = post(event("x").replace(BUCKET, "other-bucket"), Some(TOKEN)).await;
    assert_eq!(status, 404, "{text}");
}

/// The webhook pulls at most `MAX_NOTIFIED_PULLS` (2) notifications at
/// once: with two pulls stuck on data that never arrives, a third
/// notification gets 503 with `Retry-After` instead of starting a pull.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_past_the_pull_slots_get_503_with_retry_after() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = notified_server(&fx, data.path());
    let run = unpolled_run();
    fx.upload_run(run, &[0, 3]).await;
    fx.proxy.set_faults(vec![Fault::HangDataAfter(0)]);
    let post = |fh: u32| {
        let body = s3_event(&format!("{}.idx", gfs_key(run, fh)));
        reqwest::Client::new()
            .post(format!("{}/admin/pull/notify", server.url))
            .header("authorization", format!("Bearer {TOKEN}"))
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
    };
    // Each pull holds its slot once it asks for data (which never comes).
    let mut seen = Vec::new();
    for fh in [0, 3] {
        tokio::spawn(post(fh));
        let key = gfs_key(run, fh);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen
            .iter()
            .any(|(p, _): &(String, String)| p.ends_with(&key))
        {
            assert!(Instant::now() < deadline, "no data request for f{fh:03}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            seen.extend(data_ranges(&fx.proxy.take_log()));
        }
    }
    let third = post(0).await.expect("answered");
    assert_eq!(third.status().as_u16(), 503);
    let retry = third.headers().get("retry-after").cloned();
    assert_eq!(
        retry
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .as_deref(),
        Some("5")
    );
    let text = third.text().await.unwrap();
    assert!(text.contains("being pulled"), "{text}");
}
