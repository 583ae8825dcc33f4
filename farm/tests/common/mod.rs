//! Test support: throw-away nats-server and redis-server processes on free
//! ports, a fake renderer, and job builders.
#![allow(dead_code)] // each test binary uses a different part

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::TimeZone;
use farm::FarmConfig;
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{Cancel, Renderer};
use protocol::{
    FieldRef, ImageFormat, Priority, RenderError, RenderJob, StyleSpec, TileKey, TileMatrixSetId,
};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// The first `nats-server` on PATH (scripts/setup.sh puts a 2.10 build
/// ahead of Debian's 2.9.10), else Debian's.
fn nats_server_binary() -> String {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
        .map_or_else(
            || "/usr/sbin/nats-server".into(),
            |p| p.display().to_string(),
        )
}

/// `redis-server` on loopback `port`, keeping nothing on disk.
fn redis_command(port: u16) -> Vec<String> {
    vec![
        "/usr/bin/redis-server".into(),
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
    ]
}

fn wait_listening(port: u16) {
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < until, "server on {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server process killed when dropped.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
    command: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// `nats-server` with JetStream, storing in its own temporary folder.
    pub fn nats() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let store: PathBuf = dir.path().into();
        let command = vec![
            nats_server_binary(),
            "-js".into(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-sd".into(),
            store.display().to_string(),
        ];
        Self::start(port, command, Some(dir))
    }

    /// `nats-server` with JetStream and the settings of `config` (NATS
    /// config syntax, e.g. `max_payload: 32768`).
    pub fn nats_with_config(config: &str) -> Self {
        let mut s = Self::nats();
        let dir = s._dir.as_ref().expect("store folder").path().to_owned();
        let file = dir.join("nats.conf");
        std::fs::write(&file, config).expect("write nats.conf");
        s.command.extend(["-c".into(), file.display().to_string()]);
        s.restart();
        s
    }

    /// `nats-server` with JetStream that requires `user` and `pass`.
    pub fn nats_with_auth(user: &str, pass: &str) -> Self {
        let mut s = Self::nats();
        s.command
            .extend(["--user".into(), user.into(), "--pass".into(), pass.into()]);
        s.restart();
        s
    }

    /// `redis-server` without persistence.
    pub fn redis() -> Self {
        let port = free_port();
        Self::start(port, redis_command(port), None)
    }

    /// `redis-server` as a Redis Cluster node (slots unassigned until
    /// `redis-cli --cluster create`), its node file in its own folder.
    pub fn redis_cluster_node() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = redis_command(port);
        command.extend([
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            dir.path().join("nodes.conf").display().to_string(),
        ]);
        Self::start(port, command, Some(dir))
    }

    fn start(port: u16, command: Vec<String>, dir: Option<tempfile::TempDir>) -> Self {
        let mut s = Self {
            port,
            child: None,
            command,
            _dir: dir,
        };
        s.restart();
        s
    }

    pub fn nats_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the process (the port and store folder are kept).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        self.child = Some(child);
        wait_listening(self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Farm settings for tests: short waits so failures show quickly.
pub fn config(nats: &Server) -> FarmConfig {
    FarmConfig {
        nats_url: nats.nats_url(),
        ack_wait: Duration::from_secs(2),
        max_deliver: 3,
        render_deadline: Duration::from_secs(8),
        publish_timeout: Duration::from_millis(500),
        ..FarmConfig::default()
    }
}

/// A job for tile `z/x/y` of `layer`.
pub fn job(layer: &str, z: u8, x: u32, y: u32, priority: Priority) -> RenderJob {
    let run = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 12, 0, 0).unwrap();
    let key = TileKey {
        layer: layer.into(),
        style: "gradient".into(),
        style_params: String::new(),
        tms: TileMatrixSetId::WebMercatorQuad,
        z,
        x,
        y,
        tile_size: 256,
        run,
        valid: run,
        elevation: None,
        format: ImageFormat::Png,
    };
    let style = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Temperature,
        (-40.0, 45.0),
        Units::Kelvin,
        Units::Celsius,
    );
    let source = FieldRef {
        object_key: "test.grib2".into(),
        offset: 0,
        length: 1,
        submessage: 0,
    };
    RenderJob::new(key, vec![source], style, priority)
}

/// The bytes the fake renderer makes for a job.
pub fn tile_for(job: &RenderJob) -> Bytes {
    Bytes::from(format!("tile:{}", job.key.cache_key()))
}

/// A renderer that returns [`tile_for`] the job and records calls. Layers
/// named `fail` always fail (retryable), `bad` fail terminally; a
/// `blocking` renderer never finishes (a worker stuck or dying mid-render).
#[derive(Default)]
pub struct FakeRenderer {
    pub calls: AtomicU64,
    pub order: Mutex<Vec<String>>,
    pub delay: Duration,
    pub blocking: bool,
}

impl FakeRenderer {
    pub fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ..Self::default()
        })
    }

    pub fn blocking() -> Arc<Self> {
        Arc::new(Self {
            blocking: true,
            ..Self::default()
        })
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn calls_for(&self, layer: &str) -> usize {
        let order = self.order.lock().unwrap();
        order
            .iter()
            .filter(|k| k.contains(&format!(":{layer}:")))
            .count()
    }

    pub fn order(&self) -> Vec<String> {
        self.order.lock().unwrap().clone()
    }
}

#[async_trait]
impl Renderer for FakeRenderer {
    async fn render(&self, job: &RenderJob, cancel: &Cancel) -> Result<Bytes, RenderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.order.lock().unwrap().push(job.key.cache_key());
        match job.key.layer.as_str() {
            "fail" => return Err(RenderError::Internal("always fails".into())),
            "bad" => return Err(RenderError::Data("corrupt field".into())),
            _ => {}
        }
        if self.blocking {
            // Like a real render, it stops once cancelled.
            while !cancel.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return Err(RenderError::Cancelled);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(tile_for(job))
    }
}

/// Polls `f` until it holds or `within` passes.
pub async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// A gateway's queue on its own NATS connection.
pub async fn queue(config: &FarmConfig) -> farm::JetStreamQueue {
    let client = farm::topology::connect(config).await.expect("connect");
    farm::JetStreamQueue::new(client, config.clone())
        .await
        .expect("queue")
}

/// A running worker: its task (abort to kill it) and counters.
pub struct WorkerHandle {
    pub task: tokio::task::JoinHandle<Result<(), farm::FarmError>>,
    pub stats: Arc<farm::WorkerStats>,
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a worker with `slots` renders on its own NATS connection.
pub async fn worker(
    config: &FarmConfig,
    renderer: Arc<dyn Renderer>,
    l2: Option<Arc<dyn protocol::TileStore>>,
    slots: usize,
) -> WorkerHandle {
    let client = farm::topology::connect(config).await.expect("connect");
    let js = farm::topology::jetstream(client, Duration::from_secs(2));
    farm::topology::ensure_topology(&js, config)
        .await
        .expect("topology");
    let mut opts = farm::WorkerOptions::from_config(config, slots);
    opts.idle_wait = Duration::from_millis(100);
    opts.retry_delay = Duration::from_millis(200);
    let stats = Arc::new(farm::WorkerStats::default());
    let task = tokio::spawn(farm::run_worker(js, renderer, l2, opts, stats.clone()));
    WorkerHandle { task, stats }
}

/// Jobs currently in the stream.
pub async fn stream_len(config: &FarmConfig) -> usize {
    let client = farm::topology::connect(config).await.expect("connect");
    let js = farm::topology::jetstream(client, Duration::from_secs(2));
    farm::jobs_tool::list(&js, 10_000)
        .await
        .expect("list")
        .len()
}
