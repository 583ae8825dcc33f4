//! Shared types of wxfarm's roles: what a tile is ([`TileKey`]), where its
//! data lives ([`catalog`]), how it is drawn ([`style`]), how a render is
//! requested ([`job`], [`queue`]) and how that travels ([`codec`]).
//!
//! Nothing here does I/O: the embedded `serve` and the distributed roles use
//! these types unchanged.

pub mod catalog;
pub mod codec;
pub mod colormap;
pub mod demand;
pub mod events;
pub mod grid;
pub mod job;
pub mod key;
pub mod layers;
pub mod limits;
pub mod plan;
pub mod queue;
pub mod style;
pub mod tms;
pub mod warm_budget;

pub use catalog::{Catalog, FieldEntry, FieldRef};
pub use grid::{Grid, GridGeometry};
pub use job::{MapArea, MapCrs, Priority, RenderError, RenderJob};
pub use key::{ImageFormat, TileKey, stable_hash};
pub use limits::{LimitError, Limits};
pub use queue::{
    Cancel, PointSample, RenderQueue, Renderer, TileSink, TileStore, WarmObserver, WarmOutcomes,
    WarmSource,
};
pub use style::StyleSpec;
pub use tms::TileMatrixSetId;

/// Bumped whenever rendering changes its output for the same inputs; part of
/// every cache key so a new release never serves an old rendering.
///
/// 2: precipitation and wind-component ramps, arrow lengths (2026-11-29).
/// 3: missing points on a field can be tinted (radar no coverage).
pub const RENDER_VERSION: u32 = 3;
