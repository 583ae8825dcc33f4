//! The tile request metrics (`wxfarm_tile_requests_total`,
//! `wxfarm_tile_request_duration_seconds`) with their handles kept: the
//! `metrics` macros build a labelled key and look it up in the recorder's
//! registry on every call (allocations and two hashes per request), while a
//! kept handle is one atomic add. Series are per (layer, tier, status), so
//! the table is bounded by the catalogue (unknown layers count as `none`).
//!
//! Handles come from the recorder installed when a series is first used:
//! processes install theirs before serving (as `wxfarm` does).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, SharedString};

/// One series pair's handles.
#[derive(Clone)]
pub(crate) struct Series {
    requests: Counter,
    duration: Histogram,
}

impl Series {
    /// Counts one request taking `took`.
    pub(crate) fn record(&self, took: Duration) {
        self.requests.increment(1);
        self.duration.record(took);
    }
}

/// The handles of (`layer`, `tier`, `status`), registered on first use
/// (kept by the hit memo, so its hits skip even the table look-up).
pub(crate) fn series(layer: &str, tier: &'static str, status: u16) -> Series {
    {
        let table = SERIES.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, series)) = table
            .get(layer)
            .and_then(|l| l.iter().find(|(t, s, _)| *t == tier && *s == status))
        {
            return series.clone();
        }
    }
    register(layer, tier, status)
}

/// Layer → its (tier, status) series: a handful per layer, scanned.
type Table = HashMap<Arc<str>, Vec<(&'static str, u16, Series)>, foldhash::fast::RandomState>;

static SERIES: LazyLock<RwLock<Table>> = LazyLock::new(Default::default);

/// Counts one tile request of `layer` (already `none` for a layer the
/// catalogue does not know) answered from `tier` with `status`, taking
/// `took`.
pub fn record(layer: &str, tier: &'static str, status: u16, took: Duration) {
    {
        let table = SERIES.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, series)) = table
            .get(layer)
            .and_then(|l| l.iter().find(|(t, s, _)| *t == tier && *s == status))
        {
            series.requests.increment(1);
            series.duration.record(took);
            return;
        }
    }
    let series = register(layer, tier, status);
    series.requests.increment(1);
    series.duration.record(took);
}

#[cold]
fn register(layer: &str, tier: &'static str, status: u16) -> Series {
    let name: Arc<str> = Arc::from(layer);
    // Shared: one allocation for both series' label.
    let label = SharedString::from(name.clone());
    let series = Series {
        requests: metrics::counter!(
            "wxfarm_tile_requests_total",
            "tier" => tier,
            "status" => status.to_string(),
            "layer" => label.clone()
        ),
        duration: metrics::histogram!(
            "wxfarm_tile_request_duration_seconds",
            "tier" => tier,
            "layer" => label
        ),
    };
    let mut table = SERIES.write().unwrap_or_else(PoisonError::into_inner);
    let list = table.entry(name).or_default();
    if !list.iter().any(|(t, s, _)| *t == tier && *s == status) {
        list.push((tier, status, series.clone()));
    }
    series
}
