//! The farm harness shared by the whole-farm tests: `wxfarm farm up` over
//! the shared GRIB2 samples, helpers to kill and restart services, and
//! render counts from the workers' metrics.
#![allow(dead_code)] // each test binary uses a subset

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{get, shared_data};

pub const GDAS: &str = "gdas.t12z.pgrb2.0p25.f000.12.xz";
pub const CMC: &str = "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2";

pub struct Farm {
    pub dir: tempfile::TempDir,
    pub info: serde_json::Value,
    /// Released after `farm down` (fields drop after [`Drop::drop`]).
    _slot: FarmSlot,
}

/// Farms one test binary runs at once: each is about ten processes, and
/// eight at once on two cores make start-up and first renders crawl past
/// the tests' deadlines. With three, one farm in about three runs answered
/// 503 to its first tiles for a whole 20–30 s wait (2026-11-29; the cause
/// is not found yet, see the notes); two at once have not.
const MAX_FARMS: usize = 2;

static RUNNING: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// One of [`MAX_FARMS`] places, held while a farm runs.
struct FarmSlot;

impl FarmSlot {
    fn take() -> Self {
        let (count, freed) = &RUNNING;
        let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= MAX_FARMS {
            n = freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
        FarmSlot
    }
}

impl Drop for FarmSlot {
    fn drop(&mut self) {
        let (count, freed) = &RUNNING;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}

impl Farm {
    /// A farm over the shared samples; `None` (test skipped) when the
    /// services or the samples are missing.
    pub fn up(extra: &[&str]) -> Option<Farm> {
        Self::up_with_env(extra, &[])
    }

    /// [`Farm::up`] with extra environment for every process it starts.
    pub fn up_with_env(extra: &[&str], env: &[(&str, &str)]) -> Option<Farm> {
        let data = shared_data()?;
        Self::up_with_samples(&[data.join(GDAS), data.join(CMC)], extra, env)
    }

    /// [`Farm::up_with_env`] over other sample files or folders.
    pub fn up_with_samples(
        samples: &[std::path::PathBuf],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Option<Farm> {
        for bin in ["nats-server", "redis-server", "moto_server"] {
            let found = Command::new("sh")
                .args([
                    "-c",
                    &format!("command -v {bin} >/dev/null || test -x /usr/sbin/{bin}"),
                ])
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                crate::support::require::missing(bin);
                return None;
            }
        }
        let slot = FarmSlot::take();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args(["farm", "up", "--ack-wait-secs", "2", "--dir"])
            .arg(dir.path().join("farm"))
            .args(
                samples
                    .iter()
                    .flat_map(|s| [std::ffi::OsStr::new("--sample"), s.as_os_str()]),
            )
            .args(extra)
            // Prefetch and warming off unless a test turns them on (flags
            // win over these): tests count renders.
            .envs([
                ("WXFARM_PREFETCH_RINGS", "0"),
                ("WXFARM_LOOKAHEAD", "0"),
                ("WXFARM_HOT_SET", "0"),
                ("WXFARM_WARM_PAUSE_MS", "0"),
                ("WXFARM_WARM_MAX_ZOOM", "-1"),
                // A stalled read of moto is retried well inside the tests'
                // waits (object_store's default is 30 s).
                ("WXFARM_S3_TIMEOUT_SECS", "5"),
            ])
            .envs(env.iter().copied())
            .output()
            .expect("wxfarm farm up");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "farm up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info: serde_json::Value =
            serde_json::from_str(stdout.lines().last().expect("JSON line")).expect("farm JSON");
        for key in ["gateway_url", "s3_endpoint", "bucket", "pids"] {
            assert!(!info[key].is_null(), "farm JSON lacks {key}");
        }
        Some(Farm {
            dir,
            info,
            _slot: slot,
        })
    }

    pub fn gateway(&self, k: usize) -> String {
        self.info["gateway_urls"][k]
            .as_str()
            .expect("gateway url")
            .to_owned()
    }

    pub fn pid(&self, role: &str) -> String {
        self.info["pids"][role].as_u64().expect("pid").to_string()
    }

    pub fn port(&self, url_key: &str) -> String {
        self.info[url_key]
            .as_str()
            .and_then(|u| u.rsplit(':').next())
            .expect("port")
            .to_owned()
    }

    pub fn kill(&self, role: &str) {
        Command::new("kill")
            .args(["-KILL", &self.pid(role)])
            .status()
            .expect("kill");
    }

    /// Restarts a service on its old port (and data folder).
    pub fn restart(&self, role: &str) {
        let dir = self.dir.path().join("farm");
        let (bin, args): (&str, Vec<String>) = match role {
            "nats" => (
                "nats-server",
                vec![
                    "-c".into(),
                    dir.join("nats.conf").display().to_string(),
                    "-js".into(),
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    self.port("nats_url"),
                    "-sd".into(),
                    dir.join("nats").display().to_string(),
                ],
            ),
            _ => (
                "redis-server",
                vec![
                    "--port".into(),
                    self.port("redis_url"),
                    "--bind".into(),
                    "127.0.0.1".into(),
                    "--save".into(),
                    "".into(),
                    "--appendonly".into(),
                    "no".into(),
                    "--dir".into(),
                    dir.join("redis").display().to_string(),
                ],
            ),
        };
        let path = ["/usr/sbin", "/usr/bin", "/usr/local/bin"]
            .iter()
            .map(|d| format!("{d}/{bin}"))
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or(bin.into());
        // `farm down` (in Drop) stops and reaps it via the recorded PID.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(path)
            .args(args)
            // As the launcher marks its processes, so `farm down` stops it.
            .env(
                "WXFARM_FARM_ID",
                self.info["farm_id"].as_str().expect("farm_id"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("restart");
        self.record_pid(role, child.id());
    }

    /// Records `pid` as `role` in the farm's state, so `farm down` stops it.
    fn record_pid(&self, role: &str, pid: u32) {
        let state = self.dir.path().join("farm").join("farm.json");
        let mut info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
        info["pids"][role] = pid.into();
        std::fs::write(&state, info.to_string()).expect("state");
    }

    /// Writes one small demo GRIB2 file (a GFS f000, coarse grid) under
    /// `dir` and ingests it: a new file arriving. Returns its path.
    pub fn ingest_demo_file(
        &self,
        dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> std::path::PathBuf {
        let opts = demo::DemoOptions {
            run: crate::support::run_time(),
            hours: 0,
            radar_frames: 0,
            grid_coarsening: 10,
            ..Default::default()
        };
        let report = demo::write_demo_data(dir, &opts).expect("demo data");
        let file = report.files.first().expect("a demo file").path.clone();
        self.ingest_with_env(&file, env);
        file
    }

    /// Uploads `file` to the farm's bucket and announces it, as
    /// `wxfarm ingest --s3-bucket … --nats …` does; asserts it succeeded.
    pub fn ingest(&self, file: &std::path::Path) {
        self.ingest_with_env(file, &[]);
    }

    /// [`Farm::ingest`] with `env` set for the `wxfarm ingest` process.
    pub fn ingest_with_env(&self, file: &std::path::Path, env: &[(&str, &str)]) {
        let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .arg("ingest")
            .arg(file)
            .args(["--s3-bucket", "wxfarm", "--s3-endpoint"])
            .arg(self.info["s3_endpoint"].as_str().expect("s3"))
            .args(["--nats", self.info["nats_url"].as_str().expect("nats")])
            .env("AWS_ACCESS_KEY_ID", "farm")
            .env("AWS_SECRET_ACCESS_KEY", "farm")
            .envs(env.iter().copied())
            .output()
            .expect("wxfarm ingest");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts one more worker, named `name`, as `farm up` starts them
    /// (same services and secret); returns its metrics URL. `farm down`
    /// stops it with the rest.
    pub fn start_worker(&self, name: &str) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let text = |key: &str| self.info[key].as_str().expect(key).to_owned();
        let dir = self.dir.path().join("farm");
        let log = std::fs::File::create(dir.join("logs").join(format!("{name}.log"))).expect("log");
        #[allow(clippy::zombie_processes)]
        let child = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args(["worker", "--ack-wait-secs=2"])
            .arg(format!("--metrics-listen=127.0.0.1:{port}"))
            .env("WXFARM_NATS", text("nats_url"))
            .env("WXFARM_FARM_SECRET", text("farm_secret"))
            .env("WXFARM_REDIS", text("redis_url"))
            .env("WXFARM_S3_BUCKET", text("bucket"))
            .env("WXFARM_S3_ENDPOINT", text("s3_endpoint"))
            .env("WXFARM_FARM_ID", text("farm_id"))
            .envs([
                ("AWS_ACCESS_KEY_ID", "farm"),
                ("AWS_SECRET_ACCESS_KEY", "farm"),
                ("AWS_REGION", "us-east-1"),
            ])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start worker");
        self.record_pid(name, child.id());
        format!("http://127.0.0.1:{port}/metrics")
    }

    /// Waits (up to 30 s) until gateway `k` serves a tile, i.e. the
    /// catalog reached it; the last status.
    pub async fn serving(&self, k: usize) -> u16 {
        let url = format!("{}/tiles/cmc_TMP_isbl/gradient/0/0/0.png", self.gateway(k));
        get_until(&url, Duration::from_secs(30), |s, _| s == 200)
            .await
            .0
    }

    /// Successful interactive renders over all workers.
    pub async fn renders(&self) -> u64 {
        self.renders_at("interactive").await
    }

    /// Successful renders at `priority` over all workers.
    pub async fn renders_at(&self, priority: &str) -> u64 {
        let label = format!("priority=\"{priority}\"");
        let mut total = 0;
        for (role, url) in self.info["metrics"].as_object().expect("metrics") {
            if role.starts_with("worker") {
                let (_, _, body) = get(url.as_str().expect("url")).await;
                total += String::from_utf8_lossy(&body)
                    .lines()
                    .filter(|l| {
                        l.starts_with("wxfarm_renders_total{")
                            && l.contains("result=\"ok\"")
                            && l.contains(&label)
                    })
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                    .sum::<u64>();
            }
        }
        total
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args(["farm", "down", "--dir"])
            .arg(self.dir.path().join("farm"))
            .output();
        if std::thread::panicking() {
            self.report_logs();
        }
    }
}

impl Farm {
    /// After a failed test: the tail of every service's log on stderr (the
    /// test's output), and the whole folder kept for reading.
    fn report_logs(&self) {
        let farm = self.dir.path().join("farm");
        let mut logs: Vec<_> = walk_logs(&farm);
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!("--- {} (last {} lines)", log.display(), tail.len());
            for line in tail {
                eprintln!("{line}");
            }
        }
        let kept = std::env::temp_dir()
            .join("wxfarm-failed-farms")
            .join(format!("{}", std::process::id()));
        let _ = std::fs::create_dir_all(&kept);
        let name = self.dir.path().file_name().unwrap_or_default();
        if std::fs::rename(self.dir.path(), kept.join(name)).is_ok() {
            eprintln!("--- farm folder kept at {}", kept.join(name).display());
        }
    }
}

/// Every `*.log` file under `dir`.
fn walk_logs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            out.extend(walk_logs(&path));
        } else if path.extension().is_some_and(|e| e == "log") {
            out.push(path);
        }
    }
    out
}

/// GETs until `ok` accepts the answer or `timeout` passes.
pub async fn get_until(
    url: &str,
    timeout: Duration,
    ok: impl Fn(u16, &reqwest::header::HeaderMap) -> bool,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let started = Instant::now();
    loop {
        let r = get(url).await;
        if ok(r.0, &r.1) || started.elapsed() > timeout {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn gdas_grid() -> decode::Grid {
    let mut bytes = Vec::new();
    let path = shared_data().expect("samples").join(GDAS);
    xz2::read::XzDecoder::new(std::fs::File::open(path).expect("open"))
        .read_to_end(&mut bytes)
        .expect("unxz");
    decode::decode_message(&bytes, 0).expect("decode")
}
