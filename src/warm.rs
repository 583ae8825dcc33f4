//! `wxfarm warm`: the operator's warming tool, a client of the admin API of
//! a running `serve` or farm gateway (see `gateway::admin`). Plans and
//! renders happen in the server, through the same cache path as requests,
//! at warm priority; this tool sends the spec and shows the progress.
//!
//! Exit codes: 0 every tile warmed; 1 some tiles failed; 2 the server
//! refused the spec or the token (or could not be reached).

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use gateway::admin::{AdminStats, WarmEstimate, WarmProgress, WarmSpec};

#[derive(Args, Debug)]
pub struct WarmArgs {
    /// The server: a `wxfarm serve` or farm gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "WXFARM_URL")]
    url: String,
    /// The server's admin token (`--admin-token` there).
    #[arg(long, env = "WXFARM_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
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

/// Runs the tool; the process exit code.
pub async fn run(args: WarmArgs) -> Result<i32> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let base = args.url.trim_end_matches('/').to_owned();
    let auth = format!("Bearer {}", args.token);
    if args.stats {
        let res = client
            .get(format!("{base}/admin/stats"))
            .header("authorization", &auth)
            .send()
            .await
            .with_context(|| format!("reaching {base}"))?;
        let body = refused_or_body(res).await?;
        let s: AdminStats = serde_json::from_slice(&body).context("stats")?;
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
                "warmed {:<9} {} queued, {} used{}",
                w.source,
                w.queued,
                w.used,
                precision.map_or(String::new(), |p| format!(" (precision {p:.2})"))
            );
        }
        return Ok(0);
    }
    let path = if args.estimate {
        "/admin/warm/estimate"
    } else {
        "/admin/warm"
    };
    let mut res = client
        .post(format!("{base}{path}"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&args.spec())?)
        .send()
        .await
        .with_context(|| format!("reaching {base}"))?;
    if args.estimate {
        let body = refused_or_body(res).await?;
        let e: WarmEstimate = serde_json::from_slice(&body).context("estimate")?;
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
        return Ok(0);
    }
    if !res.status().is_success() {
        refused_or_body(res).await?;
        unreachable!("refused_or_body fails on an error status");
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tiles  {msg}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut pending = Vec::new();
    let mut last = None;
    while let Some(chunk) = res.chunk().await.context("reading progress")? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let p: WarmProgress = serde_json::from_slice(&line).context("progress line")?;
            bar.set_length(p.total);
            bar.set_position(p.rendered + p.cached + p.failed);
            bar.set_message(format!("{:.0}/s, {} failed", p.rate, p.failed));
            last = Some(p);
        }
    }
    bar.finish_and_clear();
    let Some(p) = last.filter(|p| p.finished) else {
        bail!("the server ended the warm run without a summary");
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
