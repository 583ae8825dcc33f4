//! Source data: GRIB2 decoding into [`Grid`]s with their georeference.
//!
//! - [`decode_message`] / [`decode_raw`]: one field of a buffer into a
//!   normalised [`Grid`] or into file-order values.
//! - [`list_messages`]: a `wgrib2 -s`-style inventory.
//! - [`projection`]: the map projections of projected and rotated grids.

pub mod decode;
mod framing;
pub mod grid;
pub mod index;
pub mod inspect;
mod png41;
pub mod projection;
mod scan;
mod sect3;
pub mod source;

pub use decode::{DecodeError, MessageId, decode_message, decode_raw};
pub use grid::{Grid, GridGeometry};
pub use index::{FieldIndex, index_fields};
pub use inspect::{MessageSummary, list_messages};
pub use sect3::gaussian_latitudes;
