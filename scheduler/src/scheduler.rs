//! [`Scheduler`]: what happens when data arrives, the same in `wxfarm
//! serve` and in the farm's `wxfarm scheduler` role: ingest the file into
//! the catalog, publish the catalog where gateways read it, and queue
//! `warm` jobs for the low zooms of every new field.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use protocol::catalog::{DimensionQuery, FieldId, LayerKind};
use protocol::demand::DemandCounts;
use protocol::plan::{TileRequest, plan_tile};
use protocol::{
    Catalog, ImageFormat, Priority, RenderQueue, TileMatrixSetId, WarmObserver, WarmSource,
};

use crate::{IngestReport, Ingestor, ScanState};

/// Where the catalog goes after an ingest: the farm's NATS KV bucket. (In
/// `serve` the gateway shares the ingestor's catalog and needs none.)
#[async_trait]
pub trait CatalogPublisher: Send + Sync + 'static {
    /// Publishes `layers` of `catalog` (the ones an ingest touched).
    async fn publish(&self, catalog: &Catalog, layers: &[String]);
}

/// What to warm when a field arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmOptions {
    /// Warm WebMercatorQuad zooms 0..=N in the default style (`None`: no
    /// warming).
    pub max_zoom: Option<u8>,
}

impl Default for WarmOptions {
    fn default() -> Self {
        Self { max_zoom: Some(2) }
    }
}

/// Ingest, publish, warm: one loop for every deployment.
pub struct Scheduler {
    ingestor: Ingestor,
    queue: Arc<dyn RenderQueue>,
    publisher: Option<Arc<dyn CatalogPublisher>>,
    warm: WarmOptions,
    /// What users keep asking for, and how many of those positions to
    /// warm for each new field.
    hot: Option<(Arc<DemandCounts>, usize)>,
    /// Told of every tile warmed, to measure whether it was used.
    observer: Option<Arc<dyn WarmObserver>>,
    /// What scans have seen (sizes, times, failures).
    scans: Mutex<ScanState>,
}

impl Scheduler {
    pub fn new(
        ingestor: Ingestor,
        queue: Arc<dyn RenderQueue>,
        publisher: Option<Arc<dyn CatalogPublisher>>,
        warm: WarmOptions,
    ) -> Self {
        Self {
            ingestor,
            queue,
            publisher,
            warm,
            hot: None,
            observer: None,
            scans: Mutex::new(ScanState::default()),
        }
    }

    /// Tells `observer` of every tile this scheduler warms.
    pub fn with_warm_observer(mut self, observer: Arc<dyn WarmObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Also warms, for each new field, the `k` positions of its layer
    /// users asked for most (the hot set), as counted in `demand`.
    pub fn with_hot_set(mut self, demand: Arc<DemandCounts>, k: usize) -> Self {
        self.hot = (k > 0).then_some((demand, k));
        self
    }

    pub fn ingestor(&self) -> &Ingestor {
        &self.ingestor
    }

    /// Ingests one announced object, then publishes and warms its fields.
    pub async fn ingest(&self, key: &str) {
        match self.ingestor.ingest_object(key).await {
            Ok(report) => self.after_ingest(report).await,
            Err(e) => tracing::error!(error = %e, "file rejected"),
        }
    }

    /// Ingests every object of the store that is new or changed (see
    /// [`Ingestor::scan`]), then publishes and warms each.
    pub async fn scan(&self) {
        let mut state = std::mem::take(&mut *self.lock_scans());
        let reports = self.ingestor.scan(None, &mut state).await;
        *self.lock_scans() = state;
        for report in reports {
            self.after_ingest(report).await;
        }
    }

    /// Runs until `shutdown`: ingests each object key `events` announces,
    /// and scans the store every `poll` (if any).
    pub async fn run(
        &self,
        events: impl Stream<Item = String>,
        poll: Option<Duration>,
        shutdown: impl Future<Output = ()>,
    ) {
        let mut ticks =
            poll.map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
        tokio::pin!(events, shutdown);
        loop {
            let tick = async {
                match ticks.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(key) = events.next() => self.ingest(&key).await,
                () = tick => self.scan().await,
                () = &mut shutdown => return,
            }
        }
    }

    fn lock_scans(&self) -> std::sync::MutexGuard<'_, ScanState> {
        self.scans.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn after_ingest(&self, report: IngestReport) {
        tracing::info!(object = %report.object_key, fields = report.fields_added, layers = ?report.layers, rejected = report.rejected.len(), "ingested");
        let catalog = self.ingestor.catalog().snapshot();
        if let Some(p) = &self.publisher {
            let names: Vec<String> = report.layers.iter().cloned().collect();
            p.publish(&catalog, &names).await;
        }
        self.warm(&catalog, &report.fields);
    }

    /// Queues `warm` jobs for zooms 0..=N of each field, planned exactly as
    /// a gateway plans a default-style request; returns how many.
    pub fn warm(&self, catalog: &Catalog, fields: &[(String, FieldId)]) -> usize {
        let mut queued = 0;
        if let Some((demand, k)) = &self.hot {
            for (layer, id) in fields {
                let Some(entry) = catalog.layer(layer) else {
                    continue;
                };
                let dims = dims_of(entry.info.kind, id);
                for position in demand.top(layer, id.elevation.as_deref(), *k) {
                    let req = position.request(dims.clone());
                    queued += self.enqueue_warm(catalog, &req, WarmSource::HotSet);
                }
            }
        }
        let Some(max_zoom) = self.warm.max_zoom else {
            return queued;
        };
        let tms = TileMatrixSetId::WebMercatorQuad;
        for (layer, id) in fields {
            let Some(entry) = catalog.layer(layer) else {
                continue;
            };
            let dims = dims_of(entry.info.kind, id);
            for z in 0..=max_zoom.min(protocol::tms::MAX_ZOOM) {
                for y in 0..tms.matrix_height(z) {
                    for x in 0..tms.matrix_width(z) {
                        let req = TileRequest {
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
                        queued += self.enqueue_warm(catalog, &req, WarmSource::Static);
                    }
                }
            }
        }
        queued
    }

    /// Plans `req` at warm priority and queues it; 1 if queued.
    fn enqueue_warm(&self, catalog: &Catalog, req: &TileRequest, source: WarmSource) -> usize {
        let Ok((mut job, _)) = plan_tile(catalog, req) else {
            return 0;
        };
        job.priority = Priority::Warm;
        let key = self.observer.as_ref().map(|_| job.key.clone());
        let queued = self.queue.enqueue(job);
        if queued {
            metrics::counter!("wxfarm_warm_jobs_total", "source" => source.as_str()).increment(1);
            if let (Some(observer), Some(key)) = (&self.observer, key) {
                observer.queued(&key, source);
            }
        }
        usize::from(queued)
    }
}

/// The dimensions that name field `id` exactly.
fn dims_of(kind: LayerKind, id: &FieldId) -> DimensionQuery {
    match kind {
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
    }
}
