//! End-to-end runs against tiny in-test HTTP servers on 127.0.0.1:0.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wxfarm_loadgen::report::RunReport;
use wxfarm_loadgen::runner::{self, RunControl, RunOutput};
use wxfarm_loadgen::scenario::{Scenario, ScenarioSpec};

/// How the test server answers request number `n` (0-based, in arrival order).
type Behaviour = fn(u64) -> (Duration, StatusCode, Option<&'static str>);

/// Starts a server on a free loopback port; returns its address and request counter.
async fn serve(behaviour: Behaviour) -> (SocketAddr, Arc<AtomicU64>) {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    let app = Router::new().fallback(move || {
        let c = c.clone();
        async move {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let (delay, status, tier) = behaviour(n);
            tokio::time::sleep(delay).await;
            let mut headers = HeaderMap::new();
            if let Some(t) = tier {
                headers.insert("x-cache", HeaderValue::from_static(t));
            }
            (status, headers, vec![7u8; 1000]).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, counter)
}

fn scenario(addr: SocketAddr, shape: &str) -> Scenario {
    let yaml = format!(
        r#"
name: test
base_url: "http://{addr}"
url: "/tiles/{{layer}}/{{style}}/{{z}}/{{x}}/{{y}}.png?forecast={{forecast}}"
dimensions: {{forecast: [0, 3]}}
layers: [{{name: gfs_TMP_2m}}, {{name: gfs_PRMSL_msl}}]
strategy: {{kind: random, zoom: [0, 6]}}
{shape}
"#
    );
    Scenario::from_spec(
        ScenarioSpec::from_yaml(&yaml, "test.yaml").unwrap(),
        "test.yaml",
    )
    .unwrap()
}

async fn run(s: &Scenario) -> RunOutput {
    // Bounded by the scenario's request count/duration and timeout.
    tokio::time::timeout(
        Duration::from_secs(30),
        runner::run(s, RunControl::default()),
    )
    .await
    .expect("run took too long")
    .unwrap()
}

fn alternating(n: u64) -> (Duration, StatusCode, Option<&'static str>) {
    let tier = [Some("L1"), Some("L2"), Some("MISS"), None][(n % 4) as usize];
    let status = if n % 10 == 9 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (Duration::from_millis(20), status, tier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_measures_latency_statuses_and_tiers() {
    let (addr, counter) = serve(alternating).await;
    let s = scenario(addr, "requests: 100\nconcurrency: 4");
    let out = run(&s).await;
    let r = out.recorder.summary(out.elapsed);
    assert_eq!(
        counter.load(Ordering::SeqCst),
        100,
        "server saw a different count"
    );
    assert_eq!(r.requests, 100);
    assert_eq!(r.statuses.get("200"), Some(&90));
    assert_eq!(r.statuses.get("503"), Some(&10));
    assert_eq!(r.errors_by_kind.get("http_status"), Some(&10));
    assert_eq!(r.errors, 10);
    assert_eq!(r.bytes, 100 * 1000);
    for tier in ["L1", "L2", "MISS", "unknown"] {
        assert_eq!(r.cache[tier].count, 25, "tier {tier}");
        assert!(
            r.cache[tier].latency.p50_ms >= 19.9,
            "tier {tier} p50 {}",
            r.cache[tier].latency.p50_ms
        );
    }
    // 20 ms server delay; the upper tolerance absorbs a busy 2-core machine.
    assert!(
        (19.9..=35.0).contains(&r.latency.p50_ms),
        "p50 {} ms not ≈ 20 ms",
        r.latency.p50_ms
    );
    assert!(r.latency.min_ms >= 19.9);
    // 100 requests × 20 ms over 4 workers ≈ 0.5 s.
    assert!(
        (0.45..3.0).contains(&r.elapsed_s),
        "elapsed {}",
        r.elapsed_s
    );
}

fn stall_once(n: u64) -> (Duration, StatusCode, Option<&'static str>) {
    let delay = if n == 30 {
        Duration::from_millis(500)
    } else {
        Duration::ZERO
    };
    (delay, StatusCode::OK, Some("L1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_corrects_coordinated_omission() {
    let (addr, counter) = serve(stall_once).await;
    // One connection at 100 req/s: while request 30 stalls for 500 ms, the ~50
    // requests scheduled meanwhile cannot be sent. Their latency must count from
    // their scheduled time; a naive tool would only ever see one slow request.
    let s = scenario(addr, "requests: 300\nrate: 100\nconcurrency: 1");
    let out = run(&s).await;
    let r = out.recorder.summary(out.elapsed);
    assert_eq!(counter.load(Ordering::SeqCst), 300);
    assert_eq!(r.requests, 300);
    assert!(r.latency.max_ms >= 490.0, "max {}", r.latency.max_ms);
    assert!(
        r.latency.p99_ms >= 200.0,
        "corrected p99 {} ms: stall not visible",
        r.latency.p99_ms
    );
    assert!(
        r.latency.p95_ms >= 100.0,
        "corrected p95 {} ms",
        r.latency.p95_ms
    );
    assert!(r.service_time.max_ms >= 490.0);
    assert!(
        r.service_time.p99_ms < 150.0,
        "naive p99 {} ms should hide the stall",
        r.service_time.p99_ms
    );
    // The schedule is kept: 300 requests at 100/s take ≈ 3 s, stall included.
    assert!((2.9..4.5).contains(&r.elapsed_s), "elapsed {}", r.elapsed_s);
}

fn fast(_: u64) -> (Duration, StatusCode, Option<&'static str>) {
    (Duration::from_millis(2), StatusCode::OK, Some("L2"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_warmup_and_duration_give_exact_counts() {
    let (addr, counter) = serve(fast).await;
    // 200/s: warm-up 0.25 s = 50 requests, then 1 s = 200 measured requests.
    let s = scenario(
        addr,
        "duration: 1s\nwarmup: 250ms\nrate: 200\nconcurrency: 8",
    );
    let out = run(&s).await;
    assert_eq!(out.warmup_requests, 50);
    assert_eq!(out.recorder.requests(), 200);
    assert_eq!(counter.load(Ordering::SeqCst), 250);
    let r = out.recorder.summary(out.elapsed);
    assert!((150.0..230.0).contains(&r.rps), "rps {}", r.rps);
    assert_eq!(r.cache["L2"].count, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_duration_excludes_warmup() {
    let (addr, counter) = serve(fast).await;
    let s = scenario(addr, "duration: 500ms\nwarmup: 200ms\nconcurrency: 2");
    let out = run(&s).await;
    let measured = out.recorder.requests();
    assert!(out.warmup_requests > 10, "warm-up {}", out.warmup_requests);
    assert!(measured > 20, "measured {measured}");
    assert_eq!(
        counter.load(Ordering::SeqCst),
        measured + out.warmup_requests
    );
    assert!(
        (0.45..1.5).contains(&out.elapsed.as_secs_f64()),
        "elapsed {:?}",
        out.elapsed
    );
}

fn slow(_: u64) -> (Duration, StatusCode, Option<&'static str>) {
    (Duration::from_millis(400), StatusCode::OK, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_classified() {
    // Timeouts: the server answers after 400 ms, the client gives up at 100 ms.
    let (addr, _) = serve(slow).await;
    let out = run(&scenario(
        addr,
        "requests: 6\nconcurrency: 3\ntimeout: 100ms",
    ))
    .await;
    let r = out.recorder.summary(out.elapsed);
    assert_eq!(
        r.errors_by_kind.get("timeout"),
        Some(&6),
        "{:?}",
        r.errors_by_kind
    );
    assert_eq!(r.latency.count, 0);
    // Connection refused: bind a port, then free it so nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let out = run(&scenario(
        closed,
        "requests: 5\nconcurrency: 1\ntimeout: 2s",
    ))
    .await;
    let r = out.recorder.summary(out.elapsed);
    assert_eq!(
        r.errors_by_kind.get("connect"),
        Some(&5),
        "{:?}",
        r.errors_by_kind
    );
    assert_eq!(r.error_rate, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_json_csv_and_thresholds() {
    let (addr, _) = serve(alternating).await;
    let s = scenario(
        addr,
        "requests: 20\nconcurrency: 4\nthresholds: {max_error_rate: 0.05, max_p99_ms: 5000}",
    );
    let out = run(&s).await;
    let report = RunReport::new(&s, &out);
    // 2 of 20 answered 503: 10 % > 5 % → breached; p99 passes.
    assert!(!report.passed);
    let by_name = |n: &str| {
        report
            .thresholds
            .iter()
            .find(|t| t.name == n)
            .unwrap()
            .passed
    };
    assert!(!by_name("max_error_rate"));
    assert!(by_name("max_p99_ms"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["summary"]["requests"], 20);
    assert_eq!(json["summary"]["cache"]["L1"]["count"], 5);
    assert_eq!(json["passed"], false);
    assert_eq!(json["mode"], "closed");
    assert!(json["summary"]["latency"]["p99_ms"].as_f64().unwrap() >= 19.9);
    let table = report.table();
    assert!(table.contains("FAIL max_error_rate"), "{table}");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("runs.csv");
    report.append_csv(&csv).unwrap();
    report.append_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], RunReport::CSV_HEADER);
    assert_eq!(
        lines[1].split(',').count(),
        RunReport::CSV_HEADER.split(',').count()
    );
    assert!(!lines[2].starts_with("started_at"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_request_ends_a_slow_open_loop_promptly() {
    let (addr, _) = serve(fast).await;
    // 1 req/s with 8 workers: tickets up to 8 s ahead are claimed at once.
    let s = scenario(addr, "duration: 60s\nrate: 1\nconcurrency: 8");
    let control = RunControl::default();
    let stopper = control.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stopper.request_stop();
    });
    let started = std::time::Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(10), runner::run(&s, control))
        .await
        .expect("stop was not honoured")
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.interrupted);
    assert_eq!(out.recorder.requests(), 2, "requests at t=0 s and t=1 s");
}
