//! `wxfarm-loadgen` against a real `wxfarm serve`: exact request counts,
//! status codes, the `X-Cache` tier split and per-tier latencies, and every
//! shipped scenario in all three output formats.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Parser;
use loadgen::cli::{Cli, EXIT_THRESHOLD, execute};
use loadgen::generator::RequestGenerator;
use loadgen::report::RunReport;
use loadgen::runner::{self, RunControl};
use loadgen::scenario::{DurationValue, Overrides, Scenario, ScenarioSpec};
use loadgen::stats::Summary;
use support::{Server, run_time};

/// Sample data covering every value the shipped scenarios ask for (forecast
/// hours 0–24, radar frames), on coarse grids so rendering stays fast in
/// debug builds. Written once per test binary.
fn day_of_data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = demo::DemoOptions {
            run: run_time(),
            seed: 7,
            hours: 24,
            radar_frames: 2,
            radar_step_minutes: 10,
            grid_coarsening: 4,
        };
        demo::write_demo_data(dir.path(), &opts).expect("demo data");
        dir
    })
    .path()
}

fn scenario(yaml: &str, base_url: &str) -> Scenario {
    let mut spec = ScenarioSpec::from_yaml(yaml, "test.yaml").expect("valid YAML");
    spec.apply(&Overrides {
        base_url: Some(base_url.to_owned()),
        ..Overrides::default()
    });
    Scenario::from_spec(spec, "test.yaml").expect("valid scenario")
}

async fn run(s: &Scenario) -> Summary {
    let out = runner::run(s, RunControl::default()).await.expect("run");
    assert!(!out.interrupted);
    RunReport::new(s, &out).summary
}

fn tier(s: &Summary, name: &str) -> u64 {
    s.cache[name].count
}

fn statuses(s: &Summary) -> BTreeMap<String, u64> {
    s.statuses.clone()
}

/// Every tile of zoom 3 (64) once, in row-major order.
const SWEEP_Z3: &str = r#"
name: sweep
url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"
seed: 1
requests: 64
concurrency: 4
dimensions: {forecast: [0]}
layers: [{name: gfs_TMP_2m}]
strategy: {kind: sequential, zoom: 3}
"#;

#[tokio::test]
async fn first_pass_misses_every_tile_and_an_identical_second_pass_hits_l1() {
    let server = Server::start(day_of_data(), &[]);
    let s = scenario(SWEEP_Z3, &server.url);
    let urls: HashSet<String> = RequestGenerator::new(&s).take(64).map(|r| r.url).collect();
    assert_eq!(urls.len(), 64, "the sweep names 64 distinct tiles");

    let cold = run(&s).await;
    assert_eq!(cold.requests, 64);
    assert_eq!((cold.ok, cold.errors), (64, 0));
    assert_eq!(statuses(&cold), BTreeMap::from([("200".into(), 64)]));
    assert_eq!(tier(&cold, "MISS"), 64, "{:?}", cold.cache);
    assert_eq!(
        tier(&cold, "L1") + tier(&cold, "L2") + tier(&cold, "unknown"),
        0
    );
    assert!(
        cold.bytes > 64 * 100,
        "PNG bodies were drained: {}",
        cold.bytes
    );

    let warm = run(&s).await;
    assert_eq!(warm.requests, 64);
    assert_eq!(statuses(&warm), BTreeMap::from([("200".into(), 64)]));
    assert_eq!(tier(&warm, "L1"), 64, "{:?}", warm.cache);
    assert_eq!(tier(&warm, "MISS"), 0);
    assert_eq!(warm.bytes, cold.bytes, "the same tiles, byte for byte");

    let miss = &cold.cache["MISS"].latency;
    let l1 = &warm.cache["L1"].latency;
    assert_eq!((miss.count, l1.count), (64, 64));
    assert!(
        l1.p50_ms < miss.p50_ms,
        "L1 p50 {} ms, MISS p50 {} ms",
        l1.p50_ms,
        miss.p50_ms
    );
}

#[tokio::test]
async fn one_run_over_two_laps_splits_tiers_and_latencies() {
    let server = Server::start(day_of_data(), &[]);
    // The sequential sweep wraps: 128 requests are the 64 tiles twice.
    let s = scenario(
        &SWEEP_Z3.replace("requests: 64", "requests: 128"),
        &server.url,
    );
    let sum = run(&s).await;
    assert_eq!(sum.requests, 128);
    assert_eq!(statuses(&sum), BTreeMap::from([("200".into(), 128)]));
    assert_eq!((tier(&sum, "MISS"), tier(&sum, "L1")), (64, 64));
    let (miss, l1) = (&sum.cache["MISS"], &sum.cache["L1"]);
    assert_eq!((miss.share, l1.share), (0.5, 0.5));
    assert!(miss.latency.count == 64 && l1.latency.count == 64);
    assert!(l1.latency.p50_ms > 0.0 && miss.latency.p50_ms > 0.0);
    assert!(
        l1.latency.p50_ms < miss.latency.p50_ms,
        "L1 p50 {} ms, MISS p50 {} ms",
        l1.latency.p50_ms,
        miss.latency.p50_ms
    );
    assert_eq!(sum.latency.count, 128);
}

#[tokio::test]
async fn an_unknown_layer_is_counted_as_404_errors() {
    let server = Server::start(day_of_data(), &[]);
    let s = scenario(
        r#"
name: mixed
url: xyz
seed: 3
requests: 200
concurrency: 4
layers:
  - name: gfs_TMP_2m
  - name: no_such_layer
strategy: {kind: random, zoom: [0, 3]}
thresholds: {max_error_rate: 0.01}
"#,
        &server.url,
    );
    // The expected split, from the same seeded sequence the runner sends.
    let bad = RequestGenerator::new(&s)
        .take(200)
        .filter(|r| r.url.contains("/no_such_layer/"))
        .count() as u64;
    assert!(
        bad > 50 && bad < 150,
        "{bad} of 200 ask for the unknown layer"
    );

    let out = runner::run(&s, RunControl::default()).await.expect("run");
    let report = RunReport::new(&s, &out);
    let sum = &report.summary;
    assert_eq!(sum.requests, 200);
    assert_eq!(
        statuses(sum),
        BTreeMap::from([("200".into(), 200 - bad), ("404".into(), bad)])
    );
    assert_eq!((sum.ok, sum.errors), (200 - bad, bad));
    assert_eq!(
        sum.errors_by_kind,
        BTreeMap::from([("http_status".into(), bad)])
    );
    assert_eq!(sum.error_rate, bad as f64 / 200.0);
    // 404s carry no X-Cache header; tiles do.
    assert_eq!(tier(sum, "unknown"), bad);
    assert_eq!(tier(sum, "MISS") + tier(sum, "L1"), 200 - bad);
    assert!(!report.passed, "the error-rate threshold is breached");
    assert_eq!(report.thresholds.len(), 1);
    assert!(!report.thresholds[0].passed);
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("loadgen/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

async fn cli(args: &[&str]) -> i32 {
    let cli = Cli::try_parse_from(std::iter::once("wxfarm-loadgen").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    execute(cli)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e:#}"))
}

/// Short, bounded runs of each shipped scenario: the layer names and
/// dimension values it asks for exist in the sample data (every response is
/// a 200 tile), and its JSON, CSV and table reports agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_scenario_runs_cleanly_in_all_output_formats() {
    let server = Server::start(day_of_data(), &[]);
    let out = tempfile::tempdir().expect("tempdir");
    let csv = out.path().join("results.csv");
    let scenarios = shipped_scenarios();
    assert!(scenarios.len() >= 8, "{scenarios:?}");
    let requests = 40u64;
    for (i, path) in scenarios.iter().enumerate() {
        let file = path.to_string_lossy().into_owned();
        let json_path = out.path().join(format!("{i}.json"));
        let n = requests.to_string();
        // Open-loop scenarios keep their load model, at a rate debug builds sustain.
        let common = [
            "run",
            "-s",
            &file,
            "-q",
            "--base-url",
            &server.url,
            "--requests",
            &n,
            "--warmup",
            "0s",
        ];
        let open_loop = std::fs::read_to_string(path)
            .expect("read")
            .lines()
            .any(|l| l.starts_with("rate:"));
        let rate: &[&str] = if open_loop { &["--rate", "100"] } else { &[] };

        let json_args: Vec<&str> = common
            .iter()
            .chain(rate)
            .chain(&["--output", "json", "--out", json_path.to_str().unwrap()])
            .copied()
            .collect();
        let code = cli(&json_args).await;
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json written"))
                .expect("valid JSON");
        let s = &doc["summary"];
        assert_eq!(s["requests"], requests, "{file}: {doc:#}");
        assert_eq!(s["errors"], 0, "{file}: {doc:#}");
        assert_eq!(s["statuses"]["200"], requests, "{file}: {doc:#}");
        let tiers: u64 = ["L1", "L2", "MISS"]
            .iter()
            .map(|t| s["cache"][t]["count"].as_u64().expect("tier count"))
            .sum();
        assert_eq!(tiers, requests, "{file}: every tile has an X-Cache tier");
        assert!(s["latency"]["p50_ms"].as_f64().expect("p50") > 0.0);
        assert!(s["rps"].as_f64().expect("rps") > 0.0);
        assert_eq!(doc["mode"], if open_loop { "open" } else { "closed" });
        assert_eq!(doc["interrupted"], false);
        // Exit code and verdict agree (latency limits may fail on debug builds).
        let passed = doc["passed"].as_bool().expect("passed");
        assert_eq!(code, if passed { 0 } else { EXIT_THRESHOLD }, "{file}");
        assert!(
            doc["thresholds"]
                .as_array()
                .expect("thresholds")
                .iter()
                .any(|t| t["name"] == "max_error_rate" && t["passed"] == true),
            "{file}: {doc:#}"
        );

        let csv_args: Vec<&str> = common
            .iter()
            .chain(rate)
            .chain(&["--output", "csv", "--out", csv.to_str().unwrap()])
            .copied()
            .collect();
        let code = cli(&csv_args).await;
        assert!(code == 0 || code == EXIT_THRESHOLD, "{file}: exit {code}");

        // The table, from the same library path the CLI prints it with.
        let scenario = Scenario::load(
            path,
            &Overrides {
                base_url: Some(server.url.clone()),
                requests: Some(requests as i64),
                rate: open_loop.then_some(100.0),
                warmup: Some(DurationValue::Secs(0.0)),
                ..Overrides::default()
            },
        )
        .expect("scenario");
        let run_out = runner::run(&scenario, RunControl::default())
            .await
            .expect("run");
        let table = RunReport::new(&scenario, &run_out).table();
        let name = doc["scenario"].as_str().expect("name");
        assert!(table.starts_with(&format!("scenario   {name} → {}", server.url)));
        assert!(
            table.contains(&format!("requests   {requests} measured")),
            "{table}"
        );
        assert!(
            table.contains(&format!("statuses   200: {requests}")),
            "{table}"
        );
        assert!(table.contains("\nall "), "{table}");
        assert!(table.contains("max_error_rate"), "{table}");
    }

    // One header, then one row per scenario, each with `requests` 200s.
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header.join(","), RunReport::CSV_HEADER);
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), scenarios.len());
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert_eq!(row[col("requests")], requests.to_string(), "{row:?}");
        assert_eq!(row[col("errors")], "0", "{row:?}");
        let tiers: u64 = ["l1", "l2", "miss"]
            .iter()
            .map(|c| row[col(c)].parse::<u64>().expect("count"))
            .sum();
        assert_eq!(tiers, requests, "{row:?}");
    }
}
