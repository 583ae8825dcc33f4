//! The WMTS 1.0.0 XML surface as pure functions: the capabilities document
//! ([`wmts_capabilities`]) and OWS 1.1 exception reports ([`OgcError`]).
//!
//! Nothing here does I/O, so handlers stay thin and everything is testable
//! without a server.

pub mod capabilities;
pub mod exception;
pub mod grid;
pub(crate) mod xml;

pub use capabilities::{CAPABILITIES_PATH, Dimension, layer_dimensions, wmts_capabilities};
pub use exception::{OgcError, OgcErrorCode};
pub use grid::TileRange;
