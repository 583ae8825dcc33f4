//! The gateway: OGC and XYZ tile endpoints in front of the render queue.
//!
//! - [`app`]: routes, viewer, layer list
//! - [`handlers`]: WMTS KVP/REST, XYZ, capabilities
//! - [`tiles`]: request → catalog → L1 / render → response
//! - [`params`]: KVP parsing, dimensions, style options
//! - [`cache`]: L1 tile cache with single-flight
//! - [`memo`], [`memo_service`]: repeated L1 hits answered before routing
//! - [`tile_metrics`]: the tile request metrics, handles kept
//! - [`ogc`]: capabilities XML and exception reports
//! - [`server`]: the HTTP/1.1 listener (header timeout, connection cap)
//! - [`wms`], [`wms_crs`]: WMS, and the CRSs its maps are drawn in

pub mod admin;
pub mod app;
pub mod cache;
pub mod featureinfo;
pub mod handlers;
pub mod memo;
pub mod memo_service;
pub mod ogc;
pub mod params;
pub mod prefetch;
pub mod rate_limit;
pub mod server;
pub mod state;
pub mod tile_metrics;
pub mod tiles;
pub mod warm_ledger;
pub mod wms;
pub mod wms_crs;

pub use app::{MAX_URI_BYTES, router};
pub use cache::TileCache;
pub use memo::TileMemo;
pub use prefetch::{PrefetchConfig, Prefetcher};
pub use server::{HttpApp, ServerLimits};
pub use state::{GatewayConfig, GatewayState, LatestCacheControl};
