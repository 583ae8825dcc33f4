//! GOES-R ABI products in NetCDF4 (L1b `Rad`, L2 `CMI` and multi-band
//! `MCMIP`) into [`Grid`]s on the geostationary projection, opened from
//! memory with libnetcdf (the `netcdf` crate, which returns raw integers:
//! packing, `_Unsigned` and `_FillValue` are applied here).
//!
//! Files are recognised by content: the HDF5 or classic NetCDF magic
//! bytes, then the ABI variables and attributes.

mod abi;
mod attrs;
mod thread;
mod values;

use chrono::{DateTime, Utc};
use protocol::grid::Grid;
use protocol::limits::MAX_DECODED_BYTES;
use protocol::tms::LonLatBox;

pub use abi::{BandVar, Product, ProductKind, Sector};
pub use values::Quantity;

use attrs::err;
use values::read_band;

use crate::error::DecodeError;

/// HDF5 (NetCDF4) signature.
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Whether `bytes` start like a NetCDF file: NetCDF4/HDF5 or classic
/// (`CDF` 1, 2 or 5).
pub fn is_netcdf(bytes: &[u8]) -> bool {
    bytes.starts_with(HDF5_MAGIC)
        || (bytes.len() >= 4 && &bytes[..3] == b"CDF" && matches!(bytes[3], 1 | 2 | 5))
}

/// One band of a satellite product, ready to catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct SatelliteIndex {
    /// Position of the band in the file (0 for single-band products): the
    /// `submessage` workers decode.
    pub band_index: usize,
    /// The whole file's length (workers decode whole files).
    pub length: u64,
    pub kind: ProductKind,
    /// `platform_ID`, e.g. `G16`.
    pub platform: String,
    pub sector: Sector,
    pub band: u8,
    pub wavelength_um: f32,
    pub quantity: Quantity,
    /// Scan start and end, whole seconds.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub ni: u32,
    pub nj: u32,
    pub bbox: LonLatBox,
}

fn open(bytes: &[u8]) -> Result<netcdf::FileMem<'_>, DecodeError> {
    if !is_netcdf(bytes) {
        return Err(err("not a NetCDF file (no HDF5 or CDF signature)"));
    }
    netcdf::open_mem(None, bytes).map_err(|e| err(format!("cannot open: {e}")))
}

/// Reads a product's description and checks its size against the decode
/// budget before anything is allocated for its values.
fn product(file: &netcdf::File) -> Result<Product, DecodeError> {
    let p = abi::describe(file)?;
    let points = p.ni.saturating_mul(p.nj);
    // Raw i16 and flags, and the f32 result, per band decoded.
    let bytes = (points as u64).saturating_mul(2 + 1 + 4);
    if points > crate::MAX_POINTS || bytes > MAX_DECODED_BYTES {
        return Err(err(format!(
            "{} × {} points ({bytes} bytes decoded) exceed the decode budget ({} points, {MAX_DECODED_BYTES} bytes)",
            p.ni,
            p.nj,
            crate::MAX_POINTS
        )));
    }
    Ok(p)
}

/// Catalogs every band of a NetCDF product without reading its values.
pub fn index_netcdf(bytes: &[u8]) -> Result<Vec<SatelliteIndex>, DecodeError> {
    let owned = bytes.to_vec();
    thread::run(move || index_on_thread(&owned))
}

fn index_on_thread(bytes: &[u8]) -> Result<Vec<SatelliteIndex>, DecodeError> {
    let file = open(bytes)?;
    let p = product(&file)?;
    let shape = Grid {
        ni: p.ni,
        nj: p.nj,
        values: Vec::new().into(),
        geometry: p.geometry.clone(),
        winds_grid_relative: false,
    };
    let bbox = shape.bounding_box();
    Ok(p.bands
        .iter()
        .enumerate()
        .map(|(k, b)| SatelliteIndex {
            band_index: k,
            length: bytes.len() as u64,
            kind: p.kind,
            platform: p.platform.clone(),
            sector: p.sector,
            band: b.band,
            wavelength_um: b.wavelength_um,
            quantity: Quantity::of_band(b.band),
            start: p.start,
            end: p.end,
            ni: p.ni as u32,
            nj: p.nj as u32,
            bbox,
        })
        .collect())
}

/// Band `band_index` of a NetCDF product as a grid of brightness
/// temperature (K) or reflectance factor; NaN where there is no value.
pub fn decode_netcdf(bytes: &[u8], band_index: usize) -> Result<Grid, DecodeError> {
    Ok(decode_band(bytes, band_index, false)?.0)
}

/// A band's grid and, for inspection, the stored values before any
/// conversion (radiance for L1b, as `raw · scale + offset`).
pub fn decode_band(
    bytes: &[u8],
    band_index: usize,
    keep_stored: bool,
) -> Result<(Grid, Vec<f32>), DecodeError> {
    if !is_netcdf(bytes) {
        return Err(err("not a NetCDF file (no HDF5 or CDF signature)"));
    }
    let owned = bytes.to_vec();
    thread::run(move || decode_on_thread(&owned, band_index, keep_stored))
}

fn decode_on_thread(
    bytes: &[u8],
    band_index: usize,
    keep_stored: bool,
) -> Result<(Grid, Vec<f32>), DecodeError> {
    let file = open(bytes)?;
    let p = product(&file)?;
    let band = p.bands.get(band_index).ok_or(DecodeError::NoSuchField {
        index: band_index,
        count: p.bands.len(),
    })?;
    let values = read_band(&file, p.kind, band, p.ni * p.nj, keep_stored)?;
    let grid = Grid {
        ni: p.ni,
        nj: p.nj,
        values: values.shown,
        geometry: p.geometry,
        winds_grid_relative: false,
    };
    Ok((grid, values.stored))
}

/// A product's description (for `wxfarm inspect`): its variables with
/// their types and shapes, then the product, projection and bands.
pub fn describe_netcdf(bytes: &[u8]) -> Result<(Product, Vec<String>), DecodeError> {
    let owned = bytes.to_vec();
    thread::run(move || describe_on_thread(&owned))
}

fn describe_on_thread(bytes: &[u8]) -> Result<(Product, Vec<String>), DecodeError> {
    let file = open(bytes)?;
    let p = product(&file)?;
    let variables = file
        .variables()
        .map(|v| {
            let dims: Vec<String> = v
                .dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name(), d.len()))
                .collect();
            format!("{} {:?} ({})", v.name(), v.vartype(), dims.join(", "))
        })
        .collect();
    Ok((p, variables))
}
