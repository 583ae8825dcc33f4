//! The worker: turns a [`protocol::RenderJob`] into encoded tile bytes.
//!
//! - [`data`]: fetching GRIB2 messages by byte range, decoding them into
//!   [`data::Grid`]s, and the bounded grid cache.
//! - [`render`]: sampling a grid onto a tile, styling, PNG encoding.

pub mod data;
pub mod local_queue;
pub mod render;
pub mod service;
