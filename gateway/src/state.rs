//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use protocol::RenderQueue;
use protocol::catalog::SharedCatalog;

use crate::cache::TileCache;

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Public base URL used in capabilities; derived from the request's
    /// `Host` header when unset.
    pub public_url: Option<String>,
    /// How long a request waits for a render.
    pub render_timeout: Duration,
    /// `Cache-Control: max-age` for tiles whose run was not named.
    pub latest_max_age: Duration,
    /// Largest tile side accepted (pixels).
    pub max_tile_size: u32,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            render_timeout: Duration::from_secs(10),
            latest_max_age: Duration::from_secs(60),
            max_tile_size: 512,
        }
    }
}

/// Shared handler state; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    pub catalog: SharedCatalog,
    pub queue: Arc<dyn RenderQueue>,
    pub tiles: TileCache,
    pub config: Arc<GatewayConfig>,
}
