//! `wxfarm pull`: real data from NOAA's open-data buckets. Sources come
//! from a TOML catalogue ([`sources`]); a model file's wgrib2 inventory
//! ([`idx`]) says which byte ranges hold the wanted fields ([`plan`]), which
//! are fetched with retries ([`fetch`]) and ingested ([`engine`]);
//! `serve --follow` keeps a store current ([`follow`]) and trims it
//! ([`retention`]).

pub mod engine;
pub mod fetch;
pub mod follow;
pub mod idx;
pub mod notify;
pub mod plan;
pub mod retention;
pub mod sources;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use protocol::catalog::SharedCatalog;
use scheduler::Ingestor;

use engine::{Puller, RunSpec, Want};
use sources::{Source, Sources};

/// Where sources are read from, and how.
#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// A sources catalogue (TOML) merged over the built-in one
    /// (protocol/sources.toml): its sources replace those of the same name.
    #[arg(long, env = "WXFARM_SOURCES")]
    pub sources: Option<PathBuf>,
    /// S3 endpoint of the source buckets (a mirror, a private copy, a test
    /// fixture); AWS when unset. Buckets are read anonymously.
    #[arg(long, env = "WXFARM_PULL_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Range requests (and files) fetched at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Retries of a failed or truncated read, with doubling backoff.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// First wait before a retry, milliseconds (doubles each time).
    #[arg(long, default_value_t = 500)]
    pub retry_backoff_ms: u64,
}

impl FetchArgs {
    /// A puller of `source` into `ingestor`'s store.
    pub fn puller(
        &self,
        source: &Source,
        ingestor: Ingestor,
        store: std::sync::Arc<dyn object_store::ObjectStore>,
        progress: bool,
    ) -> Result<Puller> {
        Ok(Puller {
            bucket: fetch::Bucket::open(
                &source.bucket,
                &source.region,
                self.endpoint.as_deref(),
                self.retries,
                Duration::from_millis(self.retry_backoff_ms),
            )?,
            source: source.clone(),
            ingestor,
            store,
            concurrency: self.concurrency.clamp(1, 64),
            scheduler: None,
            progress,
        })
    }
}

#[derive(Args)]
pub struct PullArgs {
    /// The source, by name in the sources catalogue: gfs, hrrr, mrms,
    /// goes16, goes18, goes19, or one of a --sources file.
    source: String,
    /// Models: the run, `latest` or `YYYY-MM-DDTHH` (UTC).
    #[arg(long, default_value = "latest")]
    run: String,
    /// Models: forecast hours, e.g. `0-48/3` or `0,6,12` (default: the
    /// source's).
    #[arg(long)]
    forecasts: Option<String>,
    /// Models: fields as `NAME:level` from the .idx, comma-separated, e.g.
    /// `TMP:2 m above ground,PRMSL:mean sea level` (default: the source's).
    #[arg(long)]
    fields: Option<String>,
    /// Observations and satellites: the product (default: the source's),
    /// e.g. `MergedReflectivityQCComposite_00.50` or `ABI-L2-CMIPC`.
    #[arg(long)]
    product: Option<String>,
    /// Satellites: ABI bands, comma-separated (default: the source's).
    #[arg(long, value_delimiter = ',')]
    bands: Vec<u8>,
    /// Observations and satellites: how many of the newest objects (of
    /// each band, for satellites).
    #[arg(long, default_value_t = 1)]
    count: usize,
    #[command(flatten)]
    fetch: FetchArgs,
    /// Where to ingest: `--data DIR` (a running `serve` on it picks the
    /// files up) or an S3 bucket, as `wxfarm ingest`.
    #[command(flatten)]
    store: crate::store::StoreArgs,
    /// Announce each file to a farm's scheduler over this NATS server.
    #[arg(long, env = "WXFARM_NATS")]
    nats: Option<String>,
    /// Extra layer catalogue (TOML), merged over the built-in one.
    #[arg(long)]
    layers: Option<PathBuf>,
}

/// `wxfarm pull`.
pub async fn run(args: PullArgs) -> Result<()> {
    let sources = Sources::load(args.fetch.sources.as_deref())?;
    let mut source = sources.get(&args.source)?.clone();
    if let Some(p) = &args.product {
        source.product = p.clone();
    }
    let want = want_of(
        &source,
        &args.run,
        args.forecasts.as_deref(),
        args.fields.as_deref(),
        args.count,
        &args.bands,
    )?;
    let store = args.store.open()?;
    let ingestor = Ingestor::new(
        store.clone(),
        crate::serve::layer_catalogue(args.layers.as_deref())?,
        SharedCatalog::default(),
    );
    let puller = args.fetch.puller(&source, ingestor, store, true)?;
    let started = std::time::Instant::now();
    let summary = puller.pull(&want).await?;
    if let Some(url) = &args.nats {
        let client = farm::topology::connect_url(url.as_str()).await?;
        for r in &summary.reports {
            crate::serve::announce(&client, r).await?;
        }
    }
    println!(
        "pulled {} messages in {} objects ({} bytes, {} requests) from s3://{}{}; {} already present; {} failed; {:.1} s",
        summary.messages_pulled,
        summary.objects_pulled,
        summary.bytes,
        summary.requests,
        puller.bucket.name,
        summary
            .run
            .map(|r| format!(" run {}", r.format("%Y-%m-%dT%HZ")))
            .unwrap_or_default(),
        summary.messages_skipped,
        summary.failures.len(),
        started.elapsed().as_secs_f64(),
    );
    for f in &summary.failures {
        eprintln!("error: {f}");
    }
    if !summary.failures.is_empty() {
        bail!(
            "{} of the pull failed (rerun to complete it: what is stored is kept)",
            summary.failures.len()
        );
    }
    Ok(())
}

/// What to pull of `source`, from the flags (or the source's defaults).
pub fn want_of(
    source: &Source,
    run: &str,
    forecasts: Option<&str>,
    fields: Option<&str>,
    count: usize,
    bands: &[u8],
) -> Result<Want> {
    Ok(match source.kind {
        sources::SourceKind::Model => {
            let fields: Vec<String> = match fields {
                Some(f) => f
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => source.fields.clone(),
            };
            if fields.is_empty() {
                bail!("{}: no fields given (--fields NAME:level,…)", source.name);
            }
            if let Some(bad) = fields.iter().find(|f| !f.contains(':')) {
                bail!("field {bad:?}: use NAME:level as in the .idx, e.g. TMP:2 m above ground");
            }
            Want::Run {
                run: run.parse::<RunSpec>()?,
                forecasts: sources::parse_forecasts(forecasts.unwrap_or(&source.forecasts))?,
                fields,
            }
        }
        _ => Want::Newest {
            count: count.clamp(1, 1000),
            bands: bands.to_vec(),
        },
    })
}

/// A bytes progress bar on stderr (hidden when not a terminal, or `show`
/// is false).
pub fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
