//! Starting a real `wxfarm serve` process for end-to-end tests.

#![allow(dead_code)] // each test binary uses a different subset

pub mod require;

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
        Self::start_with(data, extra, &[])
    }

    /// [`Server::start`] without the test defaults named in `unset`
    /// (environment variables such as `WXFARM_WARM_MAX_ZOOM`).
    pub fn start_with(data: &Path, extra: &[&str], unset: &[&str]) -> Server {
        Self::start_env(data, extra, unset, &[])
    }

    /// [`Server::start_with`] with `env` set for the server.
    pub fn start_env(data: &Path, extra: &[&str], unset: &[&str], env: &[(&str, &str)]) -> Server {
        // One log per server: tests of one binary run in parallel over the
        // same data folder.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data.with_extension(format!("{}.{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_wxfarm"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            // No polling and no warming unless a test asks: warming renders
            // in the background, and tests look at their own requests'
            // cache tiers.
            .args(
                [("--poll-secs", "0")]
                    .into_iter()
                    .filter(|(flag, _)| !extra.contains(flag))
                    .flat_map(|(flag, value)| [flag, value]),
            )
            .args(extra)
            .env("WXFARM_WARM_MAX_ZOOM", "-1")
            .env("RUST_LOG", "info")
            // Prefetch off unless a test asks (flags win over these): tests
            // count renders and read their own requests' cache tiers.
            .env("WXFARM_PREFETCH_RINGS", "0")
            .env("WXFARM_LOOKAHEAD", "0")
            .env("WXFARM_HOT_SET", "0")
            // No pausing on slow renders unless a test asks: a loaded CI
            // machine's first decode may take longer than the threshold.
            .env("WXFARM_WARM_PAUSE_MS", "0")
            .stdout(Stdio::piped())
            .stderr(log_file);
        for name in unset {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("spawn wxfarm serve");
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

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Server {
    /// Sends SIGTERM (as Kubernetes does) and waits up to `within` for the
    /// process to exit; its exit status, or `None` if it is still running.
    pub fn terminate(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
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

/// The last forecast hour of [`demo_data`].
pub const DEMO_HOURS: u32 = 3;

/// Small sample data (1° GFS-like f000–f003, 0.04° radar ×2), written once
/// per test binary; tests must not modify it.
pub fn demo_data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = demo::DemoOptions {
            run: run_time(),
            seed: 7,
            hours: DEMO_HOURS,
            radar_frames: 2,
            radar_step_minutes: 10,
            grid_coarsening: 4,
        };
        demo::write_demo_data(dir.path(), &opts).expect("demo data");
        dir
    })
    .path()
}

/// A wgrib2 dump under the shared samples' `reference/` (xz-compressed
/// little-endian f32, the file's raw scan order): an oracle independent of
/// our decoder.
pub fn wgrib2_reference(shared: &Path, name: &str) -> Vec<f32> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    xz2::read::XzDecoder::new(
        std::fs::File::open(shared.join("reference").join(name)).expect("reference"),
    )
    .read_to_end(&mut bytes)
    .expect("unxz");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The shared real GRIB2 samples, when present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/grib");
    if dir.is_dir() {
        Some(dir)
    } else {
        require::missing(&format!("the shared GRIB samples ({})", dir.display()));
        None
    }
}

/// The sum of the samples of `metric` in a Prometheus exposition `text`
/// whose labels contain every one of `labels`.
pub fn metric_sum(text: &str, metric: &str, labels: &[&str]) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
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

/// RGBA pixels where some channel differs by more than `tolerance`.
pub fn differing_pixels(a: &[u8], b: &[u8], tolerance: u8) -> usize {
    a.chunks(4)
        .zip(b.chunks(4))
        .filter(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .any(|(x, y)| x.abs_diff(*y) > tolerance)
        })
        .count()
}

/// Adds `file` to the data folder `data` with `wxfarm ingest` (the
/// documented path) and asserts it succeeded.
pub fn ingest_into(data: &Path, file: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .arg("ingest")
        .arg(file)
        .arg("--data")
        .arg(data)
        .status()
        .expect("run wxfarm ingest");
    assert!(status.success(), "wxfarm ingest {}", file.display());
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

/// The gradient the layer catalogue prescribes for a parameter.
pub fn default_gradient(d: u8, c: u8, n: u8) -> render::Gradient {
    use protocol::style::{StyleKind, StyleSpec, Units};
    let catalogue = protocol::layers::LayerCatalogue::builtin();
    let rule = catalogue.parameter(d, c, n).expect("parameter rule");
    let mut spec = StyleSpec::new(
        StyleKind::Gradient,
        rule.colormap,
        rule.range,
        Units::parse(&rule.units).unwrap_or(Units::Other),
        rule.display_units(),
    );
    spec.transparent_below = rule.transparent_below;
    render::Gradient::new(&spec)
}

/// Checks that each listed pixel of a `z/x/y` WebMercatorQuad tile has the
/// ramp colour of a value between the four grid values around it.
pub fn assert_pixels_match_grid(
    pixels: &[u8],
    grid: &decode::Grid,
    gradient: &render::Gradient,
    (z, x, y): (u8, u32, u32),
) {
    let tms = protocol::TileMatrixSetId::WebMercatorQuad;
    let axes = (tms.pixel_lons(z, x, 256), tms.pixel_lats(z, y, 256));
    let points = [(3, 5), (64, 200), (128, 128), (200, 40), (250, 250)];
    assert_image_pixels_match_grid(pixels, &axes, &points, grid, gradient);
}

/// The same for any image whose pixel columns and rows lie at `axes`
/// (longitudes, latitudes), at the listed (column, row) pixels.
pub fn assert_image_pixels_match_grid(
    pixels: &[u8],
    (lons, lats): &(Vec<f64>, Vec<f64>),
    points: &[(usize, usize)],
    grid: &decode::Grid,
    gradient: &render::Gradient,
) {
    let width = lons.len();
    for &(px, py) in points {
        let (i, j) = grid.locate(lons[px], lats[py]).expect("inside the grid");
        let (i0, j0) = (i.floor() as usize, j.floor() as usize);
        let around = [
            grid.value(i0, j0),
            grid.value((i0 + 1) % grid.ni, j0),
            grid.value(i0, j0 + 1),
            grid.value((i0 + 1) % grid.ni, j0 + 1),
        ];
        let (lo, hi) = around
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let allowed: Vec<_> = (0..=400)
            .map(|k| gradient.color(lo + (hi - lo) * k as f32 / 400.0))
            .collect();
        let k = (py * width + px) * 4;
        let got: [u8; 4] = pixels[k..k + 4].try_into().expect("4 bytes");
        assert!(
            allowed.contains(&got),
            "pixel ({px},{py}) {got:?} not a colour of {lo}..{hi}"
        );
    }
}
