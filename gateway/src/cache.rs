//! L1: the in-process tile cache, bounded by bytes. Its entry API also
//! gives single-flight: concurrent misses for one key run one render.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use moka::future::Cache;
use protocol::TileSink;

/// In-process tile cache keyed by [`protocol::TileKey::cache_key`].
#[derive(Clone)]
pub struct TileCache {
    inner: Cache<String, Bytes>,
}

impl TileCache {
    /// A cache holding at most `max_bytes` of tiles, each for at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Bytes| (k.len() + v.len()).try_into().unwrap_or(u32::MAX))
            .time_to_live(ttl)
            .build();
        Self { inner }
    }

    /// Whether `key` is cached (without touching its recency).
    pub fn contains(&self, key: &str) -> bool {
        self.inner.contains_key(key)
    }

    pub async fn get(&self, key: &str) -> Option<Bytes> {
        self.inner.get(key).await
    }

    /// Returns the cached tile, or runs `render` once for all concurrent
    /// callers of the same key. The flag says whether this call rendered.
    pub async fn get_or_render<E, F>(
        &self,
        key: String,
        render: F,
    ) -> Result<(Bytes, bool), std::sync::Arc<E>>
    where
        F: Future<Output = Result<Bytes, E>>,
        E: Send + Sync + 'static,
    {
        let entry = self.inner.entry(key).or_try_insert_with(render).await?;
        let fresh = entry.is_fresh();
        Ok((entry.into_value(), fresh))
    }

    /// Bytes held now (approximate: moka applies writes lazily).
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Entries and bytes held, once pending writes are applied (for the
    /// admin statistics; costs more than the approximate readers).
    pub async fn usage(&self) -> (u64, u64) {
        self.inner.run_pending_tasks().await;
        (self.inner.entry_count(), self.inner.weighted_size())
    }
}

#[async_trait]
impl TileSink for TileCache {
    async fn put(&self, cache_key: &str, bytes: Bytes) {
        self.inner.insert(cache_key.to_owned(), bytes).await;
    }
}
