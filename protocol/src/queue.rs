//! The seam between "a tile is needed" and "a worker draws it": the
//! embedded `serve` uses an in-process queue, the farm NATS JetStream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use crate::{FieldRef, RenderError, RenderJob};

/// A field's value at a point, and the grid point nearest to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointSample {
    /// Bilinearly interpolated value in the data's units; `None` where the
    /// point is outside the grid or the data is missing.
    pub value: Option<f32>,
    /// Longitude and latitude of the nearest grid point.
    pub grid_lon: f64,
    pub grid_lat: f64,
}

/// Submits render jobs and awaits their encoded tile.
///
/// Implementations bound their queues: when full they fail fast with
/// [`RenderError::Overloaded`] rather than buffer without limit.
#[async_trait]
pub trait RenderQueue: Send + Sync + 'static {
    /// Renders `job`, returning the encoded image.
    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError>;

    /// Queues `job` without waiting for it (prefetch and warming).
    /// Returns `false` when it was dropped because the queue is full.
    fn enqueue(&self, job: RenderJob) -> bool;

    /// Jobs waiting per priority (interactive, prefetch, warm), when the
    /// queue can tell.
    fn depths(&self) -> Option<[usize; 3]> {
        None
    }

    /// Whether renders can be submitted now (for readiness probes): `Err`
    /// says why not. An in-process queue is always ready.
    fn ready(&self) -> Result<(), String> {
        Ok(())
    }

    /// Reads each field's value at (lon, lat), for feature info. Workers
    /// hold the grids, so this goes where renders go.
    async fn sample(
        &self,
        fields: Vec<FieldRef>,
        lon: f64,
        lat: f64,
    ) -> Result<Vec<PointSample>, RenderError> {
        let _ = (fields, lon, lat);
        Err(RenderError::Invalid(
            "point queries are not available on this queue".into(),
        ))
    }
}

/// Where rendered tiles are stored for later requests: the gateway's
/// in-process cache when embedded, Redis in the farm. Jobs queued without a
/// waiting client (prefetch, warming) are useful only through it.
#[async_trait]
pub trait TileSink: Send + Sync + 'static {
    /// Stores `bytes` under the tile's cache key.
    async fn put(&self, cache_key: &str, bytes: Bytes);
}

/// A shared tile cache (L2, Redis in the farm) that can also be read.
#[async_trait]
pub trait TileStore: TileSink {
    /// The stored tile, `Ok(None)` when absent, `Err` when the store is
    /// unreachable (callers then carry on without it).
    async fn get(&self, cache_key: &str) -> Result<Option<Bytes>, String>;
}

/// Tells a running render that nobody waits for it any more (its request
/// timed out or its client left). Renders look at it between stages and
/// stop with [`RenderError::Cancelled`]: CPU goes to requests that still
/// want an answer. Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag, for every clone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once set: `cancel.check()?` at a stage boundary.
    pub fn check(&self) -> Result<(), RenderError> {
        if self.is_cancelled() {
            Err(RenderError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Something that turns a job into tile bytes: the worker's
/// `RenderService`, driven by the embedded queue or the farm's job loop.
#[async_trait]
pub trait Renderer: Send + Sync + 'static {
    /// Renders `job`, stopping early once `cancel` is set.
    async fn render(&self, job: &RenderJob, cancel: &Cancel) -> Result<Bytes, RenderError>;

    /// Each field's value at a point (see [`RenderQueue::sample`]).
    async fn sample(
        &self,
        fields: &[FieldRef],
        lon: f64,
        lat: f64,
    ) -> Result<Vec<PointSample>, RenderError> {
        let _ = (fields, lon, lat);
        Err(RenderError::Invalid(
            "point queries are not supported".into(),
        ))
    }
}

/// Why a tile was rendered before anyone asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarmSource {
    /// The low zooms of a new field.
    Static,
    /// The positions users ask for most ([`crate::demand`]).
    HotSet,
    /// The neighbours of a missed tile.
    Spatial,
    /// The next time steps of an animated tile.
    Temporal,
}

impl WarmSource {
    pub const ALL: [WarmSource; 4] = [Self::Static, Self::HotSet, Self::Spatial, Self::Temporal];

    /// Position in [`Self::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::Static => 0,
            Self::HotSet => 1,
            Self::Spatial => 2,
            Self::Temporal => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::HotSet => "hot_set",
            Self::Spatial => "spatial",
            Self::Temporal => "temporal",
        }
    }
}

/// Told of every tile queued ahead of demand, so that whether it was then
/// asked for (warming's precision) can be measured.
pub trait WarmObserver: Send + Sync + 'static {
    fn queued(&self, key: &crate::TileKey, source: WarmSource);

    /// What became of the tiles queued so far (cumulative), when this
    /// observer also sees the requests: the hot set is resized from it.
    fn outcomes(&self) -> Option<WarmOutcomes> {
        None
    }
}

/// What became of tiles queued ahead of demand, counted from the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarmOutcomes {
    /// Per source (in [`WarmSource::ALL`] order): asked for while remembered.
    pub used: [u64; 4],
    /// Per source: forgotten without being asked for (expired or pushed out).
    pub wasted: [u64; 4],
    /// Tile requests that found nothing ready and had to render.
    pub misses: u64,
}

impl WarmOutcomes {
    pub fn used(&self, source: WarmSource) -> u64 {
        self.used[source.index()]
    }

    pub fn wasted(&self, source: WarmSource) -> u64 {
        self.wasted[source.index()]
    }

    /// Uses of every source.
    pub fn used_total(&self) -> u64 {
        self.used.iter().sum()
    }
}
