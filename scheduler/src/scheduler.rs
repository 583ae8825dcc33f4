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
use protocol::warm_budget::WarmBudget;
use protocol::{
    Catalog, ImageFormat, Priority, RenderJob, RenderQueue, TileMatrixSetId, WarmObserver,
    WarmSource,
};
use tracing::Instrument as _;

use crate::hot_set::{HotSetPolicy, HotSetSizer, Resize};
use crate::warm_feed::WarmFeed;
use crate::{IngestReport, Ingestor, ScanState};

/// Where the catalog goes after an ingest: the farm's NATS KV bucket. (In
/// `serve` the gateway shares the ingestor's catalog and needs none.)
#[async_trait]
pub trait CatalogPublisher: Send + Sync + 'static {
    /// Publishes `layers` of `catalog` (the ones an ingest touched).
    async fn publish(&self, catalog: &Catalog, layers: &[String]);
}

/// What to warm when a field arrives: its static pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WarmOptions {
    /// The layer catalogue's `[[warm]]` rules (zooms, styles, tile matrix
    /// sets per layer).
    #[default]
    Rules,
    /// The rules' styles and tile matrix sets at zooms 0..=N for every layer.
    MaxZoom(u8),
    /// No static warming (the hot set still warms).
    Off,
}

impl WarmOptions {
    /// From a `--warm-max-zoom` flag: none = the rules, negative = off.
    pub fn from_max_zoom(flag: Option<i8>) -> Self {
        match flag {
            None => Self::Rules,
            Some(z) => u8::try_from(z).map_or(Self::Off, Self::MaxZoom),
        }
    }
}

/// Static tiles one field may warm, at most (z0-8 of one style is 87,381):
/// a rule asking for more is cut to the zooms that fit, with a warning.
const MAX_STATIC_TILES_PER_FIELD: u64 = 100_000;

/// Ingest, publish, warm: one loop for every deployment.
pub struct Scheduler {
    ingestor: Ingestor,
    publisher: Option<Arc<dyn CatalogPublisher>>,
    warm: WarmOptions,
    /// What users keep asking for, and how many of those positions to
    /// warm for each new field (resized by how well it did).
    hot: Option<(Arc<DemandCounts>, Mutex<HotSetSizer>)>,
    /// Where warm jobs go, paced by the budget.
    feed: WarmFeed,
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
            publisher,
            warm,
            hot: None,
            feed: WarmFeed::new(queue),
            scans: Mutex::new(ScanState::default()),
        }
    }

    /// Tells `observer` of every tile this scheduler warms. When it also
    /// sees the requests ([`WarmObserver::outcomes`]), the hot set is
    /// resized by its precision and recall.
    pub fn with_warm_observer(mut self, observer: Arc<dyn WarmObserver>) -> Self {
        self.feed.observer = Some(observer);
        self
    }

    /// Queues warm jobs only as `budget` allows (jobs per second, paused
    /// while users' renders are slow); the rest wait, bounded.
    pub fn with_budget(mut self, budget: Arc<WarmBudget>) -> Self {
        self.feed.budget = Some(budget);
        self
    }

    /// Also warms, for each new field, the `k` positions of its layer
    /// users asked for most (the hot set), as counted in `demand`.
    pub fn with_hot_set(mut self, demand: Arc<DemandCounts>, k: usize) -> Self {
        metrics::gauge!("wxfarm_hot_set_size").set(k as f64);
        self.hot = (k > 0).then(|| {
            (
                demand,
                Mutex::new(HotSetSizer::new(k, HotSetPolicy::default())),
            )
        });
        self
    }

    pub fn ingestor(&self) -> &Ingestor {
        &self.ingestor
    }

    /// Ingests one announced object, then publishes and warms its fields
    /// (in an `ingest` span, a child of the current one).
    pub async fn ingest(&self, key: &str) {
        let span = tracing::info_span!("ingest", object = %key, fields = tracing::field::Empty);
        async {
            match self.ingestor.ingest_object(key).await {
                Ok(report) => self.after_ingest(report).await,
                Err(e) => tracing::error!(error = %e, "file rejected"),
            }
        }
        .instrument(span)
        .await
    }

    /// Ingests every object of the store that is new or changed (see
    /// [`Ingestor::scan`]), then publishes and warms each.
    pub async fn scan(&self) {
        let mut state = std::mem::take(&mut *self.lock_scans());
        let reports = self.ingestor.scan(None, &mut state).await;
        *self.lock_scans() = state;
        for report in reports {
            let span = tracing::info_span!(
                parent: None,
                "ingest",
                object = %report.object_key,
                fields = tracing::field::Empty,
            );
            self.after_ingest(report).instrument(span).await;
        }
    }

    /// Runs until `shutdown`: ingests each object key `events` announces
    /// (each in the span given with it: the announcement's trace), and
    /// scans the store every `poll` (if any).
    pub async fn run(
        &self,
        events: impl Stream<Item = (String, tracing::Span)>,
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
                Some((key, span)) = events.next() => self.ingest(&key).instrument(span).await,
                () = tick => self.scan().await,
                () = &mut shutdown => return,
            }
        }
    }

    fn lock_scans(&self) -> std::sync::MutexGuard<'_, ScanState> {
        self.scans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes and warms the fields of a file ingested elsewhere (e.g.
    /// by `wxfarm pull` through [`Scheduler::ingestor`]).
    pub async fn ingested(&self, report: IngestReport) {
        self.after_ingest(report).await
    }

    /// Publishes `layers` of the catalog as they are now (e.g. after
    /// retention removed fields), where there is a publisher.
    pub async fn publish(&self, layers: &[String]) {
        if let Some(p) = &self.publisher {
            p.publish(&self.ingestor.catalog().snapshot(), layers).await;
        }
    }

    async fn after_ingest(&self, report: IngestReport) {
        tracing::Span::current().record("fields", report.fields_added);
        tracing::info!(object = %report.object_key, fields = report.fields_added, layers = ?report.layers, rejected = report.rejected.len(), "ingested");
        let catalog = self.ingestor.catalog().snapshot();
        if let Some(p) = &self.publisher {
            let names: Vec<String> = report.layers.iter().cloned().collect();
            p.publish(&catalog, &names).await;
        }
        self.warm(&catalog, &report.fields);
    }

    /// Warms each field: the hot set, then the static pyramid its layer's
    /// warm rule names, planned exactly as a gateway plans the request. Returns how many jobs were
    /// queued at once (the rest wait for the budget or the queue).
    pub fn warm(&self, catalog: &Catalog, fields: &[(String, FieldId)]) -> usize {
        let mut jobs = Vec::new();
        if let Some((demand, sizer)) = &self.hot {
            let k = self.hot_set_size(sizer);
            for (layer, id) in fields {
                let Some(entry) = catalog.layer(layer) else {
                    continue;
                };
                let dims = dims_of(entry.info.kind, id);
                for position in demand.top(layer, id.elevation.as_deref(), k) {
                    let req = position.request(dims.clone());
                    jobs.extend(plan_warm(catalog, &req, WarmSource::HotSet));
                }
            }
        }
        for (layer, id) in fields {
            let Some(entry) = catalog.layer(layer) else {
                continue;
            };
            let Some(rule) = self.ingestor.layers().warm_rule(layer) else {
                continue;
            };
            let zooms = match self.warm {
                WarmOptions::Rules => rule.zooms,
                WarmOptions::MaxZoom(n) => (0, n),
                WarmOptions::Off => continue,
            };
            let dims = dims_of(entry.info.kind, id);
            if !plan_pyramid(catalog, layer, rule, zooms, &dims, &mut jobs) {
                tracing::warn!(
                    layer,
                    planned = jobs.len(),
                    "warming plans at most {MAX_PLANNED} jobs at once: the rest of these fields are not warmed"
                );
                break;
            }
        }
        self.feed.feed(jobs)
    }

    /// The hot set's size, first resized by what its tiles' outcomes say.
    fn hot_set_size(&self, sizer: &Mutex<HotSetSizer>) -> usize {
        let mut sizer = sizer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(outcomes) = self.feed.observer.as_ref().and_then(|o| o.outcomes()) else {
            return sizer.size();
        };
        let before = sizer.size();
        let resize = sizer.adjust(outcomes);
        let (direction, precision, recall, why) = match resize {
            Resize::Undecided => return before,
            Resize::Kept { precision, recall } => ("kept", precision, recall, "within bounds"),
            Resize::Shrunk {
                precision, recall, ..
            } => (
                "shrunk",
                precision,
                recall,
                "too few of its tiles were asked for",
            ),
            Resize::Grew {
                precision, recall, ..
            } => (
                "grown",
                precision,
                recall,
                "its tiles are used and users still miss",
            ),
        };
        let after = sizer.size();
        if after == before {
            tracing::debug!(size = after, precision, recall, "hot set kept: {why}");
        } else {
            tracing::info!(
                from = before,
                to = after,
                precision,
                recall,
                "hot set {direction}: {why}"
            );
        }
        metrics::counter!("wxfarm_hot_set_resizes_total", "decision" => direction).increment(1);
        metrics::gauge!("wxfarm_hot_set_size").set(sizer.size() as f64);
        sizer.size()
    }
}

/// Warm jobs one `warm` call plans at most: the feed's backlog bound, so a
/// file with many fields under a deep rule cannot plan without limit.
const MAX_PLANNED: usize = crate::warm_feed::MAX_BACKLOG;

/// Plans the static pyramid of one field (`rule`'s styles and tile matrix
/// sets at `zooms`) into `jobs`; false once `jobs` holds [`MAX_PLANNED`].
fn plan_pyramid(
    catalog: &Catalog,
    layer: &str,
    rule: &protocol::layers::WarmRule,
    zooms: (u8, u8),
    dims: &DimensionQuery,
    jobs: &mut Vec<(RenderJob, WarmSource)>,
) -> bool {
    for &tms in &rule.tms {
        let (z0, z1) = bounded_zooms(layer, zooms, tms, rule.styles.len());
        for style in &rule.styles {
            for z in z0..=z1 {
                for (x, y) in (0..tms.matrix_height(z))
                    .flat_map(|y| (0..tms.matrix_width(z)).map(move |x| (x, y)))
                {
                    if jobs.len() >= MAX_PLANNED {
                        return false;
                    }
                    let req = TileRequest {
                        layer: layer.to_owned(),
                        style: style.clone(),
                        tms,
                        z: z.into(),
                        x,
                        y,
                        tile_size: 256,
                        format: ImageFormat::Png,
                        dims: dims.clone(),
                        style_params: Default::default(),
                    };
                    jobs.extend(plan_warm(catalog, &req, WarmSource::Static));
                }
            }
        }
    }
    true
}

/// `zooms` cut to the tile matrix set's deepest level and to what fits
/// [`MAX_STATIC_TILES_PER_FIELD`] with `styles` styles.
fn bounded_zooms(layer: &str, (z0, z1): (u8, u8), tms: TileMatrixSetId, styles: usize) -> (u8, u8) {
    let z1 = z1.min(protocol::tms::MAX_ZOOM);
    let mut tiles = 0u64;
    for z in z0..=z1 {
        let level = u64::from(tms.matrix_width(z)) * u64::from(tms.matrix_height(z));
        tiles += level * styles as u64;
        if tiles > MAX_STATIC_TILES_PER_FIELD {
            tracing::warn!(layer, zooms = ?(z0, z1), tms = tms.as_str(), "warm rule asks for too many tiles per field: warming up to zoom {}", z.saturating_sub(1));
            return (z0, z.saturating_sub(1));
        }
    }
    (z0, z1)
}

/// Plans `req` as a warm job.
fn plan_warm(
    catalog: &Catalog,
    req: &TileRequest,
    source: WarmSource,
) -> Option<(RenderJob, WarmSource)> {
    let (mut job, _) = plan_tile(catalog, req).ok()?;
    job.priority = Priority::Warm;
    Some((job, source))
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
