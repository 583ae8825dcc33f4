//! `wxfarm warm`: the operator's warming tool. It talks to the admin API of
//! a running `serve` or farm gateway (see `gateway::admin`), or, with
//! `--nats`, straight to a farm's NATS (and Redis), planning here and
//! queueing jobs for the workers itself. Either way tiles go through the
//! same cache path as requests, at warm priority.
//!
//! Exit codes: 0 every tile warmed; 1 some tiles failed; 2 the server
//! refused the spec or the token (or could not be reached).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use gateway::admin::{AdminStats, WarmEstimate, WarmProgress, WarmSpec};
use tokio::sync::mpsc;

#[derive(Args, Debug)]
pub struct WarmArgs {
    /// The server: a `wxfarm serve` or farm gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "WXFARM_URL")]
    url: String,
    /// The server's admin token (`--admin-token` there); not needed with
    /// `--nats`.
    #[arg(long, env = "WXFARM_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Warm a farm without a gateway: its NATS URL(s). Jobs are planned
    /// here and queued on JetStream for the workers, signed with
    /// `WXFARM_FARM_SECRET`.
    #[arg(long)]
    nats: Option<String>,
    /// With `--nats`: the farm's Redis, so tiles already there are skipped.
    #[arg(long, value_delimiter = ',', requires = "nats")]
    redis: Vec<String>,
    /// With `--nats`: the farm's shared secret.
    #[arg(long, env = "WXFARM_FARM_SECRET", hide_env_values = true)]
    farm_secret: Option<String>,
    /// Layers, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Styles, comma-separated (default: gradient).
    #[arg(long, value_delimiter = ',')]
    styles: Vec<String>,
    /// Zoom levels, `lo-hi` or one level.
    #[arg(long, default_value = "0-3", value_parser = parse_zooms)]
    zooms: (u8, u8),
    /// Box in degrees: west,south,east,north (default: each layer's extent).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_bbox)]
    bbox: Option<[f64; 4]>,
    /// Tile matrix sets (default WebMercatorQuad).
    #[arg(long, value_delimiter = ',')]
    tms: Vec<String>,
    /// Model layers: lead hours, comma-separated (default: the default
    /// run's time nearest now).
    #[arg(long, value_delimiter = ',')]
    forecasts: Vec<f64>,
    /// Model layers: the run (RFC 3339).
    #[arg(long)]
    run: Option<chrono::DateTime<chrono::Utc>>,
    /// Observation layers: valid times (RFC 3339), comma-separated.
    #[arg(long, value_delimiter = ',')]
    times: Vec<chrono::DateTime<chrono::Utc>>,
    /// Tiles in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Only count the tiles (and the bytes they would add); warm nothing.
    #[arg(long, conflicts_with = "stats")]
    estimate: bool,
    /// Show the server's cache and queue statistics; warm nothing.
    #[arg(long)]
    stats: bool,
}

fn parse_bbox(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("{p}: {e}")))
        .collect::<Result<_, _>>()?;
    <[f64; 4]>::try_from(v).map_err(|v| format!("give 4 numbers, not {}", v.len()))
}

fn parse_zooms(s: &str) -> Result<(u8, u8), String> {
    let parse = |v: &str| v.trim().parse::<u8>().map_err(|e| format!("{v}: {e}"));
    match s.split_once('-') {
        Some((lo, hi)) => Ok((parse(lo)?, parse(hi)?)),
        None => parse(s).map(|z| (z, z)),
    }
}

impl WarmArgs {
    fn spec(&self) -> WarmSpec {
        WarmSpec {
            layers: self.layers.clone(),
            styles: self.styles.clone(),
            zooms: self.zooms,
            bbox: self.bbox,
            tms: self.tms.clone(),
            forecasts: self.forecasts.clone(),
            run: self.run,
            times: self.times.clone(),
            concurrency: Some(self.concurrency),
        }
    }
}

/// Where the tool sends its work.
enum Target {
    /// A server's admin API.
    Http {
        client: reqwest::Client,
        base: String,
        auth: String,
    },
    /// A farm, straight through NATS: the request path of a gateway, run
    /// here with a small L1 of its own.
    Farm(Box<gateway::GatewayState>),
}

/// Runs the tool; the process exit code.
pub async fn run(args: WarmArgs) -> Result<i32> {
    let target = match &args.nats {
        Some(nats) => Target::Farm(Box::new(farm_state(&args, nats).await?)),
        None => Target::Http {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()?,
            base: args.url.trim_end_matches('/').to_owned(),
            auth: format!(
                "Bearer {}",
                args.token
                    .as_deref()
                    .context("--token (or WXFARM_ADMIN_TOKEN) is required without --nats")?
            ),
        },
    };
    if args.stats {
        print_stats(&target.stats().await?);
        return Ok(0);
    }
    let spec = args.spec();
    if args.estimate {
        print_estimate(&target.estimate(&spec).await?);
        return Ok(0);
    }
    show_progress(target.warm(&spec).await?).await
}

impl Target {
    async fn stats(&self) -> Result<AdminStats> {
        match self {
            Self::Http { client, base, auth } => {
                let res = client
                    .get(format!("{base}/admin/stats"))
                    .header("authorization", auth)
                    .send()
                    .await
                    .with_context(|| format!("reaching {base}"))?;
                let body = refused_or_body(res).await?;
                serde_json::from_slice(&body).context("stats")
            }
            Self::Farm(state) => Ok(gateway::admin::stats_of(state).await),
        }
    }

    async fn estimate(&self, spec: &WarmSpec) -> Result<WarmEstimate> {
        match self {
            Self::Http { client, base, auth } => {
                let res = self
                    .post(client, base, auth, "/admin/warm/estimate", spec)
                    .await?;
                let body = refused_or_body(res).await?;
                serde_json::from_slice(&body).context("estimate")
            }
            Self::Farm(state) => gateway::admin::estimate_spec(state, spec)
                .await
                .or_else(|e| refuse(&e)),
        }
    }

    /// Starts the run; its progress lines.
    async fn warm(&self, spec: &WarmSpec) -> Result<mpsc::Receiver<String>> {
        match self {
            Self::Http { client, base, auth } => {
                let mut res = self.post(client, base, auth, "/admin/warm", spec).await?;
                if !res.status().is_success() {
                    refused_or_body(res).await?;
                    unreachable!("refused_or_body fails on an error status");
                }
                let (tx, rx) = mpsc::channel(4);
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    while let Ok(Some(chunk)) = res.chunk().await {
                        pending.extend_from_slice(&chunk);
                        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = pending.drain(..=end).collect();
                            let line = String::from_utf8_lossy(&line).trim().to_owned();
                            if tx.send(line).await.is_err() {
                                return;
                            }
                        }
                    }
                });
                Ok(rx)
            }
            Self::Farm(state) => {
                gateway::admin::start_warm((**state).clone(), spec).or_else(|e| refuse(&e))
            }
        }
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        base: &str,
        auth: &str,
        path: &str,
        spec: &WarmSpec,
    ) -> Result<reqwest::Response> {
        client
            .post(format!("{base}{path}"))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(spec)?)
            .send()
            .await
            .with_context(|| format!("reaching {base}"))
    }
}

/// A gateway's request path over the farm at `nats`, here: the catalog from
/// its KV bucket, jobs signed onto JetStream, Redis (if given) as L2.
async fn farm_state(args: &WarmArgs, nats: &str) -> Result<gateway::GatewayState> {
    let secret = args
        .farm_secret
        .as_deref()
        .context("--farm-secret (or WXFARM_FARM_SECRET) is required with --nats")?;
    let config = farm::FarmConfig {
        nats_url: nats.to_owned(),
        redis_urls: args.redis.clone(),
        signing_key: Some(farm::SigningKey::new(secret)?),
        ..Default::default()
    };
    let (client, js) = crate::roles::connect(&config).await?;
    let (_, catalog) = crate::roles::open_catalog(&js).await?;
    let l2 = crate::roles::l2(&config)?.map(|s| s as Arc<dyn protocol::TileStore>);
    let queue = farm::JetStreamQueue::new(client, config.clone())
        .await
        .context("job queue")?
        .with_l2(l2.clone());
    Ok(gateway::GatewayState {
        catalog: protocol::catalog::SharedCatalog::new(catalog),
        queue: Arc::new(queue),
        // Only for single flight: the tiles go to Redis, not here.
        tiles: gateway::TileCache::new(16 << 20, Duration::from_secs(60)),
        l2,
        config: Arc::new(gateway::GatewayConfig {
            render_timeout: config.render_deadline,
            ..Default::default()
        }),
        rate_limit: None,
        prefetch: None,
        demand: None,
        warm_ledger: None,
        warm_budget: None,
        warm_rate: Default::default(),
    })
}

fn print_stats(s: &AdminStats) {
    println!("layers           {}", s.layers);
    println!("fields           {}", s.fields);
    println!("L1 tiles         {}", s.l1_entries);
    println!("L1 bytes         {}", s.l1_bytes);
    if let Some([i, p, w]) = s.queue_depths {
        println!("queued jobs      interactive {i}, prefetch {p}, warm {w}");
    }
    for w in &s.warm {
        // Precision: of the tiles rendered ahead, the share then asked for.
        let precision = (w.queued > 0).then(|| w.used as f64 / w.queued as f64);
        println!(
            "warmed {:<9} {} queued, {} used, {} expired unused{}",
            w.source,
            w.queued,
            w.used,
            w.wasted,
            precision.map_or(String::new(), |p| format!(" (precision {p:.2})"))
        );
    }
    if let Some(misses) = s.misses {
        // Recall: of the tiles users needed, the share that was ready.
        let used: u64 = s.warm.iter().map(|w| w.used).sum();
        let recall = (used + misses > 0).then(|| used as f64 / (used + misses) as f64);
        println!(
            "requests rendered {misses}{}",
            recall.map_or(String::new(), |r| format!(" (recall of work ahead {r:.2})"))
        );
    }
}

fn print_estimate(e: &WarmEstimate) {
    println!(
        "{} tiles, {} already in L1; about {:.1} MB to add",
        e.tiles,
        e.cached,
        e.est_bytes as f64 / 1e6
    );
    match (e.est_seconds, e.measured_rate) {
        (Some(secs), Some(rate)) => println!(
            "about {secs:.1} s at {rate:.0} tiles/s, the rate the last warm run on this server measured"
        ),
        _ => println!(
            "time: not measured yet (the first warm run on this server measures the render rate)"
        ),
    }
}

/// Draws the progress lines as a bar; the summary's exit code.
async fn show_progress(mut lines: mpsc::Receiver<String>) -> Result<i32> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tiles  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut last = None;
    while let Some(line) = lines.recv().await {
        let p: WarmProgress = serde_json::from_str(&line).context("progress line")?;
        bar.set_length(p.total);
        bar.set_position(p.rendered + p.cached + p.failed);
        bar.set_message(format!("{:.0}/s, {} failed", p.rate, p.failed));
        last = Some(p);
    }
    bar.finish_and_clear();
    let Some(p) = last.filter(|p| p.finished) else {
        bail!("the warm run ended without a summary");
    };
    println!(
        "warmed {} tiles in {:.1} s ({:.0} tiles/s): {} rendered, {} already cached, {} failed",
        p.total, p.elapsed_s, p.rate, p.rendered, p.cached, p.failed
    );
    if let Some(e) = &p.first_error {
        println!("first failure: {e}");
    }
    std::io::stdout().flush()?;
    Ok(if p.failed > 0 { 1 } else { 0 })
}

/// A spec the farm's catalog refuses: exit 2 with the reason.
fn refuse<T>(reason: &str) -> Result<T> {
    eprintln!("wxfarm warm: refused: {reason}");
    std::process::exit(2);
}

/// The body of a successful answer; otherwise exits 2 with the server's
/// reason.
async fn refused_or_body(res: reqwest::Response) -> Result<bytes::Bytes> {
    let status = res.status();
    let body = res.bytes().await?;
    if !status.is_success() {
        eprintln!(
            "wxfarm warm: the server refused ({status}): {}",
            String::from_utf8_lossy(&body).trim()
        );
        std::process::exit(2);
    }
    Ok(body)
}
