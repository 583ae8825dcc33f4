//! Starting a real `wxfarm serve` process for end-to-end tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};

/// A `wxfarm serve` child process, killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `wxfarm serve` on a free loopback port over `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let log = data.with_extension(format!("{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--poll-secs",
                "0",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("spawn wxfarm serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", log.display()))
            .to_owned();
        Server { child, url, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fixed run of the test data.
pub fn run_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

/// Small sample data (1° GFS-like f000–f003, 0.04° radar ×2), written once
/// per test binary; tests must not modify it.
pub fn demo_data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = scheduler::demo::DemoOptions {
            run: run_time(),
            seed: 7,
            hours: 3,
            radar_frames: 2,
            radar_step_minutes: 10,
            grid_coarsening: 4,
        };
        scheduler::demo::write_demo_data(dir.path(), &opts).expect("demo data");
        dir
    })
    .path()
}

/// The shared real GRIB2 samples, when present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/grib");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// GET returning status, headers and body.
pub async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

/// Decodes a PNG into RGBA8 (palette expanded).
pub fn rgba(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    (info.width, info.height, buf)
}

/// The first file under `dir` (recursively) whose path contains `needle`.
pub fn find_file(dir: &Path, needle: &str) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.into_iter().find_map(|p| {
        if p.is_dir() {
            find_file(&p, needle)
        } else {
            p.to_string_lossy().contains(needle).then_some(p)
        }
    })
}
