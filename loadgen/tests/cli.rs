//! The binary as a script sees it: JSON on stdout, exit codes.

use axum::Router;
use axum::http::StatusCode;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_wxfarm-loadgen");

async fn serve() -> std::net::SocketAddr {
    // Every 5th request fails so thresholds can be made to pass or fail.
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = Router::new().fallback(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            let status = if n % 5 == 4 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            (status, [("x-cache", "L1")], "tile")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap())
        .await
        .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_json_and_exits_by_threshold() {
    let addr = serve().await;
    let base = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "name: s\ndescription: cli test\nurl: wmts_kvp\nrequests: 1000\nconcurrency: 2\n\
         layers: [{name: gfs_TMP_2m}]\nstrategy: {kind: random, zoom: [0, 3]}\n\
         thresholds: {max_error_rate: 0.5}\n",
    )
    .unwrap();
    let path = file.to_string_lossy().to_string();

    // 20 % errors < 50 %: passes, exit 0, stdout is exactly one JSON document.
    let out = run(args(&[
        "run",
        "-s",
        &path,
        "--base-url",
        &base,
        "--requests",
        "50",
        "--output",
        "json",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["summary"]["requests"], 50);
    assert_eq!(json["summary"]["statuses"]["404"], 10);
    assert_eq!(json["summary"]["cache"]["L1"]["count"], 50);
    assert_eq!(json["passed"], true);

    // quick with the default 1 % error limit: breached → exit 3.
    let out = run(args(&[
        "quick",
        "--base-url",
        &base,
        "--layer",
        "a",
        "--requests",
        "20",
        "-q",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL max_error_rate"));

    // Invalid override: exit 2 and the field named on stderr.
    let out = run(args(&["run", "-s", &path, "--concurrency", "0"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s.yaml: `concurrency` must be ≥ 1"));

    // CSV: two runs, one header.
    let csv = dir.path().join("r.csv");
    for _ in 0..2 {
        let out = run(args(&[
            "run",
            "-s",
            &path,
            "--base-url",
            &base,
            "--requests",
            "10",
            "--output",
            "csv",
            "--out",
            &csv.to_string_lossy(),
        ]))
        .await;
        assert_eq!(out.status.code(), Some(0));
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3);
}

#[tokio::test]
async fn list_and_print_urls() {
    let out = run(args(&["list"])).await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "quick",
        "cold_cache",
        "warm_cache",
        "zoom_sweep",
        "pan",
        "animation",
        "stress",
        "layer_comparison",
    ] {
        assert!(text.contains(name), "{name} missing from list:\n{text}");
    }
    let out = run(args(&["run", "-s", "zoom_sweep", "--print-urls", "5"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let urls = String::from_utf8_lossy(&out.stdout);
    assert_eq!(urls.lines().count(), 5);
    assert!(
        urls.lines()
            .all(|u| u.starts_with("http://127.0.0.1:8080/wmts/1.0.0/"))
    );
}
