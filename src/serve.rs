//! `wxfarm serve` (every role in one process, embedded infrastructure),
//! `wxfarm ingest` and `wxfarm demo-data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use protocol::catalog::SharedCatalog;
use protocol::layers::LayerCatalogue;
use scheduler::{Ingestor, Scheduler, WarmOptions};
use tracing::Instrument as _;

#[derive(Args)]
pub struct ServeArgs {
    /// Data folder (the object store); every GRIB2 file in it is served.
    #[arg(long, default_value = "data-demo")]
    data: PathBuf,
    /// Address to serve HTTP on (port 0: any free port, printed).
    #[arg(long, default_value = "0.0.0.0:8080", env = "WXFARM_LISTEN")]
    listen: SocketAddr,
    /// Extra layer catalogue (TOML), merged over the built-in one.
    #[arg(long)]
    layers: Option<PathBuf>,
    /// Public URL for capabilities documents (default: from the Host header).
    #[arg(long, env = "WXFARM_PUBLIC_URL")]
    public_url: Option<String>,
    /// L1 tile cache size.
    #[arg(long, default_value_t = 256)]
    tile_cache_mb: u64,
    /// Decoded grid cache size.
    #[arg(long, default_value_t = 2048)]
    grid_cache_mb: u64,
    /// Concurrent renders (default: the number of cores).
    #[arg(long)]
    render_slots: Option<usize>,
    /// Jobs waiting per priority before requests get 503.
    #[arg(long, default_value_t = 512)]
    queue_capacity: usize,
    /// How often to look for new files in the data folder (seconds; 0: never).
    #[arg(long, default_value_t = 10)]
    poll_secs: u64,
    /// Warm zooms 0..=N of every new field, instead of the zooms of the
    /// layer catalogue's `[[warm]]` rules (default z0-3); -1: no warming.
    #[arg(long, env = "WXFARM_WARM_MAX_ZOOM", allow_negative_numbers = true)]
    warm_max_zoom: Option<i8>,
    /// How long a request waits for its render (milliseconds).
    #[arg(long, default_value_t = 15_000)]
    render_timeout_ms: u64,
    #[command(flatten)]
    limits: crate::roles::RateLimitArgs,
    #[command(flatten)]
    http: crate::roles::HttpArgs,
    #[command(flatten)]
    prefetch: crate::roles::PrefetchArgs,
    #[command(flatten)]
    demand: crate::roles::DemandArgs,
    #[command(flatten)]
    budget: crate::roles::WarmBudgetArgs,
    #[command(flatten)]
    follow: crate::pull::follow::FollowArgs,
}

#[derive(Args)]
pub struct IngestArgs {
    /// GRIB2 files (.gz/.xz are decompressed).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where to add them: `--data DIR` (a running `serve` on it picks them
    /// up; default `data-demo`) or an S3 bucket.
    #[command(flatten)]
    store: crate::store::StoreArgs,
    /// Announce each file to a farm's scheduler over this NATS server.
    #[arg(long, env = "WXFARM_NATS")]
    nats: Option<String>,
    /// Extra layer catalogue (TOML), merged over the built-in one.
    #[arg(long)]
    layers: Option<PathBuf>,
}

pub fn layer_catalogue(extra: Option<&Path>) -> Result<LayerCatalogue> {
    let mut layers = LayerCatalogue::builtin();
    if let Some(p) = extra {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        layers
            .merge_over(LayerCatalogue::parse(&text).with_context(|| format!("{}", p.display()))?);
    }
    Ok(layers)
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    let store = crate::confined_fs::open(&args.data)?;
    let catalog = SharedCatalog::default();
    let ingestor = Ingestor::new(
        store.clone(),
        layer_catalogue(args.layers.as_deref())?,
        catalog.clone(),
    );
    let follow_store = store.clone();
    let tiles = gateway::TileCache::new(args.tile_cache_mb << 20, gateway::state::L1_TTL);
    let source = worker::GridSource::new(store, args.grid_cache_mb << 20);
    crate::roles::stats::spawn_cache_stats(Some(tiles.clone()), Some(source.clone()));
    let renderer = Arc::new(worker::service::RenderService::new(source));
    let slots = args
        .render_slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let queue = Arc::new(worker::local_queue::LocalQueue::start(
        renderer,
        Some(Arc::new(tiles.clone())),
        slots,
        args.queue_capacity,
    ));
    crate::roles::stats::spawn_local_queue_depth(queue.clone());
    // The farm's scheduler loop, on the embedded queue: new files are
    // ingested, and their low zooms and hot set warmed into L1.
    let demand = args.demand.counts();
    let mut scheduler = Scheduler::new(
        ingestor,
        queue.clone(),
        None,
        WarmOptions::from_max_zoom(args.warm_max_zoom),
    );
    if let Some(counts) = &demand {
        scheduler = scheduler.with_hot_set(counts.clone(), args.demand.hot_set);
    }
    let warm_ledger = Arc::new(gateway::warm_ledger::WarmLedger::default());
    // One budget for the prefetches and the warming of this process.
    let budget = args
        .budget
        .budget(protocol::warm_budget::WarmBudgetConfig::default().pressure_memory);
    scheduler = scheduler
        .with_warm_observer(warm_ledger.clone())
        .with_budget(budget.clone());
    let scheduler = Arc::new(scheduler);
    scheduler.scan().await;
    let n_layers = catalog.snapshot().layers.len();
    if n_layers == 0 {
        tracing::warn!(data = %args.data.display(), "no layers yet: add GRIB2 files (wxfarm ingest, or `wxfarm demo-data DIR`)");
    }
    let follow_routes = crate::pull::follow::spawn(
        &args.follow,
        scheduler.clone(),
        follow_store,
        args.http.admin_token()?,
    )?;
    if args.poll_secs > 0 {
        let poll = Duration::from_secs(args.poll_secs);
        tokio::spawn(async move {
            scheduler
                .run(
                    futures::stream::empty::<(String, tracing::Span)>(),
                    Some(poll),
                    std::future::pending(),
                )
                .await;
        });
    }

    let state = gateway::GatewayState {
        catalog,
        queue,
        tiles,
        l2: None,
        config: Arc::new(gateway::GatewayConfig {
            public_url: args.public_url,
            render_timeout: Duration::from_millis(args.render_timeout_ms),
            admin_token: args.http.admin_token()?,
            cors_origins: args.http.cors_origins.clone(),
            ..Default::default()
        }),
        rate_limit: args.limits.limiter(),
        prefetch: args.prefetch.prefetcher(),
        demand: demand.clone(),
        warm_ledger: Some(warm_ledger),
        warm_budget: Some(budget),
        warm_rate: Default::default(),
    };
    crate::roles::serve_gateway(args.listen, state, &args.http, metrics, follow_routes, |addr| {
        tracing::info!(%addr, layers = n_layers, render_slots = slots, "wxfarm serving: open http://{addr}/");
    })
    .await
}

pub async fn ingest(mut args: IngestArgs) -> Result<()> {
    if args.store.data.is_none() && args.store.s3_bucket.is_none() {
        // The folder `make serve` serves; say so, rather than write there
        // silently.
        eprintln!("no --data or --s3-bucket given: adding to ./data-demo");
        args.store.data = Some(PathBuf::from("data-demo"));
    }
    let store = args.store.open()?;
    let nats = match &args.nats {
        Some(url) => Some(
            farm::topology::connect_url(url.as_str())
                .await
                .with_context(|| format!("connecting to NATS at {url}"))?,
        ),
        None => None,
    };
    let ingestor = Ingestor::new(
        store,
        layer_catalogue(args.layers.as_deref())?,
        SharedCatalog::default(),
    );
    let mut failures = 0;
    for path in &args.paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: no file name", path.display()))?;
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        match ingestor.ingest_bytes(name, bytes.into()).await {
            Ok(r) => {
                println!(
                    "{}: {} fields into layers {:?}",
                    path.display(),
                    r.fields_added,
                    r.layers
                );
                if let Some(client) = &nats {
                    announce(client, &r).await?;
                }
                for rejected in &r.rejected {
                    println!("  skipped {rejected}");
                }
            }
            Err(e) => {
                eprintln!("{}: rejected: {e}", path.display());
                failures += 1;
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} files rejected", args.paths.len());
    }
    Ok(())
}

/// Tells the farm's scheduler about a stored file (`wxfarm.ingest.<model>`).
pub(crate) async fn announce(
    client: &async_nats::Client,
    report: &scheduler::IngestReport,
) -> Result<()> {
    let model = report
        .models
        .iter()
        .next()
        .map_or("unknown", String::as_str);
    let event = protocol::events::IngestEvent::new(report.object_key.clone());
    let payload = protocol::codec::encode(&event)?;
    let subject = farm::subjects::ingest_subject(model);
    // A PRODUCER span: the scheduler's ingest, and the warming it causes,
    // continue (or link to) this trace.
    let span = tracing::info_span!(
        "announce file",
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.destination.name = %subject,
        object = %report.object_key,
    );
    let mut headers = async_nats::HeaderMap::new();
    farm::trace_context::inject_from(&span, &mut headers);
    async {
        client
            .publish_with_headers(subject, headers, payload.into())
            .await?;
        client.flush().await?;
        anyhow::Ok(())
    }
    .instrument(span)
    .await
}

/// Satellite scans in the sample data (5 minutes apart).
const DEMO_SCANS: u32 = 4;

pub fn demo_data(dir: &Path, run: Option<&str>, seed: u64, hours: u32) -> Result<()> {
    let run = match run {
        Some(r) => chrono::DateTime::parse_from_rfc3339(r)
            .with_context(|| format!("--run {r:?}"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .context("midnight")?
            .and_utc(),
    };
    let opts = demo::DemoOptions {
        run,
        seed,
        hours,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let report = demo::write_demo_data(dir, &opts)
        .with_context(|| format!("writing sample data to {}", dir.display()))?;
    // A satellite layer too: GOES-16-like infrared scans (NetCDF4).
    let scans = demo::satellite::write_scans(dir, &opts, DEMO_SCANS)
        .with_context(|| format!("writing sample satellite scans to {}", dir.display()))?;
    eprintln!(
        "wrote {} files ({} MB) to {} in {:.1} s",
        report.files.len() + scans.len(),
        report.total_bytes() >> 20,
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
