//! The seam between "a tile is needed" and "a worker draws it": the
//! embedded `serve` uses an in-process queue, the farm NATS JetStream.

use async_trait::async_trait;
use bytes::Bytes;

use crate::{RenderError, RenderJob};

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
