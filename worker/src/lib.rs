//! Render execution: turns a [`protocol::RenderJob`] into encoded tile
//! bytes with the `decode` and `render` crates.
//!
//! - [`grid_source`]: fetching GRIB2 messages by byte range, decoding them
//!   into grids, and the bounded grid cache.
//! - [`service`]: [`RenderService`], a job in, tile bytes out (budget
//!   check, grids, draw on the blocking pool).
//! - [`local_queue`]: the embedded priority queue of `wxfarm serve`.

pub mod grid_source;
pub mod local_queue;
pub mod service;

pub use grid_source::GridSource;
pub use service::RenderService;
