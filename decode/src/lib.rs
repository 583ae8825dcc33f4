//! Bytes in, [`Grid`]s out: GRIB2 decoding with the field's georeference.
//! No I/O and no async: callers hand in a buffer (a whole file, or one
//! message fetched by byte range).
//!
//! - [`decode_message`] / [`decode_raw`]: one field of a buffer into a
//!   normalised [`Grid`] or into file-order values.
//! - [`index_fields`]: what ingest catalogs, without unpacking values.
//! - [`list_messages`]: a `wgrib2 -s`-style inventory.
//! - [`netcdf`]: GOES-R ABI NetCDF4 products (L1b, L2 CMIP/MCMIP).
//! - [`index_file`] / [`decode_field`]: either format, told apart by
//!   content.
//!
//! The [`Grid`] type and its projections live in [`protocol::grid`], so the
//! renderer needs none of the decoding code.

mod error;
mod framing;
mod index;
mod inspect;
mod j2k;
mod message;
pub mod netcdf;
mod png41;
mod scan;
mod sect3;
mod source;
mod unpack;

pub use error::{DecodeError, MessageId};
pub use index::{FieldIndex, index_fields};
pub use inspect::{MessageSummary, list_messages};
pub use message::{MAX_POINTS, decode_message, decode_raw};
pub use protocol::grid::{Grid, GridGeometry};
pub use sect3::gaussian_latitudes;
pub use source::{IndexedField, decode_field, index_file};
