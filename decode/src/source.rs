//! Any source file, told apart by content: GRIB2 messages or a NetCDF
//! satellite product. Ingest and workers go through here, so a new
//! format needs no change in either.

use protocol::grid::Grid;

use crate::error::DecodeError;
use crate::index::{FieldIndex, index_fields};
use crate::message::decode_message;
use crate::netcdf::{SatelliteIndex, decode_netcdf, index_netcdf, is_netcdf};

/// One catalogable field of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexedField {
    /// A GRIB2 field (one message, by byte range).
    Grib(FieldIndex),
    /// One band of a satellite product (the whole file).
    Satellite(SatelliteIndex),
}

/// Indexes every field of a file, GRIB2 or NetCDF. As with
/// [`index_fields`], a field that cannot be served is its own error.
pub fn index_file(bytes: &[u8]) -> Result<Vec<Result<IndexedField, DecodeError>>, DecodeError> {
    if is_netcdf(bytes) {
        return Ok(index_netcdf(bytes)?
            .into_iter()
            .map(|s| Ok(IndexedField::Satellite(s)))
            .collect());
    }
    Ok(index_fields(bytes)?
        .into_iter()
        .map(|f| f.map(IndexedField::Grib))
        .collect())
}

/// Decodes field `submessage` of `bytes`: a GRIB2 message's field, or a
/// NetCDF product's band.
pub fn decode_field(bytes: &[u8], submessage: usize) -> Result<Grid, DecodeError> {
    if is_netcdf(bytes) {
        decode_netcdf(bytes, submessage)
    } else {
        decode_message(bytes, submessage)
    }
}
