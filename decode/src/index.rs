//! Indexing a GRIB2 file without decoding its values: for every field, what
//! it is (parameter, level, times, grid) and where its message lies (byte
//! offset and length), like NOAA's `.idx` files. Ingest builds the catalog
//! from this; workers later fetch exactly one message by byte range.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use protocol::tms::LonLatBox;

use super::sect3::grid_spec;
use crate::error::{DecodeError, MessageId};
use crate::message::{RawField, SUPPORTED_DATA, check_field, raw_fields};
use protocol::grid::Grid;

/// One field of a file, ready to catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldIndex {
    pub id: MessageId,
    /// Byte offset and length of the field's whole message.
    pub offset: u64,
    pub length: u64,
    pub centre: u16,
    /// Analysis or forecast generating process identifier (section 4).
    pub process: u8,
    pub discipline: u8,
    pub category: u8,
    pub number: u8,
    /// Product definition template number (4.x).
    pub product_template: u16,
    pub reference_time: DateTime<Utc>,
    /// Valid time; for statistically processed fields, the end of the
    /// processing interval.
    pub valid_time: DateTime<Utc>,
    /// First fixed surface: type (code table 4.5) and value, if any.
    pub level_type: u8,
    pub level_value: Option<f64>,
    pub grid_template: u16,
    pub ni: u32,
    pub nj: u32,
    pub bbox: LonLatBox,
    /// The range the packing can represent (min, max): a default colour
    /// scale for parameters the layer catalogue does not know.
    pub packed_range: Option<(f64, f64)>,
}

/// Indexes every field of `bytes`. A field the worker could not decode
/// (unsupported grid or data template) is returned as its error, so one bad
/// field does not hide the others.
pub fn index_fields(bytes: &[u8]) -> Result<Vec<Result<FieldIndex, DecodeError>>, DecodeError> {
    Ok(raw_fields(bytes, None)?
        .iter()
        .map(|f| index_field(bytes, f))
        .collect())
}

fn index_field(bytes: &[u8], f: &RawField<'_>) -> Result<FieldIndex, DecodeError> {
    let id = f.id;
    let corrupt = |reason: &str| DecodeError::Corrupt {
        message: id,
        reason: reason.to_owned(),
    };
    let (s1, s4, s5) = (f.sect1, f.sect4, f.sect5);
    if s1.len() < 19 {
        return Err(corrupt("section 1 is too short"));
    }
    if s4.len() < 34 {
        return Err(corrupt(
            "section 4 is too short for a supported product template",
        ));
    }
    let data_template = s5
        .get(9..11)
        .map(be16)
        .ok_or_else(|| corrupt("section 5 is too short"))?;
    if !SUPPORTED_DATA.contains(&data_template) {
        return Err(DecodeError::UnsupportedDataTemplate {
            message: id,
            template: data_template,
        });
    }
    let spec = grid_spec(f.sect3, id)?;
    // Sizes that would make the decoder fail or over-allocate later.
    check_field(f)?;
    let length = bytes
        .get(f.offset + 8..f.offset + 16)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt("section 0 is too short"))?;
    let reference_time = datetime(&s1[12..19]).ok_or_else(|| corrupt("invalid reference time"))?;
    let product_template = be16(&s4[7..9]);
    let valid_time = valid_time(s4, product_template, reference_time)
        .ok_or_else(|| corrupt("invalid forecast time"))?;
    let grid_template = f.sect3.get(12..14).map(be16).unwrap_or(u16::MAX);
    // `bounding_box` reads only the geometry and the dimensions.
    let shape = Grid {
        ni: spec.ni,
        nj: spec.nj,
        values: Vec::new().into(),
        geometry: spec.geometry,
        winds_grid_relative: spec.winds_grid_relative,
    };
    Ok(FieldIndex {
        id,
        offset: f.offset as u64,
        length,
        centre: be16(&s1[5..7]),
        process: s4[13],
        discipline: f.discipline,
        category: s4[9],
        number: s4[10],
        product_template,
        reference_time,
        valid_time,
        level_type: s4[22],
        level_value: scaled_value(s4[23], &s4[24..28]),
        grid_template,
        ni: spec.ni as u32,
        nj: spec.nj as u32,
        bbox: shape.bounding_box(),
        packed_range: packed_range(s5),
    })
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Year (2 octets), month, day, hour, minute, second.
fn datetime(b: &[u8]) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(i32::from(be16(b)), b[2].into(), b[3].into())?;
    Some(
        date.and_hms_opt(b[4].into(), b[5].into(), b[6].into())?
            .and_utc(),
    )
}

/// Valid time: the end of the statistical-processing interval for the
/// templates that have one (4.8, 4.9, 4.10, 4.11, 4.12), else reference
/// time plus the forecast time in its unit (code table 4.4).
fn valid_time(s4: &[u8], template: u16, reference: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let interval_end = match template {
        8 => Some(34),
        9 => Some(47),
        10 => Some(35),
        11 => Some(37),
        12 => Some(36),
        _ => None,
    };
    if let Some(at) = interval_end {
        return s4.get(at..at + 7).and_then(datetime);
    }
    let amount = i64::from(u32::from_be_bytes(s4[18..22].try_into().ok()?));
    let unit = match s4[17] {
        0 => Duration::minutes(1),
        1 => Duration::hours(1),
        2 => Duration::days(1),
        10 => Duration::hours(3),
        11 => Duration::hours(6),
        12 => Duration::hours(12),
        13 => Duration::seconds(1),
        _ => return None,
    };
    reference.checked_add_signed(unit * i32::try_from(amount).ok()?)
}

/// A GRIB scaled value (sign-magnitude scale factor), `None` when missing.
fn scaled_value(scale: u8, value: &[u8]) -> Option<f64> {
    let raw = u32::from_be_bytes(value.try_into().ok()?);
    if raw == u32::MAX || scale == 0xff {
        return None;
    }
    let factor = if scale & 0x80 != 0 {
        -i32::from(scale & 0x7f)
    } else {
        i32::from(scale)
    };
    Some(f64::from(raw) / 10f64.powi(factor))
}

/// Every supported data template starts with the simple-packing block:
/// reference value R (IEEE f32), binary scale E, decimal scale D (both
/// sign-magnitude i16) and bits per value; values are (R + X·2^E)·10^−D
/// for X in 0..2^bits.
fn packed_range(s5: &[u8]) -> Option<(f64, f64)> {
    let b = s5.get(11..20)?;
    let r = f64::from(f32::from_be_bytes(b[0..4].try_into().ok()?));
    let signed = |hi: u8, lo: u8| {
        let m = i32::from(u16::from_be_bytes([hi & 0x7f, lo]));
        if hi & 0x80 != 0 { -m } else { m }
    };
    let (e, d, bits) = (signed(b[4], b[5]), signed(b[6], b[7]), i32::from(b[8]));
    let scale = 10f64.powi(-d);
    let max_packed = if bits == 0 {
        0.0
    } else {
        2f64.powi(bits.min(52)) - 1.0
    };
    let (lo, hi) = (r * scale, (r + max_packed * 2f64.powi(e)) * scale);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}
