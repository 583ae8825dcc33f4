//! Bulk unpacking of the common GRIB2 packings: simple (template 5.0),
//! complex (5.2) and complex with spatial differencing (5.3).
//!
//! The `grib` crate unpacks value by value through a chain of iterators;
//! this module decodes whole arrays instead: N-bit integers a word at a
//! time ([`bits`]), complex packing's groups in one pass over their
//! descriptors ([`complex`]), differencing and scaling in one pass over
//! the integers ([`spatial`]), and section 6's bit-map in place
//! ([`bitmap`]). The float arithmetic is the crate's, operation for
//! operation ([`simple::Scale`]), so values are bit-identical to it; the
//! tests in `identity` check that on every real and demo file.
//!
//! Every count and length is checked against the sections before anything
//! is read or allocated: the output is `num_points` values (which the
//! caller has bounded by [`crate::MAX_POINTS`]); packed integers are
//! decoded into the output itself, and the only other buffer is one bit
//! per encoded value for missing points of 5.3 fields with missing-value
//! management.

mod bitmap;
mod bits;
mod complex;
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

use grib::def::grib2::{DataRepresentationTemplate, Section5};

use self::bitmap::Bitmap;
use self::complex::MissingSet;
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

/// Unpacks sections 6 and 7 (whole sections, headers included) as section
/// 5 (`s5`, parsed) describes them into `num_points` values in file order,
/// NaN where the bit-map has no value or complex packing marks one
/// missing.
///
/// Returns `Ok(None)` for what this module leaves to the `grib` crate:
/// templates other than 5.0, 5.2 and 5.3, and simple packing wider than 32
/// bits (which the crate truncates to the low 32 bits of each integer).
pub(crate) fn unpack(
    s5: &Section5,
    sect6: &[u8],
    sect7: &[u8],
    num_points: usize,
) -> Result<Option<Vec<f32>>, Fault> {
    let template = &s5.payload.template;
    match template {
        DataRepresentationTemplate::_5_0(t) if t.simple.num_bits <= 32 => {}
        DataRepresentationTemplate::_5_2(_) | DataRepresentationTemplate::_5_3(_) => {}
        _ => return Ok(None),
    }
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
            let bits = t.simple.num_bits;
            let to_value = |x: i32| scale.apply(x as f32);
            complex::unpack(data, 0, &t.complex, bits, 0, packed, to_value, None)?;
        }
        DataRepresentationTemplate::_5_3(t) => {
            check_field_type(t.orig_field_type)?;
            let d = spatial::descriptors(data, t.spatial_diff_order, t.num_extra_desc_octets)?;
            complex::check_supported(&t.complex)?;
            let mut missing =
                (t.complex.missing_value_management > 0).then(|| MissingSet::new(encoded));
            // The integers are kept as f32 bits until differencing is undone.
            let keep = |x: i32| f32::from_bits(x as u32);
            let (c, bits) = (&t.complex, t.simple.num_bits);
            complex::unpack(
                data,
                d.len,
                c,
                bits,
                d.z_min,
                packed,
                keep,
                missing.as_mut(),
            )?;
            spatial::undo_and_scale(packed, missing.as_ref(), &d, &Scale::new(&t.simple));
        }
        _ => return Ok(None),
    }
    map.spread(&mut grid);
    Ok(Some(grid))
}
