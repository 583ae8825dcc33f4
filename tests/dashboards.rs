//! The Grafana dashboard against a real Prometheus (Debian's 2.42, installed
//! by `scripts/setup.sh`): a local farm is scraped every second while a
//! scripted load runs (hits, misses, bad requests, a new file ingested, a
//! worker paused), then every expression of `dashboards/wxfarm.json` is
//! evaluated through Prometheus' HTTP API and must parse and return data.
//! Every role's `/metrics` must also pass `promtool check metrics`.

mod farm_support;
mod support;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use farm_support::Farm;
use support::get;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Prometheus scraping `targets` (host:port) every second; killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(targets: &[String]) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                 scrape_configs:\n  - job_name: wxfarm\n    static_configs:\n      - targets: [{}]\n",
                list.join(", ")
            ),
        )
        .expect("config");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Evaluates `expr` now: the number of series, or the error.
    async fn query(&self, expr: &str) -> Result<usize, String> {
        let res = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let bytes = res.bytes().await.map_err(|e| e.to_string())?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body["error"].as_str().unwrap_or("failed").to_owned());
        }
        Ok(body["data"]["result"].as_array().map_or(0, Vec::len))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `expr` of the dashboard, with its panel's title.
fn dashboard_exprs() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/wxfarm.json");
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard")).expect("json");
    let mut out = Vec::new();
    for panel in d["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let title = panel["title"].as_str().unwrap_or("?").to_owned();
                out.push((title, expr.to_owned()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_panel_has_data_from_a_real_prometheus_and_promtool_is_clean() {
    if !have("prometheus") || !have("promtool") {
        support::require::missing("prometheus/promtool (Debian package prometheus)");
        return;
    }
    let Some(farm) = Farm::up_with_env(
        &["--warm-max-zoom", "1"],
        &[("WXFARM_PREFETCH_RINGS", "1"), ("WXFARM_HOT_SET", "16")],
    ) else {
        return;
    };
    assert_eq!(farm.serving(0).await, 200);
    let metrics: Vec<(String, String)> = farm.info["metrics"]
        .as_object()
        .expect("metrics")
        .iter()
        .map(|(role, url)| (role.clone(), url.as_str().expect("url").to_owned()))
        .collect();
    let targets: Vec<String> = metrics
        .iter()
        .map(|(_, url)| {
            url.trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_owned()
        })
        .collect();
    let prometheus = Prometheus::start(&targets);

    // The scripted load.
    let gateway = farm.gateway(0);
    let tile = |layer: &str, z: u8, x: u32, y: u32| {
        format!("{gateway}/tiles/{layer}/gradient/{z}/{x}/{y}.png")
    };
    for round in 0..3 {
        for x in 0..8 {
            for layer in ["cmc_TMP_isbl", "gfs_VRATE_pbl"] {
                let (status, _, _) = get(&tile(layer, 4, x, 5 + round)).await;
                assert_eq!(status, 200);
                // And again: an L1 hit.
                assert_eq!(get(&tile(layer, 4, x, 5 + round)).await.0, 200);
            }
        }
        // Bad requests: an unknown layer, a tile outside its matrix.
        assert_eq!(get(&tile("no_such_layer", 1, 0, 0)).await.0, 404);
        assert_eq!(get(&tile("gfs_VRATE_pbl", 1, 9, 9)).await.0, 400);
        if round == 0 {
            // A new file arrives.
            let dir = tempfile::tempdir().expect("tempdir");
            farm.ingest_demo_file(dir.path(), &[]);
        }
        if round == 1 {
            // A worker stops answering for a while; the other carries on.
            let pid = farm.pid("worker-1");
            Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .expect("stop");
            for x in 8..12 {
                assert_eq!(get(&tile("cmc_TMP_isbl", 4, x, 6)).await.0, 200);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            Command::new("kill")
                .args(["-CONT", &pid])
                .status()
                .expect("continue");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // promtool on every role's exposition.
    for (role, url) in &metrics {
        let (status, _, body) = get(url).await;
        assert_eq!(status, 200, "{role}");
        assert!(body.len() > 1000, "{role}: {} bytes", body.len());
        let mut check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool");
        check
            .stdin
            .take()
            .expect("stdin")
            .write_all(&body)
            .expect("write");
        let out = check.wait_with_output().expect("promtool");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{role}: {said}"
        );
    }

    // Every panel's expressions, once Prometheus has a few scrapes of the
    // load: a 30 s window stands in for Grafana's rate interval.
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 30, "{} expressions", exprs.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut empty = Vec::new();
        for (title, expr) in exprs.clone() {
            let expr = expr
                .replace("$__rate_interval", "30s")
                .replace("${datasource}", "");
            match prometheus.query(&expr).await {
                Ok(0) => empty.push(format!("{title}: {expr}")),
                Ok(_) => {}
                Err(e) => panic!("{title}: {expr} does not evaluate: {e}"),
            }
        }
        if empty.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "panels without data:\n{}",
            empty.join("\n")
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
