//! Bulk unpacking of the common GRIB2 packings: simple (template 5.0),
//! complex (5.2), complex with spatial differencing (5.3), JPEG 2000
//! (5.40, [`jpeg2000`]), PNG (5.41, [`crate::png41`]) and CCSDS (5.42,
//! [`ccsds`]): the codec decodes the whole stream, then one pass scales
//! its integers into the output.
//!
//! The `grib` crate unpacks value by value through a chain of iterators;
//! this module decodes whole arrays instead: N-bit integers a word at a
//! time, 8 per N-byte block for simple packing ([`bits`]); complex
//! packing's group descriptors a batch at a time and each group's integers
//! in one tight loop ([`complex`]); differencing and scaling in one pass
//! over each stretch of integers while it is in cache ([`spatial`]); and
//! section 6's bit-map in place, by runs ([`bitmap`]).
//!
//! The float arithmetic is the crate's, operation for operation
//! ([`simple::Scale`]), so values are bit-identical to it: the tests in
//! `identity` (real, demo and re-packed files) and `random` check it.
//!
//! Every count and length is checked against the sections before anything
//! is read or allocated: the output is `num_points` values (which the
//! caller has bounded by [`crate::MAX_POINTS`]); packed integers are
//! decoded into the output itself, and the only other buffers are one bit
//! per encoded value for the missing points of complex packing with
//! missing-value management, and a few kilobytes of group descriptors.

mod bitmap;
mod bits;
mod ccsds;
mod complex;
mod jpeg2000;
mod simple;
mod spatial;

#[cfg(test)]
mod identity;
#[cfg(test)]
mod random;
#[cfg(test)]
mod sections;
#[cfg(test)]
mod tests;

use grib::def::grib2::template::param_set::ComplexPacking;
use grib::def::grib2::{DataRepresentationTemplate, Section5};

use self::bitmap::Bitmap;
use self::complex::{Layout, MissingSet};
use self::simple::Scale;

/// Why a field could not be unpacked; the caller names the message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// The sections contradict each other or are cut short.
    Corrupt(String),
    /// A code-table value this decoder (like the `grib` crate) does not
    /// implement.
    Unsupported(String),
}

/// An unsupported code-table value, worded as the `grib` crate's errors
/// are reported.
fn unsupported(table: &str, value: impl Into<u16>) -> Fault {
    Fault::Unsupported(format!("value {} of {table}", value.into()))
}

/// Checks the type of original field values (code table 5.1): like the
/// `grib` crate, only floating point.
fn check_field_type(orig_field_type: u8) -> Result<(), Fault> {
    if orig_field_type != 0 {
        return Err(unsupported(
            "GRIB2 code table 5.1 (type of original field values)",
            orig_field_type,
        ));
    }
    Ok(())
}

/// Room for the missing points of a complex-packed field with
/// missing-value management.
fn missing_set(c: &ComplexPacking, encoded: usize) -> Option<MissingSet> {
    (c.missing_value_management > 0).then(|| MissingSet::new(encoded))
}

/// How many values section 5 says are packed (checked against the grid),
/// where section 6 puts them, and section 7's payload.
fn packed_layout<'a>(
    s5: &Section5,
    sect6: &'a [u8],
    sect7: &'a [u8],
    num_points: usize,
) -> Result<(usize, Bitmap<'a>, &'a [u8]), Fault> {
    let encoded = s5.payload.num_encoded_points as usize;
    if encoded > num_points {
        return Err(Fault::Corrupt(format!(
            "{encoded} values packed for {num_points} points"
        )));
    }
    let map = Bitmap::read(sect6, num_points, encoded)?;
    let data = sect7
        .get(5..)
        .ok_or_else(|| Fault::Corrupt("section 7 is too short".into()))?;
    Ok((encoded, map, data))
}

/// A field's packed integers per point and the value of each integer.
pub(crate) type Codes = (Vec<u16>, Vec<f32>);

/// PNG-packed fields (5.41) of samples up to 16 bits as their packed
/// integers in file order, with the value of each integer: one more
/// integer, valued NaN, marks the points the bit-map leaves without a
/// value. `Ok(None)` for other fields, and where no integer is left for
/// that mark: they unpack to f32 through [`unpack`].
pub(crate) fn unpack_codes(
    s5: &Section5,
    sect6: &[u8],
    sect7: &[u8],
    num_points: usize,
) -> Result<Option<Codes>, Fault> {
    let DataRepresentationTemplate::_5_41(t) = &s5.payload.template else {
        return Ok(None);
    };
    check_field_type(t.orig_field_type)?;
    let (encoded, map, data) = packed_layout(s5, sect6, sect7, num_points)?;
    let mut codes = vec![0u16; num_points];
    let packed = &mut codes[num_points - encoded..];
    let section7 = |e: String| Fault::Corrupt(format!("section 7: {e}"));
    let Some(mut table) = crate::png41::unpack_codes(data, &t.simple, packed).map_err(section7)?
    else {
        return Ok(None);
    };
    if matches!(map, Bitmap::Present { .. }) {
        let Ok(no_value) = u16::try_from(table.len()) else {
            return Ok(None);
        };
        table.push(f32::NAN);
        map.spread_with(&mut codes, no_value);
    }
    Ok(Some((codes, table)))
}

/// Unpacks sections 6 and 7 (whole sections, headers included) as section
/// 5 (`s5`, parsed) describes them into `num_points` values in file order,
/// NaN where the bit-map has no value or complex packing marks one
/// missing.
///
/// Returns `Ok(None)` for what this module leaves to the `grib` crate:
/// templates other than 5.0, 5.2, 5.3, 5.40, 5.41 and 5.42, and simple
/// packing wider than 32 bits (which the crate truncates to the low 32
/// bits of each integer).
pub(crate) fn unpack(
    s5: &Section5,
    sect6: &[u8],
    sect7: &[u8],
    num_points: usize,
) -> Result<Option<Vec<f32>>, Fault> {
    let template = &s5.payload.template;
    match template {
        DataRepresentationTemplate::_5_0(t) if t.simple.num_bits <= 32 => {}
        DataRepresentationTemplate::_5_2(_)
        | DataRepresentationTemplate::_5_3(_)
        | DataRepresentationTemplate::_5_40(_)
        | DataRepresentationTemplate::_5_41(_)
        | DataRepresentationTemplate::_5_42(_) => {}
        _ => return Ok(None),
    }
    let (encoded, map, data) = packed_layout(s5, sect6, sect7, num_points)?;
    let mut grid = vec![0f32; num_points];
    let packed = &mut grid[num_points - encoded..];
    let section7 = |e: bits::BitsError| Fault::Corrupt(format!("section 7: {e}"));
    match template {
        DataRepresentationTemplate::_5_0(t) => {
            check_field_type(t.orig_field_type)?;
            simple::unpack(data, &t.simple, packed).map_err(section7)?;
        }
        DataRepresentationTemplate::_5_2(t) => {
            check_field_type(t.orig_field_type)?;
            let scale = Scale::new(&t.simple);
            let mut missing = missing_set(&t.complex, encoded);
            let layout = Layout {
                offset: 0,
                ref_bits: t.simple.num_bits,
                z_min: 0,
            };
            let finish = |values: &mut [f32], at, missing: Option<&MissingSet>| {
                spatial::scale_ints(values, at, missing, &scale)
            };
            complex::unpack(data, &t.complex, layout, packed, missing.as_mut(), finish)?;
        }
        DataRepresentationTemplate::_5_3(t) => {
            check_field_type(t.orig_field_type)?;
            let d = spatial::descriptors(data, t.spatial_diff_order, t.num_extra_desc_octets)?;
            complex::check_supported(&t.complex)?;
            let mut missing = missing_set(&t.complex, encoded);
            let layout = Layout {
                offset: d.len,
                ref_bits: t.simple.num_bits,
                z_min: d.z_min,
            };
            let mut undo = spatial::Undo::new(d, Scale::new(&t.simple));
            let finish = |values: &mut [f32], at, missing: Option<&MissingSet>| {
                undo.run(values, at, missing)
            };
            complex::unpack(data, &t.complex, layout, packed, missing.as_mut(), finish)?;
        }
        DataRepresentationTemplate::_5_40(t) => {
            check_field_type(t.orig_field_type)?;
            jpeg2000::unpack(data, t, packed)?;
        }
        DataRepresentationTemplate::_5_41(t) => {
            check_field_type(t.orig_field_type)?;
            crate::png41::unpack(data, &t.simple, packed)
                .map_err(|e| Fault::Corrupt(format!("section 7: {e}")))?;
        }
        DataRepresentationTemplate::_5_42(t) => {
            check_field_type(t.orig_field_type)?;
            ccsds::unpack(data, t, packed)?;
        }
        _ => return Ok(None),
    }
    map.spread(&mut grid);
    Ok(Some(grid))
}
