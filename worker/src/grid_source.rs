//! [`GridSource`]: a field's decoded grid, from the bounded LRU or fetched
//! by byte range from the object store and decoded on a blocking thread.

use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use moka::future::Cache;
use object_store::ObjectStore;
use object_store::path::Path;
use protocol::FieldRef;

use decode::decode_field;
use protocol::grid::Grid;

/// Why a field's grid could not be produced.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("fetching {key}: {message}")]
    Fetch { key: String, message: String },
    #[error("decoding {key}: {message}")]
    Decode { key: String, message: String },
}

/// Decoded grids by field, bounded by decoded bytes; concurrent requests
/// for one field share a single fetch and decode.
#[derive(Clone)]
pub struct GridSource {
    store: Arc<dyn ObjectStore>,
    grids: Cache<FieldRef, Arc<Grid>>,
    /// Lookups, and of them the ones that fetched and decoded.
    lookups: Arc<AtomicU64>,
    loads: Arc<AtomicU64>,
}

impl GridSource {
    /// A source reading `store`, keeping at most `max_bytes` of grids.
    pub fn new(store: Arc<dyn ObjectStore>, max_bytes: u64) -> Self {
        let grids = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &FieldRef, g: &Arc<Grid>| g.size_bytes().try_into().unwrap_or(u32::MAX))
            .build();
        Self {
            store,
            grids,
            lookups: Arc::default(),
            loads: Arc::default(),
        }
    }

    /// The decoded grid of `field`.
    pub async fn grid(&self, field: &FieldRef) -> Result<Arc<Grid>, SourceError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.grids
            .try_get_with_by_ref(field, self.load(field))
            .await
            .map_err(|e| (*e).clone())
    }

    /// Grids held and their decoded size in bytes.
    pub fn usage(&self) -> (u64, u64) {
        (self.grids.entry_count(), self.grids.weighted_size())
    }

    /// [`Self::usage`] once pending writes are applied (for statistics).
    pub async fn settled_usage(&self) -> (u64, u64) {
        self.grids.run_pending_tasks().await;
        self.usage()
    }

    /// Lookups so far, and how many of them fetched and decoded (misses).
    pub fn lookups(&self) -> (u64, u64) {
        (
            self.lookups.load(Ordering::Relaxed),
            self.loads.load(Ordering::Relaxed),
        )
    }

    async fn load(&self, field: &FieldRef) -> Result<Arc<Grid>, SourceError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        let key = field.object_key.clone();
        let fetch_err = |message: String| SourceError::Fetch {
            key: key.clone(),
            message,
        };
        let path = Path::parse(&field.object_key).map_err(|e| fetch_err(e.to_string()))?;
        let range = field.offset..field.offset + field.length;
        let bytes = self
            .store
            .get_range(&path, range)
            .await
            .map_err(|e| fetch_err(e.to_string()))?;
        let submessage = field.submessage as usize;
        let grid = tokio::task::spawn_blocking(move || decode_field(&bytes, submessage))
            .await
            .map_err(|e| SourceError::Decode {
                key: key.clone(),
                message: e.to_string(),
            })?
            .map_err(|e| SourceError::Decode {
                key: key.clone(),
                message: e.to_string(),
            })?;
        Ok(Arc::new(grid))
    }
}
