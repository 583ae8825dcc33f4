//! Whether tiles rendered ahead of demand were then asked for: the
//! precision of each kind of warming and prefetch. Every tile queued ahead
//! is remembered (bounded, for an hour) with its [`WarmSource`]; the first
//! request for it counts as a use. Precision is used ÷ queued per source;
//! recall, the share of tiles users needed that were ready, is used ÷
//! (used + misses). Both are exported (`wxfarm_warm_queued_total`,
//! `wxfarm_warm_used_total`) and shown by `wxfarm warm --stats`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use protocol::{TileKey, WarmObserver, WarmOutcomes, WarmSource};
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
    /// Forgotten unused; shared with the cache's eviction listener.
    wasted: Arc<[AtomicU64; 4]>,
    misses: AtomicU64,
    /// In a farm gateway: what to pass on to the scheduler's ledger.
    outbox: Option<std::sync::Mutex<Views>>,
}

/// What a farm gateway saw of tiles it did not warm itself: the ids
/// ([`TileKey::id`]) of tiles it answered from L2 (where the scheduler's
/// warming puts them) and how many requests it had to render. The
/// scheduler's ledger matches them (see [`WarmLedger::viewed`]).
#[derive(Debug, Default)]
pub struct Views {
    pub l2: Vec<u64>,
    pub misses: u64,
}

/// L2 views kept between two reports, at most (the rest are not counted).
const MAX_VIEWS: usize = 100_000;

/// Counts for one source, for `wxfarm warm --stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmCounts {
    pub source: String,
    pub queued: u64,
    pub used: u64,
    /// Forgotten without a request (expired after the window).
    #[serde(default)]
    pub wasted: u64,
}

impl Default for WarmLedger {
    fn default() -> Self {
        Self::with_window(WINDOW)
    }
}

impl WarmLedger {
    /// A ledger giving each tile `window` to be asked for.
    pub fn with_window(window: Duration) -> Self {
        for source in WarmSource::ALL {
            for name in [
                "wxfarm_warm_queued_total",
                "wxfarm_warm_used_total",
                "wxfarm_warm_wasted_total",
            ] {
                metrics::counter!(name, "source" => source.as_str()).absolute(0);
            }
        }
        let wasted: Arc<[AtomicU64; 4]> = Arc::default();
        let on_evict = wasted.clone();
        Self {
            pending: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(window)
                .eviction_listener(move |_, source: WarmSource, cause| {
                    if cause.was_evicted() {
                        on_evict[source.index()].fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("wxfarm_warm_wasted_total", "source" => source.as_str())
                            .increment(1);
                    }
                })
                .build(),
            queued: Default::default(),
            used: Default::default(),
            wasted,
            misses: AtomicU64::new(0),
            outbox: None,
        }
    }

    /// A farm gateway's ledger: it also keeps [`Views`] for the scheduler
    /// ([`Self::take_views`]).
    pub fn forwarding() -> Self {
        Self {
            outbox: Some(std::sync::Mutex::default()),
            ..Self::default()
        }
    }

    /// The views kept since the last call.
    pub fn take_views(&self) -> Views {
        self.outbox
            .as_ref()
            .map(|o| std::mem::take(&mut *o.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default()
    }

    /// Notes that the tile `id` was answered from L2 here.
    pub fn served_from_l2(&self, id: u64) {
        if let Some(outbox) = &self.outbox {
            let mut views = outbox.lock().unwrap_or_else(|e| e.into_inner());
            if views.l2.len() < MAX_VIEWS {
                views.l2.push(id);
            }
        }
    }

    /// Views a gateway reported: each L2 view is a use if the tile was
    /// warmed here and not seen since; misses count for recall.
    pub fn viewed(&self, l2: &[u64], misses: u64) {
        for &id in l2 {
            self.asked_id(id);
        }
        self.misses.fetch_add(misses, Ordering::Relaxed);
    }
}

impl WarmLedger {
    /// Counts a request for `key`: a use, if it was queued ahead and not
    /// asked for since. Returns why it was queued ahead, on its first use.
    pub fn asked(&self, key: &TileKey) -> Option<WarmSource> {
        self.asked_id(key.id())
    }

    /// [`Self::asked`] by [`TileKey::id`].
    pub fn asked_id(&self, id: u64) -> Option<WarmSource> {
        let source = self.pending.remove(&id)?;
        self.used[source.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("wxfarm_warm_used_total", "source" => source.as_str()).increment(1);
        Some(source)
    }

    /// Counts a request that found nothing ready (recall's other half).
    pub fn missed(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        if let Some(outbox) = &self.outbox {
            outbox.lock().unwrap_or_else(|e| e.into_inner()).misses += 1;
        }
    }

    /// Settles what has expired by now (the cache does it lazily).
    pub fn settle(&self) {
        self.pending.run_pending_tasks();
    }

    /// Requests that had to render, so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Queued, used and wasted per source.
    pub fn counts(&self) -> Vec<WarmCounts> {
        WarmSource::ALL
            .iter()
            .map(|&s| WarmCounts {
                source: s.as_str().to_owned(),
                queued: self.queued[s.index()].load(Ordering::Relaxed),
                used: self.used[s.index()].load(Ordering::Relaxed),
                wasted: self.wasted[s.index()].load(Ordering::Relaxed),
            })
            .collect()
    }
}

impl WarmObserver for WarmLedger {
    fn queued(&self, key: &TileKey, source: WarmSource) {
        self.queued[source.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("wxfarm_warm_queued_total", "source" => source.as_str()).increment(1);
        self.pending.insert(key.id(), source);
    }

    fn outcomes(&self) -> Option<WarmOutcomes> {
        self.settle();
        let load = |a: &[AtomicU64; 4]| std::array::from_fn(|i| a[i].load(Ordering::Relaxed));
        Some(WarmOutcomes {
            used: load(&self.used),
            wasted: load(&self.wasted),
            misses: self.misses.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn key(x: u32) -> TileKey {
        let t = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        TileKey {
            layer: "l".into(),
            style: "gradient".into(),
            style_params: String::new(),
            tms: protocol::TileMatrixSetId::WebMercatorQuad,
            z: 3,
            x,
            y: 1,
            tile_size: 256,
            format: protocol::ImageFormat::Png,
            run: t,
            valid: t,
            elevation: None,
        }
    }

    #[test]
    fn uses_count_once_and_the_unasked_expire_as_wasted() {
        let ledger = WarmLedger::with_window(Duration::from_millis(200));
        for x in 0..3 {
            ledger.queued(&key(x), WarmSource::HotSet);
        }
        ledger.queued(&key(9), WarmSource::Spatial);
        ledger.asked(&key(0));
        ledger.asked(&key(0));
        ledger.missed();
        std::thread::sleep(Duration::from_millis(400));
        let o = ledger.outcomes().expect("measured");
        assert_eq!(o.used(WarmSource::HotSet), 1);
        assert_eq!(o.wasted(WarmSource::HotSet), 2);
        assert_eq!(o.wasted(WarmSource::Spatial), 1);
        assert_eq!(o.used(WarmSource::Spatial), 0);
        assert_eq!(o.misses, 1);
        // Asked for after expiry: not a use.
        ledger.asked(&key(1));
        assert_eq!(ledger.outcomes().expect("measured").used_total(), 1);
    }

    #[test]
    fn a_farm_gateway_passes_its_l2_views_and_misses_to_the_schedulers_ledger() {
        let gateway = WarmLedger::forwarding();
        let scheduler = WarmLedger::default();
        scheduler.queued(&key(1), WarmSource::HotSet);
        scheduler.queued(&key(2), WarmSource::Static);
        gateway.served_from_l2(key(1).id());
        gateway.served_from_l2(key(7).id());
        gateway.missed();
        let views = gateway.take_views();
        assert_eq!(views.l2.len(), 2);
        assert!(gateway.take_views().l2.is_empty(), "taken once");
        scheduler.viewed(&views.l2, views.misses);
        let o = scheduler.outcomes().expect("measured");
        assert_eq!(o.used(WarmSource::HotSet), 1);
        assert_eq!(o.used(WarmSource::Static), 0);
        assert_eq!(o.misses, 1);
        // A second gateway's view of the same tile is not a second use.
        scheduler.viewed(&[key(1).id()], 0);
        assert_eq!(scheduler.outcomes().expect("measured").used_total(), 1);
    }
}
