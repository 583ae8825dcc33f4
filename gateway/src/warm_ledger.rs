//! Whether tiles rendered ahead of demand were then asked for: the
//! precision of each kind of warming and prefetch. Every tile queued ahead
//! is remembered (bounded, for an hour) with its [`WarmSource`]; the first
//! request for it counts as a use. Precision is used ÷ queued per source;
//! recall, the share of tiles users needed that were ready, is used ÷
//! (used + misses). Both are exported (`wxfarm_warm_queued_total`,
//! `wxfarm_warm_used_total`) and shown by `wxfarm warm --stats`.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use protocol::{TileKey, WarmObserver, WarmSource};
use serde::{Deserialize, Serialize};

/// Tiles remembered at most.
const CAPACITY: u64 = 500_000;
/// How long a warmed tile may wait for its first request to count.
const WINDOW: Duration = Duration::from_secs(3600);

/// The ledger of tiles queued ahead of demand.
pub struct WarmLedger {
    pending: Cache<u64, WarmSource>,
    queued: [AtomicU64; 4],
    used: [AtomicU64; 4],
}

/// Counts for one source, for `wxfarm warm --stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmCounts {
    pub source: String,
    pub queued: u64,
    pub used: u64,
}

impl Default for WarmLedger {
    fn default() -> Self {
        for source in WarmSource::ALL {
            metrics::counter!("wxfarm_warm_queued_total", "source" => source.as_str()).absolute(0);
            metrics::counter!("wxfarm_warm_used_total", "source" => source.as_str()).absolute(0);
        }
        Self {
            pending: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(WINDOW)
                .build(),
            queued: Default::default(),
            used: Default::default(),
        }
    }
}

/// An in-process identity of a tile: a hash of its key, without building
/// the cache-key string (this runs on every tile request).
fn id(key: &TileKey) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

fn index(source: WarmSource) -> usize {
    WarmSource::ALL
        .iter()
        .position(|s| *s == source)
        .unwrap_or(0)
}

impl WarmLedger {
    /// Counts a request for `cache_key`: a use, if it was queued ahead and
    /// not asked for since.
    pub fn asked(&self, key: &TileKey) {
        if let Some(source) = self.pending.remove(&id(key)) {
            self.used[index(source)].fetch_add(1, Ordering::Relaxed);
            metrics::counter!("wxfarm_warm_used_total", "source" => source.as_str()).increment(1);
        }
    }

    /// Queued and used per source.
    pub fn counts(&self) -> Vec<WarmCounts> {
        WarmSource::ALL
            .iter()
            .map(|&s| WarmCounts {
                source: s.as_str().to_owned(),
                queued: self.queued[index(s)].load(Ordering::Relaxed),
                used: self.used[index(s)].load(Ordering::Relaxed),
            })
            .collect()
    }
}

impl WarmObserver for WarmLedger {
    fn queued(&self, key: &TileKey, source: WarmSource) {
        self.queued[index(source)].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("wxfarm_warm_queued_total", "source" => source.as_str()).increment(1);
        self.pending.insert(id(key), source);
    }
}
