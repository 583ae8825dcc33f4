//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use protocol::catalog::SharedCatalog;
use protocol::{RenderQueue, TileStore};

use crate::cache::TileCache;

/// How long L1 keeps a tile: keys never change meaning (a new run makes
/// new keys), so this only bounds how long an unused tile holds memory.
pub const L1_TTL: Duration = Duration::from_secs(6 * 3600);

/// `Cache-Control: public, max-age=…` for tiles whose run was not named,
/// built once rather than on every response.
#[derive(Debug, Clone)]
pub struct LatestCacheControl(axum::http::HeaderValue);

impl LatestCacheControl {
    pub fn max_age(age: Duration) -> Self {
        let value = format!("public, max-age={}", age.as_secs());
        Self(
            axum::http::HeaderValue::from_str(&value)
                .unwrap_or(axum::http::HeaderValue::from_static("no-cache")),
        )
    }

    pub fn header(&self) -> axum::http::HeaderValue {
        self.0.clone()
    }
}

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Public base URL used in capabilities; derived from the request's
    /// `Host` header when unset.
    pub public_url: Option<String>,
    /// How long a request waits for a render.
    pub render_timeout: Duration,
    /// `Cache-Control` for tiles whose run was not named.
    pub latest_cache_control: LatestCacheControl,
    /// Largest tile side accepted (pixels).
    pub max_tile_size: u32,
    /// Largest WMS map side (pixels).
    pub max_map_side: u32,
    /// Token the admin API (`/admin/…`, `wxfarm warm`) requires; without
    /// one the API does not exist.
    pub admin_token: Option<std::sync::Arc<str>>,
    /// Origins whose pages may read our responses (CORS); `*` for any,
    /// none to send no CORS headers.
    pub cors_origins: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            render_timeout: Duration::from_secs(10),
            latest_cache_control: LatestCacheControl::max_age(Duration::from_secs(60)),
            max_tile_size: 512,
            max_map_side: protocol::Limits::default().max_map_side,
            admin_token: None,
            cors_origins: vec!["*".to_owned()],
        }
    }
}

/// Shared handler state; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    pub catalog: SharedCatalog,
    pub queue: Arc<dyn RenderQueue>,
    /// L1, in-process.
    pub tiles: TileCache,
    /// L2, shared between gateways (Redis in the farm; none when embedded).
    pub l2: Option<Arc<dyn TileStore>>,
    pub config: Arc<GatewayConfig>,
    /// Per-client request rate limit; none: unlimited.
    pub rate_limit: Option<crate::rate_limit::RateLimiter>,
    /// Spatial prefetch and temporal lookahead; none: off.
    pub prefetch: Option<crate::prefetch::Prefetcher>,
    /// Where tile requests are counted by position, for the hot set
    /// (`protocol::demand`); none: not counted.
    pub demand: Option<Arc<protocol::demand::DemandCounts>>,
    /// Tiles queued ahead of demand, to measure whether they were used;
    /// none: not measured.
    pub warm_ledger: Option<Arc<crate::warm_ledger::WarmLedger>>,
    /// The rails of work queued ahead (prefetch; in `serve` warming too):
    /// a jobs-per-second budget and a pause while users' renders are slow.
    /// Interactive render latency is recorded here. None: no rails.
    pub warm_budget: Option<Arc<protocol::warm_budget::WarmBudget>>,
    /// The render rate of the last operator warm run, for estimates.
    pub warm_rate: Arc<crate::admin::MeasuredRate>,
}
