//! `wxfarm scheduler`: indexes new files (on ingest events, and by polling
//! the store), publishes the catalog to NATS KV, and queues warming jobs
//! for the low zooms of new fields.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use futures::StreamExt;
use protocol::catalog::{DimensionQuery, FieldId, LayerKind, SharedCatalog};
use protocol::{ImageFormat, Priority, RenderQueue, TileMatrixSetId};
use scheduler::{IngestReport, Ingestor};

use super::{FarmArgs, IngestEvent};
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
    /// Warm WebMercatorQuad zooms 0..=N of every new field (-1: no warming).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true)]
    warm_max_zoom: i8,
    #[arg(long, default_value = "127.0.0.1:9092", env = "WXFARM_METRICS_LISTEN")]
    metrics_listen: SocketAddr,
}

struct Scheduler {
    ingestor: Ingestor,
    kv: async_nats::jetstream::kv::Store,
    queue: farm::JetStreamQueue,
    warm_max_zoom: i8,
}

pub async fn run(args: SchedulerArgs) -> Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    let config = args.farm.config()?;
    let (client, js) = super::connect(&config).await?;
    let kv = farm::catalog_kv::open(&js)
        .await
        .context("catalog bucket")?;
    let catalog = SharedCatalog::new(
        farm::catalog_kv::load(&kv)
            .await
            .context("loading the catalog")?,
    );
    let layers = crate::serve::layer_catalogue(args.layers.as_deref())?;
    let ingestor = Ingestor::new(args.store.open()?, layers, catalog);
    let queue = farm::JetStreamQueue::new(client.clone(), config.clone())
        .await
        .context("job queue")?;
    let this = Arc::new(Scheduler {
        ingestor,
        kv,
        queue,
        warm_max_zoom: args.warm_max_zoom,
    });
    tokio::spawn(super::serve_metrics(args.metrics_listen, metrics));

    let mut events = client
        .subscribe(farm::subjects::ingest_subject("*"))
        .await
        .context("subscribing to ingest events")?;
    let mut failed = BTreeSet::new();
    this.scan(&mut failed).await;
    tracing::info!(store = %args.store.describe(), "scheduler ready");
    println!("scheduler ready");
    let mut poll = tokio::time::interval(Duration::from_secs(args.poll_secs.max(1)));
    poll.tick().await;
    loop {
        tokio::select! {
            Some(msg) = events.next() => match protocol::codec::decode::<IngestEvent>(&msg.payload) {
                Ok(event) => this.ingest(&event.object_key).await,
                Err(e) => tracing::warn!(error = %e, subject = %msg.subject, "undecodable ingest event"),
            },
            _ = poll.tick(), if args.poll_secs > 0 => this.scan(&mut failed).await,
            _ = crate::shutdown::signal() => return Ok(()),
        }
    }
}

impl Scheduler {
    async fn ingest(&self, key: &str) {
        match self.ingestor.ingest_object(key).await {
            Ok(report) => self.publish(report).await,
            Err(e) => tracing::error!(error = %e, "file rejected"),
        }
    }

    async fn scan(&self, failed: &mut BTreeSet<String>) {
        for report in self.ingestor.scan(None, failed).await {
            self.publish(report).await;
        }
    }

    /// Publishes the layers a file touched, then warms its fields.
    async fn publish(&self, report: IngestReport) {
        tracing::info!(object = %report.object_key, fields = report.fields_added, layers = ?report.layers, rejected = report.rejected.len(), "ingested");
        let names: Vec<String> = report.layers.iter().cloned().collect();
        let catalog = self.ingestor.catalog().snapshot();
        if let Err(e) = farm::catalog_kv::publish(&self.kv, &catalog, Some(&names)).await {
            tracing::error!(error = %e, "publishing the catalog failed");
        }
        if self.warm_max_zoom >= 0 {
            let queued = self.warm(&catalog, &report.fields);
            metrics::counter!("wxfarm_warm_jobs_total").increment(queued as u64);
        }
    }

    /// Queues `warm` jobs for zooms 0..=N of each field, with the keys a
    /// gateway computes for default-style requests.
    fn warm(&self, catalog: &protocol::Catalog, fields: &[(String, FieldId)]) -> usize {
        let tms = TileMatrixSetId::WebMercatorQuad;
        let mut queued = 0;
        for (layer, id) in fields {
            let Some(entry) = catalog.layer(layer) else {
                continue;
            };
            let dims = match entry.info.kind {
                LayerKind::Observation => DimensionQuery {
                    time: Some(id.valid),
                    elevation: id.elevation.clone(),
                    ..Default::default()
                },
                LayerKind::Model => DimensionQuery {
                    run: Some(id.run),
                    forecast_hours: Some((id.valid - id.run).num_seconds() as f64 / 3600.0),
                    elevation: id.elevation.clone(),
                    ..Default::default()
                },
            };
            for z in 0..=self.warm_max_zoom as u8 {
                for y in 0..tms.matrix_height(z) {
                    for x in 0..tms.matrix_width(z) {
                        let req = gateway::tiles::TileRequest {
                            layer: layer.clone(),
                            style: "gradient".into(),
                            tms,
                            z: z.into(),
                            x,
                            y,
                            tile_size: 256,
                            format: ImageFormat::Png,
                            dims: dims.clone(),
                            style_params: Default::default(),
                        };
                        let Ok((mut job, _)) = gateway::tiles::plan_in(catalog, &req) else {
                            continue;
                        };
                        job.priority = Priority::Warm;
                        queued += usize::from(self.queue.enqueue(job));
                    }
                }
            }
        }
        queued
    }
}
