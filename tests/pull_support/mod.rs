//! A fixture of NOAA's buckets for `wxfarm pull`: moto_server (S3) on a
//! free loopback port, a recording and fault-injecting HTTP proxy in front
//! of it, and GFS-layout files made of real GRIB2 messages with wgrib2
//! `.idx` inventories.

#![allow(dead_code)] // each test binary uses a different subset

pub mod fixture;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// moto_server on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    /// Starts moto, or `None` (after [`crate::support::require::missing`])
    /// when it is not installed.
    pub fn start() -> Option<Moto> {
        let bin = ["/usr/local/bin", "/usr/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join("moto_server"))
            .chain(std::env::var_os("PATH").into_iter().flat_map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("moto_server"))
                    .collect::<Vec<_>>()
            }))
            .find(|p| p.is_file());
        let Some(bin) = bin else {
            crate::support::require::missing("moto_server");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        Some(moto)
    }

    /// Waits until moto answers (it accepts connections a moment before).
    pub async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(&self.url).await.is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .expect("create bucket");
        assert!(
            r.status().is_success(),
            "create bucket {bucket}: {}",
            r.status()
        );
    }

    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}/{key}", self.url))
            // Readable anonymously, like NOAA's open data; a typed body
            // (moto reads an untyped one as a form).
            .header("x-amz-acl", "public-read")
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .expect("put");
        assert!(r.status().is_success(), "put {key}: {}", r.status());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

/// A fault the proxy injects into matching GETs with a Range header.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer 500 to the next request whose path ends with this.
    Status500Once(String),
    /// Cut the body of the next such request in half.
    TruncateOnce(String),
    /// Cut the body of every such request in half.
    TruncateAlways(String),
    /// Answer 403 to every ranged data request (not `.idx`) after the
    /// first N let through.
    DenyDataAfter(usize),
    /// Never answer a ranged data request after the first N let through
    /// (the client hangs there until it is killed).
    HangDataAfter(usize),
}

#[derive(Default)]
struct ProxyState {
    upstream: String,
    log: Mutex<Vec<Seen>>,
    faults: Mutex<Vec<Fault>>,
    data_passed: Mutex<usize>,
}

/// A recording, fault-injecting HTTP proxy in front of moto.
#[derive(Clone)]
pub struct Proxy {
    state: Arc<ProxyState>,
    pub url: String,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_owned(),
            ..Default::default()
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            state,
            url: format!("http://{addr}"),
        }
    }

    /// Every request so far, and forget them.
    pub fn take_log(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }

    pub fn set_faults(&self, faults: Vec<Fault>) {
        *self.state.faults.lock().unwrap() = faults;
        *self.state.data_passed.lock().unwrap() = 0;
    }
}

/// Ranged GETs of data (not inventories) in `log`, as (path, range).
pub fn data_ranges(log: &[Seen]) -> Vec<(String, String)> {
    log.iter()
        .filter(|s| s.method == "GET" && !s.path.ends_with(".idx"))
        .filter_map(|s| Some((s.path.clone(), s.range.clone()?)))
        .collect()
}

async fn forward(State(state): State<Arc<ProxyState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_owned();
    let range = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.log.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        range: range.clone(),
    });
    let mut truncate = false;
    let mut hang = false;
    if method == "GET" && range.is_some() {
        let mut faults = state.faults.lock().unwrap();
        let mut fired = None;
        for (i, f) in faults.iter().enumerate() {
            match f {
                Fault::Status500Once(p) if path.ends_with(p.as_str()) => {
                    fired = Some(i);
                    truncate = false;
                    break;
                }
                Fault::TruncateOnce(p) if path.ends_with(p.as_str()) => {
                    fired = Some(i);
                    truncate = true;
                    break;
                }
                Fault::TruncateAlways(p) if path.ends_with(p.as_str()) => truncate = true,
                Fault::DenyDataAfter(n) if !path.ends_with(".idx") => {
                    let mut passed = state.data_passed.lock().unwrap();
                    if *passed >= *n {
                        return status(StatusCode::FORBIDDEN);
                    }
                    *passed += 1;
                }
                Fault::HangDataAfter(n) if !path.ends_with(".idx") => {
                    let mut passed = state.data_passed.lock().unwrap();
                    hang = *passed >= *n;
                    *passed += 1;
                }
                _ => {}
            }
        }
        if let Some(i) = fired {
            let f = faults.remove(i);
            if matches!(f, Fault::Status500Once(_)) {
                return status(StatusCode::INTERNAL_SERVER_ERROR);
            }
        }
    }
    if hang {
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    if let Some(r) = &range {
        headers.insert("range", r.parse().unwrap());
    }
    let body = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    let upstream = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            format!("{}{path_q}", state.upstream),
        )
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(up) = upstream else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let mut out = Response::builder().status(up.status().as_u16());
    for (k, v) in up.headers() {
        let keep_length = method == "HEAD" && k == "content-length";
        if keep_length || k != "content-length" && k != "transfer-encoding" && k != "connection" {
            out = out.header(k.as_str(), v.as_bytes());
        }
    }
    let mut bytes = up.bytes().await.unwrap_or_default().to_vec();
    if truncate {
        bytes.truncate(bytes.len() / 2);
    }
    if method == "HEAD" {
        bytes.clear();
    }
    out.body(Body::from(bytes)).unwrap()
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

/// The real GRIB2 messages of the shared samples the fixture files are
/// made of: (name, bytes), in file order.
pub fn sample_messages() -> Option<Vec<(&'static str, Vec<u8>)>> {
    let dir = crate::support::shared_data()?;
    let read_xz = |name: &str| {
        let f = std::fs::File::open(dir.join(name)).expect("sample");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut xz2::read::XzDecoder::new(f), &mut out).expect("xz");
        out
    };
    Some(vec![
        (
            "cmc",
            std::fs::read(dir.join("CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2"))
                .expect("cmc"),
        ),
        ("rh", read_xz("gdas.t12z.pgrb2.0p25.f000.46.xz")),
        ("vrate", read_xz("gdas.t12z.pgrb2.0p25.f000.12.xz")),
        ("ecmwf", read_xz("20250912120000-0h-oper-fc.grib2.89.xz")),
    ])
}

/// `msg` (one GRIB2 message, product template 4.0) with its reference
/// time set to `run` and its forecast time to `fh` hours.
pub fn retime(msg: &[u8], run: DateTime<Utc>, fh: u32) -> Vec<u8> {
    let mut m = msg.to_vec();
    assert_eq!(&m[..4], b"GRIB");
    let mut at = 16;
    while at + 5 <= m.len() && &m[at..at + 4] != b"7777" {
        let len = u32::from_be_bytes(m[at..at + 4].try_into().unwrap()) as usize;
        match m[at + 4] {
            1 => {
                m[at + 12..at + 14].copy_from_slice(&(run.year() as u16).to_be_bytes());
                m[at + 14] = run.month() as u8;
                m[at + 15] = run.day() as u8;
                m[at + 16] = run.hour() as u8;
                m[at + 17] = 0;
                m[at + 18] = 0;
            }
            4 => {
                let template = u16::from_be_bytes([m[at + 7], m[at + 8]]);
                assert!(
                    template == 0 || template == 8,
                    "fixture messages use product template 4.0/4.8, not {template}"
                );
                m[at + 17] = 1; // hours
                m[at + 18..at + 22].copy_from_slice(&fh.to_be_bytes());
            }
            _ => {}
        }
        at += len;
    }
    m
}

/// A GFS-layout forecast file of the sample messages, retimed, and its
/// wgrib2 inventory (from `decode::list_messages`, which writes `wgrib2
/// -s` lines).
pub fn gfs_file(
    messages: &[(&'static str, Vec<u8>)],
    run: DateTime<Utc>,
    fh: u32,
) -> (Vec<u8>, String) {
    let mut file = Vec::new();
    for (_, m) in messages {
        file.extend(retime(m, run, fh));
    }
    let idx: String = decode::list_messages(&file)
        .expect("fixture inventory")
        .iter()
        .map(|m| format!("{m}\n"))
        .collect();
    (file, idx)
}

/// The GFS key of `fh` of `run`, as NOAA lays it out.
pub fn gfs_key(run: DateTime<Utc>, fh: u32) -> String {
    format!(
        "gfs.{}/{:02}/atmos/gfs.t{:02}z.pgrb2.0p25.f{fh:03}",
        run.format("%Y%m%d"),
        run.hour(),
        run.hour()
    )
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Runs `wxfarm` with `args` (off the async runtime); (success, stdout,
/// stderr).
pub async fn wxfarm(args: Vec<String>) -> (bool, String, String) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wxfarm"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run wxfarm")
    })
    .await
    .expect("join");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
