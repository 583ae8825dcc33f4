//! L1: the in-process tile cache, bounded by bytes. Its entry API also
//! gives single-flight: concurrent misses for one key run one render.
//! An entry carries what a hit answers with besides the bytes (the ETag),
//! computed once when the tile is stored, not on every hit, and its
//! [`TileLife`]: whether it is still held, which the hit memo
//! ([`crate::memo`]) checks instead of looking the key up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::HeaderValue;
use bytes::Bytes;
use moka::future::Cache;
use protocol::TileSink;

/// The keys' hasher: keys are ours (built from a validated request), so
/// a fast non-cryptographic hash is enough (moka's default is SipHash);
/// the seed is still random per process.
type KeyHasher = foldhash::fast::RandomState;

/// A cached tile: its bytes (shared, never copied per response), its
/// strong validator and its life in the cache.
#[derive(Debug, Clone)]
pub struct CachedTile {
    pub bytes: Bytes,
    /// The `ETag` header's value ([`crate::tiles::etag_of`] of the key).
    pub etag: HeaderValue,
    /// Shared by every copy of this entry: cleared when L1 drops it.
    pub life: Arc<TileLife>,
}

/// Whether one L1 entry is still held: cleared by the cache's eviction
/// listener (evicted, replaced, invalidated, expired), and bounded by the
/// entry's time to live, since the cache removes expired entries lazily.
#[derive(Debug)]
pub struct TileLife {
    held: AtomicBool,
    expires: Instant,
}

impl TileLife {
    /// Whether the entry is still in L1 at `now`.
    pub fn is_held(&self, now: Instant) -> bool {
        now < self.expires && self.held.load(Ordering::Acquire)
    }
}

impl CachedTile {
    /// The entry for `bytes` stored under `cache_key` for at most `ttl`.
    pub fn new(cache_key: &str, bytes: Bytes, ttl: Duration) -> Self {
        let etag = HeaderValue::from_maybe_shared(Bytes::from(crate::tiles::etag_of(cache_key)))
            // A hex number in quotes is always a valid header value.
            .unwrap_or(HeaderValue::from_static("\"0\""));
        // Made before the cache stores it, so this ends no later than the
        // cache's own time to live.
        let now = Instant::now();
        let life = Arc::new(TileLife {
            held: AtomicBool::new(true),
            // An unrepresentable end (a test's "forever"): thirty years.
            expires: now
                .checked_add(ttl)
                .or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 86_400)))
                .unwrap_or(now),
        });
        Self { bytes, etag, life }
    }
}

/// In-process tile cache keyed by [`protocol::TileKey::cache_key`].
/// Cloned with the handlers' state on every request: one reference count
/// behind an `Arc`, where a moka handle holds a dozen.
#[derive(Clone)]
pub struct TileCache {
    inner: Arc<Cache<String, CachedTile, KeyHasher>>,
    ttl: Duration,
}

impl TileCache {
    /// A cache holding at most `max_bytes` of tiles, each for at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &CachedTile| {
                (k.len() + v.bytes.len()).try_into().unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            // Every removal, whatever its cause, ends the entry's life.
            .eviction_listener(|_, tile: CachedTile, _| {
                tile.life.held.store(false, Ordering::Release)
            })
            .build_with_hasher(KeyHasher::default());
        Self {
            inner: Arc::new(inner),
            ttl,
        }
    }

    /// Whether `key` is cached (without touching its recency).
    pub fn contains(&self, key: &str) -> bool {
        self.inner.contains_key(key)
    }

    /// The cached tile, if any (a hit counts towards its recency).
    pub async fn get(&self, key: &str) -> Option<CachedTile> {
        self.inner.get(key).await
    }

    /// Counts a read of `key` towards its recency, as a hit would (for
    /// hits answered without looking the key up: [`crate::memo`]).
    pub async fn touch(&self, key: &str) {
        let _ = self.inner.get(key).await;
    }

    /// Returns the cached tile, or runs `render` once for all concurrent
    /// callers of the same key. The flag says whether this call rendered.
    pub async fn get_or_render<E, F>(
        &self,
        key: String,
        render: F,
    ) -> Result<(CachedTile, bool), std::sync::Arc<E>>
    where
        F: Future<Output = Result<Bytes, E>>,
        E: Send + Sync + 'static,
    {
        let etag_key = key.clone();
        let ttl = self.ttl;
        let render = async move { render.await.map(|b| CachedTile::new(&etag_key, b, ttl)) };
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
        self.inner
            .insert(
                cache_key.to_owned(),
                CachedTile::new(cache_key, bytes, self.ttl),
            )
            .await;
    }
}
