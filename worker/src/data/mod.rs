//! Source data: GRIB2 decoding into [`Grid`]s with their georeference.

pub mod grid;

pub use grid::{Grid, GridGeometry};
