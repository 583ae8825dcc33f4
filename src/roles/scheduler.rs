//! `wxfarm scheduler`: the shared [`Scheduler`] wired to the farm: ingest
//! events from NATS, the catalog published to NATS KV, warming jobs on
//! JetStream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use futures::StreamExt;
use protocol::catalog::SharedCatalog;
use scheduler::{CatalogPublisher, Ingestor, Scheduler, WarmOptions};

use protocol::events::IngestEvent;

use super::FarmArgs;
use crate::store::StoreArgs;

#[derive(Args)]
pub struct SchedulerArgs {
    #[command(flatten)]
    farm: FarmArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Extra layer catalogue (TOML), merged over the built-in one.
    #[arg(long)]
    layers: Option<std::path::PathBuf>,
    /// How often to look for files dropped into the store (seconds; 0: never).
    #[arg(long, default_value_t = 30)]
    poll_secs: u64,
    /// Warm zooms 0..=N of every new field, instead of the zooms of the
    /// layer catalogue's `[[warm]]` rules (default z0-3); -1: no warming.
    #[arg(long, env = "WXFARM_WARM_MAX_ZOOM", allow_negative_numbers = true)]
    warm_max_zoom: Option<i8>,
    /// Where to serve /metrics and /healthz.
    #[arg(long, default_value = "127.0.0.1:9092", env = "WXFARM_METRICS_LISTEN")]
    metrics_listen: SocketAddr,
    #[command(flatten)]
    demand: super::DemandArgs,
    #[command(flatten)]
    budget: super::WarmBudgetArgs,
    #[command(flatten)]
    follow: crate::pull::follow::FollowArgs,
}

/// The farm's catalog publisher: the NATS KV bucket gateways watch.
struct KvPublisher(async_nats::jetstream::kv::Store);

#[async_trait::async_trait]
impl CatalogPublisher for KvPublisher {
    async fn publish(&self, catalog: &protocol::Catalog, layers: &[String]) {
        if let Err(e) = farm::catalog_kv::publish(&self.0, catalog, Some(layers)).await {
            tracing::error!(error = %e, "publishing the catalog failed");
        }
    }
}

pub async fn run(args: SchedulerArgs) -> Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    let config = args.farm.config()?;
    let (client, js) = super::connect(&config).await?;
    let (kv, loaded) = super::open_catalog(&js).await?;
    let catalog = SharedCatalog::new(loaded);
    let layers = crate::serve::layer_catalogue(args.layers.as_deref())?;
    let store = args.store.open()?;
    let ingestor = Ingestor::new(store.clone(), layers, catalog);
    let queue = super::retry_startup("the job queue", || async {
        farm::JetStreamQueue::new(client.clone(), config.clone())
            .await
            .context("job queue")
    })
    .await?;
    super::stats::spawn_queue_depth(js.clone());
    let mut scheduler = Scheduler::new(
        ingestor,
        Arc::new(queue),
        Some(Arc::new(KvPublisher(kv))),
        WarmOptions::from_max_zoom(args.warm_max_zoom),
    );
    // Gateways report their users' render latency with their counts every
    // few seconds (5 by default): remember each report for three periods.
    let budget = args.budget.budget(Duration::from_secs(15));
    // What became of the tiles warmed here, from what gateways served.
    let ledger = Arc::new(gateway::warm_ledger::WarmLedger::default());
    scheduler = scheduler
        .with_budget(budget.clone())
        .with_warm_observer(ledger.clone());
    // Gateways' request counts, farm-wide, for the hot set (when on), and
    // their reports, always.
    let counts = args.demand.counts();
    if let Some(counts) = &counts {
        scheduler = scheduler.with_hot_set(counts.clone(), args.demand.hot_set);
    }
    let (client_in, key) = (client.clone(), config.signing_key.clone());
    tokio::spawn(async move {
        let on_report = move |report: farm::demand::GatewayReport| {
            if let Some(latency) = report.interactive_latency {
                budget.observe_interactive(latency);
            }
            ledger.viewed(&report.l2_views, report.misses);
        };
        if let Err(e) = farm::demand::receive(client_in, key, counts, on_report).await {
            tracing::error!(error = %e, "demand counts: not receiving");
        }
    });
    super::spawn_metrics(args.metrics_listen, metrics).await?;

    let events = client
        .subscribe(farm::subjects::ingest_subject("*"))
        .await
        .context("subscribing to ingest events")?
        .filter_map(|msg| async move {
            match protocol::codec::decode::<IngestEvent>(&msg.payload) {
                Ok(event) => {
                    // A CONSUMER span continuing the announcement's trace
                    // (`wxfarm ingest` sends one).
                    let span = tracing::info_span!(
                        "ingest event",
                        otel.kind = "consumer",
                        messaging.system = "nats",
                        messaging.operation.type = "process",
                        messaging.destination.name = %msg.subject,
                    );
                    farm::trace_context::continue_in(&span, msg.headers.as_ref());
                    Some((event.object_key, span))
                }
                Err(e) => {
                    tracing::warn!(error = %e, subject = %msg.subject, "undecodable ingest event");
                    None
                }
            }
        });
    let scheduler = Arc::new(scheduler);
    scheduler.scan().await;
    // Keeping current from NOAA, and pulling what the gateways' webhook
    // names (the scheduler has no public HTTP port).
    if let Some(following) = crate::pull::follow::start(&args.follow, scheduler.clone(), store)? {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = super::pull_notify::consume(client, following).await {
                tracing::error!(error = %e, "pull notices: not receiving");
            }
        });
    }
    tracing::info!(store = %args.store.describe(), "scheduler ready");
    println!("scheduler ready");
    let poll = (args.poll_secs > 0).then(|| Duration::from_secs(args.poll_secs));
    scheduler.run(events, poll, crate::shutdown::signal()).await;
    Ok(())
}
