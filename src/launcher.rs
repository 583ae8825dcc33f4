//! `wxfarm farm up|down`: a whole distributed farm on loopback, without
//! Docker: nats-server (JetStream), redis-server, an S3-compatible server
//! (moto), the scheduler, workers and a gateway, on free ports with their
//! data under one folder. `up` ingests sample data through the normal
//! ingest path and prints one JSON line; `down` stops exactly those PIDs.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Subcommand)]
pub enum FarmCommand {
    /// Start a farm; prints its endpoints and PIDs as JSON on the last line.
    Up(UpArgs),
    /// Stop the farm started in DIR.
    Down {
        /// Folder the farm was started in.
        #[arg(long, default_value = ".farm")]
        dir: PathBuf,
    },
}

#[derive(Args)]
pub struct UpArgs {
    /// Folder for the farm's state, logs and data.
    #[arg(long, default_value = ".farm")]
    dir: PathBuf,
    /// Render workers to start.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Gateways to start (each on its own port).
    #[arg(long, default_value_t = 1)]
    gateways: usize,
    /// GRIB2 files or folders to ingest; default: generated sample data.
    #[arg(long)]
    sample: Vec<PathBuf>,
    /// Warm zooms 0..=N of new fields instead of the layer catalogue's
    /// `[[warm]]` rules (-1: off).
    #[arg(long, allow_negative_numbers = true)]
    warm_max_zoom: Option<i8>,
    /// Seconds before an unacknowledged job is redelivered.
    #[arg(long, default_value_t = 10)]
    ack_wait_secs: u64,
}

/// What `up` prints and `down` reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct FarmInfo {
    /// The first gateway.
    pub gateway_url: String,
    /// Every gateway.
    pub gateway_urls: Vec<String>,
    /// `/metrics` of each farm process, by role name.
    pub metrics: BTreeMap<String, String>,
    pub s3_endpoint: String,
    pub bucket: String,
    /// With the farm's NATS user and password (`nats://wxfarm:…@…`).
    pub nats_url: String,
    pub redis_url: String,
    /// The secret every job, result and point query is signed with.
    pub farm_secret: String,
    /// The gateways' admin token (`wxfarm warm --token`).
    #[serde(default)]
    pub admin_token: String,
    /// In the environment of every process of this farm, so `farm down`
    /// signals only those (a recorded PID may belong to someone else now).
    #[serde(default)]
    pub farm_id: String,
    pub dir: PathBuf,
    pub pids: BTreeMap<String, u32>,
}

const BUCKET: &str = "wxfarm";
const STATE: &str = "farm.json";

pub fn run(cmd: FarmCommand) -> Result<()> {
    match cmd {
        FarmCommand::Up(args) => up(args),
        FarmCommand::Down { dir } => down(&dir),
    }
}

/// `bytes` random bytes from the kernel, as hex: NATS password and farm
/// secret of one farm.
fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `text` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// A free loopback port for a farm process, below the kernel's ephemeral
/// range: a port the kernel hands out (bind to 0) may be taken, between
/// our check and the process binding it, as the local end of any outgoing
/// connection on the machine; ports below the range never are.
fn free_port() -> Result<u16> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 20_000u16.min(ephemeral_start.saturating_sub(1000));
    if ephemeral_start > low + 100 {
        let seed = random_hex(2)
            .ok()
            .and_then(|h| u16::from_str_radix(&h, 16).ok());
        let span = ephemeral_start - low;
        let mut port = low + seed.unwrap_or(0) % span;
        for _ in 0..200 {
            if TcpListener::bind(("127.0.0.1", port)).is_ok() && claim(port) {
                return Ok(port);
            }
            port = low + (port - low + 7919) % span;
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Claims `port` for a minute, machine-wide: between choosing a port and
/// its process binding it, another farm starting at the same time (tests
/// start several), or this one, could choose it too. A claim is a file
/// created exclusively; one older than a minute is stale (the port is bound
/// by then, or was never used) and may be taken over.
fn claim(port: u16) -> bool {
    let dir = std::env::temp_dir().join("wxfarm-ports");
    if std::fs::create_dir_all(&dir).is_err() {
        return true; // no claims possible here: the bind check alone
    }
    let path = dir.join(port.to_string());
    let fresh = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < Duration::from_secs(60)))
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(_) => true,
        Err(_) if !fresh(&path) => {
            // Stale: take it over (remove, then claim exclusively again).
            let _ = std::fs::remove_file(&path);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .is_ok()
        }
        Err(_) => false,
    }
}

fn find_binary(name: &str) -> Result<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    for dir in candidates {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{name} not found: run scripts/setup.sh")
}

struct Spawner {
    logs: PathBuf,
    pids: BTreeMap<String, u32>,
    /// Kept to notice (and reap) a process that exits while starting.
    children: BTreeMap<String, std::process::Child>,
    /// Marks every process this farm starts (see [`owned`]).
    farm_id: String,
}

impl Spawner {
    /// Starts `program` detached in its own process group, output to a log.
    fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
    ) -> Result<()> {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.logs.join(format!("{name}.log")))?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env(FARM_ID_ENV, &self.farm_id)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        self.pids.insert(name.to_owned(), child.id());
        self.children.insert(name.to_owned(), child);
        Ok(())
    }

    /// Waits until `name` accepts connections on `port`. Fails at once,
    /// with the end of its log, if the process exits meanwhile.
    fn wait_for_port(&mut self, name: &str, port: u16, timeout: Duration) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while started.elapsed() < timeout {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.children.get_mut(name)
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "{name} exited ({status}) before listening on port {port}; its log ends:\n{}",
                    self.log_tail(name)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "{name} did not listen on port {port} within {timeout:?}; its log ends:\n{}",
            self.log_tail(name)
        )
    }

    /// The last lines of `name`'s log, for error messages.
    fn log_tail(&self, name: &str) -> String {
        let text =
            std::fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

fn up(args: UpArgs) -> Result<()> {
    let dir = std::path::absolute(&args.dir)?;
    if dir.join(STATE).exists() {
        bail!(
            "{} already holds a farm: run `wxfarm farm down --dir {}` first",
            dir.display(),
            args.dir.display()
        );
    }
    let logs = dir.join("logs");
    for sub in ["logs", "nats", "redis"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let me = std::env::current_exe()?;
    let mut sp = Spawner {
        logs: logs.clone(),
        pids: BTreeMap::new(),
        children: BTreeMap::new(),
        farm_id: random_hex(16)?,
    };
    let result = (|| -> Result<FarmInfo> {
        let (nats_port, redis_port, s3_port) = (free_port()?, free_port()?, free_port()?);
        let gw_ports = (0..args.gateways.max(1))
            .map(|_| free_port())
            .collect::<Result<Vec<_>>>()?;
        let s = |v: &str| v.to_owned();
        // NATS needs a user and password: nobody else on the host may
        // queue jobs or read results. They go in a file only we can read,
        // not on a command line every user can see.
        let nats_pass = random_hex(16)?;
        let nats_conf = dir.join("nats.conf");
        write_private(
            &nats_conf,
            &format!("authorization {{\n  user: wxfarm\n  password: \"{nats_pass}\"\n}}\n"),
        )?;
        sp.spawn(
            "nats",
            &find_binary("nats-server")?,
            &[
                s("-c"),
                nats_conf.display().to_string(),
                s("-js"),
                s("-a"),
                s("127.0.0.1"),
                s("-p"),
                nats_port.to_string(),
                s("-sd"),
                dir.join("nats").display().to_string(),
            ],
            &[],
        )?;
        sp.spawn(
            "redis",
            &find_binary("redis-server")?,
            &[
                s("--port"),
                redis_port.to_string(),
                s("--bind"),
                s("127.0.0.1"),
                s("--save"),
                s(""),
                s("--appendonly"),
                s("no"),
                s("--dir"),
                dir.join("redis").display().to_string(),
            ],
            &[],
        )?;
        sp.spawn(
            "s3",
            &find_binary("moto_server")?,
            &[s("-H"), s("127.0.0.1"), s("-p"), s3_port.to_string()],
            &[],
        )?;
        sp.wait_for_port("nats", nats_port, Duration::from_secs(10))?;
        sp.wait_for_port("redis", redis_port, Duration::from_secs(10))?;
        sp.wait_for_port("s3", s3_port, Duration::from_secs(30))?;
        // moto accepts connections a moment before it answers them.
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(e) = create_bucket(s3_port) {
            if Instant::now() > deadline {
                return Err(e);
            }
            std::thread::sleep(Duration::from_millis(200));
        }

        let gateway_urls: Vec<String> = gw_ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        let mut info = FarmInfo {
            gateway_url: gateway_urls[0].clone(),
            gateway_urls: gateway_urls.clone(),
            metrics: BTreeMap::new(),
            s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
            bucket: BUCKET.into(),
            nats_url: format!("nats://wxfarm:{nats_pass}@127.0.0.1:{nats_port}"),
            farm_secret: random_hex(32)?,
            admin_token: random_hex(16)?,
            farm_id: String::new(),
            redis_url: format!("redis://127.0.0.1:{redis_port}"),
            dir: dir.clone(),
            pids: BTreeMap::new(),
        };
        let env = vec![
            ("WXFARM_NATS", info.nats_url.clone()),
            ("WXFARM_FARM_SECRET", info.farm_secret.clone()),
            ("WXFARM_ADMIN_TOKEN", info.admin_token.clone()),
            ("WXFARM_REDIS", info.redis_url.clone()),
            ("WXFARM_S3_BUCKET", info.bucket.clone()),
            ("WXFARM_S3_ENDPOINT", info.s3_endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "farm".into()),
            ("AWS_SECRET_ACCESS_KEY", "farm".into()),
            ("AWS_REGION", "us-east-1".into()),
            (
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ];
        let ack = format!("--ack-wait-secs={}", args.ack_wait_secs);
        // Roles open their listener (metrics for workers and the scheduler)
        // once they are connected: waiting for it means they are up.
        let mut role_ports = Vec::new();
        let mut metrics_addr = |role: &str| -> Result<String> {
            let port = free_port()?;
            info.metrics
                .insert(role.to_owned(), format!("http://127.0.0.1:{port}/metrics"));
            role_ports.push((role.to_owned(), port));
            Ok(format!("--metrics-listen=127.0.0.1:{port}"))
        };
        let scheduler_metrics = metrics_addr("scheduler")?;
        sp.spawn(
            "scheduler",
            &me,
            &[
                s("scheduler"),
                ack.clone(),
                s("--poll-secs=5"),
                scheduler_metrics,
            ]
            .into_iter()
            .chain(args.warm_max_zoom.map(|z| format!("--warm-max-zoom={z}")))
            .collect::<Vec<_>>(),
            &env,
        )?;
        for k in 1..=args.workers {
            let name = format!("worker-{k}");
            let m = metrics_addr(&name)?;
            sp.spawn(&name, &me, &[s("worker"), ack.clone(), m], &env)?;
        }
        for (k, port) in gw_ports.iter().enumerate() {
            let name = if k == 0 {
                "gateway".to_owned()
            } else {
                format!("gateway-{}", k + 1)
            };
            // Its metrics listener opens just after its public one.
            let m = metrics_addr(&name)?;
            sp.spawn(
                &name,
                &me,
                &[
                    s("gateway"),
                    ack.clone(),
                    format!("--listen=127.0.0.1:{port}"),
                    m,
                ],
                &env,
            )?;
        }
        // Roles wait up to a minute for NATS themselves; allow for that.
        for (name, port) in &role_ports {
            sp.wait_for_port(name, *port, Duration::from_secs(90))?;
        }

        // Sample data goes in through the normal ingest path: upload, then
        // an ingest event the scheduler acts on.
        let samples = if args.sample.is_empty() {
            let out = dir.join("sample");
            crate::serve::demo_data(&out, None, 42, 24)?;
            vec![out]
        } else {
            args.sample.clone()
        };
        let files = grib_files(&samples)?;
        let status = Command::new(&me)
            .arg("ingest")
            .args(&files)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .status()
            .context("running ingest")?;
        if !status.success() {
            bail!("ingesting the sample data failed");
        }
        Ok(info)
    })();
    let mut info = match result {
        Ok(info) => info,
        Err(e) => {
            stop(&sp.pids, &sp.farm_id, &dir);
            return Err(e.context(format!("farm failed to start; logs in {}", logs.display())));
        }
    };
    info.pids = sp.pids;
    info.farm_id = sp.farm_id;
    let json = serde_json::to_string(&info)?;
    write_private(&dir.join(STATE), &json)?;
    eprintln!(
        "farm up: gateway {} (logs in {})",
        info.gateway_url,
        logs.display()
    );
    println!("{json}");
    Ok(())
}

fn grib_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> =
                std::fs::read_dir(p)?.flatten().map(|e| e.path()).collect();
            entries.sort();
            out.extend(grib_files(&entries)?);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// S3 CreateBucket is `PUT /<bucket>`; speaking it directly saves a client.
fn create_bucket(port: u16) -> Result<()> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 200") {
        bail!(
            "creating bucket {BUCKET}: {}",
            response.lines().next().unwrap_or_default()
        );
    }
    Ok(())
}

/// The variable that marks a farm's processes.
const FARM_ID_ENV: &str = "WXFARM_FARM_ID";

/// Whether process `pid` is one this farm started (PIDs are reused once a
/// process is gone): it carries the farm's id in its environment, or, for
/// servers that overwrite their environment with a process title
/// (redis-server), it runs in a folder of the farm's.
fn owned(pid: u32, farm_id: &str, dir: &Path) -> bool {
    let marker = format!("{FARM_ID_ENV}={farm_id}");
    let marked = !farm_id.is_empty()
        && std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()));
    marked
        || dir.is_absolute()
            && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
}

/// Stops the farm's processes (and only those): SIGTERM front to back,
/// then up to 10 s for them to exit, then SIGKILL for what is left.
/// Returns how many were running.
fn stop(pids: &BTreeMap<String, u32>, farm_id: &str, dir: &Path) -> usize {
    // Front to back: gateway and workers before the services they use.
    let is_role = |n: &str| n.starts_with("gateway") || n.starts_with("worker") || n == "scheduler";
    let mut names: Vec<&String> = pids.keys().collect();
    names.sort_by_key(|n| (!is_role(n), n.to_string()));
    let signal = |sig: &str, pid: u32| {
        let _ = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status();
    };
    let mut ours = Vec::new();
    for name in names {
        let pid = pids[name];
        if owned(pid, farm_id, dir) {
            signal("-TERM", pid);
            ours.push(pid);
        } else {
            eprintln!(
                "farm down: {name} (pid {pid}) is not running as part of this farm; left alone"
            );
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ours.iter().any(|&p| owned(p, farm_id, dir)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pid in &ours {
        if owned(pid, farm_id, dir) {
            signal("-KILL", pid);
        }
    }
    ours.len()
}

fn down(dir: &Path) -> Result<()> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no farm state at {}", path.display()))?;
    let info: FarmInfo =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let stopped = stop(&info.pids, &info.farm_id, &info.dir);
    std::fs::remove_file(&path)?;
    eprintln!(
        "farm down: stopped {stopped} of {} processes",
        info.pids.len()
    );
    Ok(())
}
