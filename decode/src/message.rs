//! Decoding one field of a GRIB2 byte buffer into values and a [`Grid`].
//!
//! The grib crate finds the messages and sections and unpacks most data
//! templates; we slice sections out of the caller's buffer ourselves, check
//! what is supported before unpacking, unpack PNG fields ourselves (see
//! [`super::png41`]) and normalise the scan order.

use std::panic::{AssertUnwindSafe, catch_unwind};

use grib::TryFromSlice as _;
use grib::def::grib2::template::param_set::ComplexPacking;
use grib::def::grib2::{DataRepresentationTemplate, Section5};

use super::{png41, scan, sect3};
use crate::error::{DecodeError, MessageId};
use crate::unpack::Fault;
use protocol::grid::{Coded, Grid, GridValues};

/// Data templates we decode (GRIB2 code table 5.0).
pub(crate) const SUPPORTED_DATA: [u16; 7] = [0, 2, 3, 40, 41, 42, 200];
/// MRMS's local discipline (NOAA/NSSL tables).
const MRMS_DISCIPLINE: u8 = 209;
/// MRMS writes "no radar coverage" as the ordinary value −999 (and −99 for
/// "covered, but no echo above the detection limit", which stays a value:
/// it is a measurement, drawn clear by the reflectivity styles' threshold,
/// while no coverage is missing and can be drawn in a tint).
const MRMS_NO_COVERAGE: f32 = -999.0;
/// The most points we accept in one field (256 MiB of f32): well above any
/// real grid (MRMS CONUS is 24.5 M, ECMWF's O1280 6.6 M), and low enough
/// that a corrupt or hostile count cannot make us (or the grib crate)
/// attempt a giant allocation. Ingest refuses larger fields.
pub const MAX_POINTS: usize = 1 << 26;

/// One field's sections, sliced out of the caller's buffer (each slice is
/// the whole section, header included).
pub(crate) struct RawField<'a> {
    pub id: MessageId,
    /// Byte offset of the field's message in the buffer.
    pub offset: usize,
    pub discipline: u8,
    pub sect1: &'a [u8],
    pub sect3: &'a [u8],
    pub sect4: &'a [u8],
    pub sect5: &'a [u8],
    pub sect6: &'a [u8],
    pub sect7: &'a [u8],
}

/// Runs third-party decoding code, turning a panic on malformed input into
/// an error: the service must survive any file it is handed.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("decoder failed: {msg}")
    })
}

/// Walks the buffer's messages and returns its fields, all of them or only
/// field `only`.
pub(crate) fn raw_fields(
    bytes: &[u8],
    only: Option<usize>,
) -> Result<Vec<RawField<'_>>, DecodeError> {
    super::framing::check(bytes).map_err(DecodeError::Unreadable)?;
    let grib2 = guarded(|| grib::from_bytes(bytes))
        .map_err(DecodeError::Unreadable)?
        .map_err(|e| DecodeError::Unreadable(e.to_string()))?;
    let count = grib2.len();
    if count == 0 {
        return Err(DecodeError::Unreadable("no GRIB2 message found".into()));
    }
    let range = match only {
        Some(index) if index >= count => return Err(DecodeError::NoSuchField { index, count }),
        Some(index) => index..index + 1,
        None => 0..count,
    };
    let mut out = Vec::with_capacity(range.len());
    for pos in range {
        // Each submessage borrows the parser's reader mutably; it is
        // dropped before the next one is taken.
        let Some(((message, field), sub)) = grib2.iter().nth(pos) else {
            return Err(DecodeError::NoSuchField { index: pos, count });
        };
        let id = MessageId { message, field };
        let slice = |info: &grib::SectionInfo, num: u8| -> Result<&[u8], DecodeError> {
            info.offset
                .checked_add(info.size)
                .and_then(|end| bytes.get(info.offset..end))
                .filter(|s| s.len() >= 5 && (num == 0 || s[4] == num))
                .ok_or_else(|| DecodeError::Corrupt {
                    message: id,
                    reason: format!("section {num} is out of place"),
                })
        };
        let sect0 = slice(sub.0.body, 0)?;
        let sect6 = slice(sub.6.body, 6)?;
        if sect6.len() < 6 {
            return Err(DecodeError::Corrupt {
                message: id,
                reason: "section 6 is too short".into(),
            });
        }
        out.push(RawField {
            id,
            offset: sub.0.body.offset,
            discipline: sect0.get(6).copied().unwrap_or(255),
            sect1: slice(sub.1.body, 1)?,
            sect3: slice(sub.3.body, 3)?,
            sect4: slice(sub.4.body, 4)?,
            sect5: slice(sub.5.body, 5)?,
            sect6,
            sect7: slice(sub.7.body, 7)?,
        });
    }
    Ok(out)
}

fn field_at(bytes: &[u8], submessage: usize) -> Result<RawField<'_>, DecodeError> {
    raw_fields(bytes, Some(submessage))?
        .pop()
        .ok_or(DecodeError::NoSuchField {
            index: submessage,
            count: 0,
        })
}

/// Decodes field `submessage` (0-based, counting every field of every
/// message in `bytes`) into its values in the order the file stores them,
/// NaN where the bit-map marks a point missing.
///
/// This is exactly what `wgrib2 -d N -order raw -bin` writes, except that
/// wgrib2 writes 9.999e20 where we write NaN. Producer-specific sentinels
/// that are coded as ordinary values (MRMS's −999 and −99) are kept, as
/// wgrib2 keeps them.
pub fn decode_raw(bytes: &[u8], submessage: usize) -> Result<Vec<f32>, DecodeError> {
    unpack(&field_at(bytes, submessage)?)
}

/// Decodes field `submessage` of `bytes` into a normalised [`Grid`]: rows
/// of increasing i (eastward / +x), j in the file's row order as described
/// by the geometry, NaN for missing points.
///
/// Unlike [`decode_raw`], MRMS fields (discipline 209) have their −999 (no
/// coverage) values turned into NaN, so that renderers need no
/// producer-specific knowledge; −99 (no echo) stays a value.
pub fn decode_message(bytes: &[u8], submessage: usize) -> Result<Grid, DecodeError> {
    let field = field_at(bytes, submessage)?;
    // The grid is checked first: it is cheap, and an unsupported grid
    // should not cost a full unpack.
    let spec = sect3::grid_spec(field.sect3, field.id)?;
    let wrong_count = |n: usize| DecodeError::Corrupt {
        message: field.id,
        reason: format!("{n} values for a {}×{} grid", spec.ni, spec.nj),
    };
    let no_coverage = |values: &mut [f32]| {
        if field.discipline == MRMS_DISCIPLINE {
            for v in values.iter_mut() {
                // f32 arithmetic in some unpackers leaves the sentinel a
                // few ulps away from the integer.
                if (*v - MRMS_NO_COVERAGE).abs() < 1e-3 {
                    *v = f32::NAN;
                }
            }
        }
    };
    // Headers once, for whichever unpacking runs.
    let (num_points, s5) = checked_headers(&field)?;
    let codes = crate::unpack::unpack_codes(&s5, field.sect6, field.sect7, num_points)
        .map_err(|f| fault(field.id, f))?;
    let values = match codes {
        // Packed integers stay integers (half the memory of f32, and no
        // float pass over the field); each integer's value is the one the
        // f32 path computes, so the grid reads the same.
        Some((codes, mut table)) => {
            if codes.len() != spec.ni * spec.nj {
                return Err(wrong_count(codes.len()));
            }
            no_coverage(&mut table);
            let codes = scan::normalise(codes, spec.ni, spec.nj, spec.scan);
            match Coded::new(codes, table) {
                Some(coded) => GridValues::Coded(coded),
                None => return Err(wrong_count(0)),
            }
        }
        None => {
            let mut values = unpack_checked(&field, num_points, &s5)?;
            if values.len() != spec.ni * spec.nj {
                return Err(wrong_count(values.len()));
            }
            no_coverage(&mut values);
            GridValues::Floats(scan::normalise(values, spec.ni, spec.nj, spec.scan))
        }
    };
    Ok(Grid {
        ni: spec.ni,
        nj: spec.nj,
        values,
        geometry: spec.geometry,
        winds_grid_relative: spec.winds_grid_relative,
    })
}

/// [`crate::unpack::unpack_codes`] of `field`: its packed integers and
/// their values, for the fields that keep them.
#[cfg(test)]
pub(crate) fn unpack_codes(
    field: &RawField<'_>,
) -> Result<Option<crate::unpack::Codes>, DecodeError> {
    let (num_points, s5) = checked_headers(field)?;
    crate::unpack::unpack_codes(&s5, field.sect6, field.sect7, num_points)
        .map_err(|f| fault(field.id, f))
}

/// An unpacking fault as the error of message `id`.
fn fault(id: MessageId, f: Fault) -> DecodeError {
    match f {
        Fault::Corrupt(reason) => DecodeError::Corrupt {
            message: id,
            reason,
        },
        Fault::Unsupported(what) => DecodeError::Unsupported { message: id, what },
    }
}

/// Checks everything in `field`'s headers that sizes its decoding
/// (counts, lengths, the embedded PNG's size) without unpacking a value.
/// Ingest runs it on every field, so a field that would fail or blow up in
/// the decoder never enters the catalog.
pub(crate) fn check_field(field: &RawField<'_>) -> Result<(), DecodeError> {
    checked_headers(field).map(drop)
}

/// The field's point count and section 5, once their sizes are checked.
fn checked_headers(field: &RawField<'_>) -> Result<(usize, Section5), DecodeError> {
    let id = field.id;
    let corrupt = |reason: String| DecodeError::Corrupt {
        message: id,
        reason,
    };
    let num_points =
        sect3::num_points(field.sect3).ok_or_else(|| corrupt("section 3 is too short".into()))?;
    let template = field
        .sect5
        .get(9..11)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| corrupt("section 5 is too short".into()))?;
    if !SUPPORTED_DATA.contains(&template) {
        return Err(DecodeError::UnsupportedDataTemplate {
            message: id,
            template,
        });
    }
    let s5 = Section5::try_from_slice(field.sect5, &mut 0)
        .map_err(|e| corrupt(format!("section 5: {e}")))?;
    check_sizes(&s5, num_points, field.sect7).map_err(&corrupt)?;
    if let DataRepresentationTemplate::_5_41(t) = &s5.payload.template
        && t.simple.num_bits > 0
    {
        png41::check_header(
            field.sect7.get(5..).unwrap_or_default(),
            s5.payload.num_encoded_points as usize,
        )
        .map_err(|e| corrupt(format!("section 7: {e}")))?;
    }
    Ok((num_points, s5))
}

/// Sections 5–7 of `field` into values in file order: templates 5.0, 5.2,
/// 5.3, 5.40, 5.41 and 5.42 through [`crate::unpack`], the others (5.200)
/// through [`unpack_other`].
pub(crate) fn unpack(field: &RawField<'_>) -> Result<Vec<f32>, DecodeError> {
    let (num_points, s5) = checked_headers(field)?;
    unpack_checked(field, num_points, &s5)
}

/// [`unpack`] once the headers are checked.
fn unpack_checked(
    field: &RawField<'_>,
    num_points: usize,
    s5: &Section5,
) -> Result<Vec<f32>, DecodeError> {
    let id = field.id;
    let values = match crate::unpack::unpack(s5, field.sect6, field.sect7, num_points)
        .map_err(|f| fault(id, f))?
    {
        Some(values) => values,
        None => unpack_other(field, num_points)?,
    };
    check_count(values, num_points, id)
}

/// What the `grib` crate unpacked (every template 5.0–5.3, 5.40 and 5.42
/// included; 5.41 as our unpacking did before rows were streamed), for
/// tests that compare [`crate::unpack`] with it.
#[cfg(test)]
pub(crate) fn unpack_reference(field: &RawField<'_>) -> Result<Vec<f32>, DecodeError> {
    let (num_points, s5) = checked_headers(field)?;
    let id = field.id;
    let corrupt = |reason: String| DecodeError::Corrupt {
        message: id,
        reason,
    };
    // 5.41 as we unpacked it before rows were streamed.
    if let DataRepresentationTemplate::_5_41(t) = &s5.payload.template {
        if t.orig_field_type != 0 {
            return Err(DecodeError::Unsupported {
                message: id,
                what: format!("original field type {} (integers)", t.orig_field_type),
            });
        }
        let payload = field.sect7.get(5..).unwrap_or_default();
        let count = s5.payload.num_encoded_points as usize;
        let packed = png41::unpack_before(payload, &t.simple, count)
            .map_err(|e| corrupt(format!("section 7: {e}")))?;
        return apply_bitmap(field.sect6, packed, num_points, id);
    }
    let values = unpack_other(field, num_points)?;
    check_count(values, num_points, field.id)
}

fn check_count(
    values: Vec<f32>,
    num_points: usize,
    id: MessageId,
) -> Result<Vec<f32>, DecodeError> {
    if values.len() != num_points {
        return Err(DecodeError::Corrupt {
            message: id,
            reason: format!(
                "{} values decoded, section 3 declares {num_points}",
                values.len()
            ),
        });
    }
    Ok(values)
}

/// Unpacks with the `grib` crate's value iterator (not for PNG fields,
/// 5.41, which the crate splits at the declared width).
fn unpack_other(field: &RawField<'_>, num_points: usize) -> Result<Vec<f32>, DecodeError> {
    let id = field.id;
    let corrupt = |reason: String| DecodeError::Corrupt {
        message: id,
        reason,
    };
    let decoded = guarded(|| -> Result<Vec<f32>, grib::GribError> {
        let decoder = grib::Grib2SubmessageDecoder::new(
            num_points,
            field.sect5.to_vec(),
            field.sect6.to_vec(),
            field.sect7.to_vec(),
        )?;
        Ok(decoder.dispatch()?.collect())
    })
    .map_err(&corrupt)?;
    decoded.map_err(|e| from_grib(e, id))
}

/// Rejects counts that contradict each other before anything is allocated
/// from them: the grib crate sizes buffers from these header fields.
fn check_sizes(s5: &Section5, num_points: usize, sect7: &[u8]) -> Result<(), String> {
    let sect7_len = sect7.len();
    let encoded = s5.payload.num_encoded_points as usize;
    if num_points > MAX_POINTS {
        return Err(format!("{num_points} points is beyond any real grid"));
    }
    if encoded > num_points {
        return Err(format!("{encoded} values packed for {num_points} points"));
    }
    let payload_bits = sect7_len.saturating_sub(5).saturating_mul(8);
    match &s5.payload.template {
        DataRepresentationTemplate::_5_0(t)
            if encoded.saturating_mul(usize::from(t.simple.num_bits)) > payload_bits =>
        {
            return Err("section 7 is shorter than the packed values".into());
        }
        DataRepresentationTemplate::_5_2(t) => check_groups(&t.complex, encoded)?,
        // No values and no stream (all missing) is fine; a stream is read.
        DataRepresentationTemplate::_5_40(_) if encoded > 0 || sect7_len > 5 => {
            crate::j2k::check_header(sect7.get(5..).unwrap_or_default(), encoded)?
        }
        // libaec's parameters, before the grid and sample buffers exist.
        DataRepresentationTemplate::_5_42(t) if t.simple.num_bits > 0 && encoded > 0 => aec::check(
            u32::from(t.simple.num_bits),
            u32::from(t.block_size),
            u32::from(t.ref_sample_interval),
            u32::from(t.mask) | aec::DATA_MSB,
        )
        .map_err(|e| format!("section 7: CCSDS: {e}"))?,
        DataRepresentationTemplate::_5_3(t) => {
            check_groups(&t.complex, encoded)?;
            if !(1..=2).contains(&t.spatial_diff_order)
                || !(1..=4).contains(&t.num_extra_desc_octets)
            {
                return Err("spatial differencing parameters out of range".into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Group counts and lengths of complex packing can be no larger than the
/// number of values they hold.
fn check_groups(c: &ComplexPacking, encoded: usize) -> Result<(), String> {
    let bound = encoded.max(1);
    for (what, v) in [
        ("groups", c.num_groups),
        ("reference group length", c.group_len_ref),
        ("last group length", c.group_len_last),
    ] {
        if v as usize > bound {
            return Err(format!("{what} {v} for {encoded} values"));
        }
    }
    Ok(())
}

#[cfg(test)]
/// Spreads `packed` values over the grid following section 6.
fn apply_bitmap(
    sect6: &[u8],
    packed: Vec<f32>,
    num_points: usize,
    id: MessageId,
) -> Result<Vec<f32>, DecodeError> {
    let corrupt = |reason: String| DecodeError::Corrupt {
        message: id,
        reason,
    };
    match sect6.get(5).copied() {
        Some(255) if packed.len() == num_points => Ok(packed),
        Some(255) => Err(corrupt(format!(
            "{} values packed for {num_points} points and no bit-map",
            packed.len()
        ))),
        Some(0) => {
            let bits = &sect6[6..];
            if bits.len().saturating_mul(8) < num_points {
                return Err(corrupt("bit-map shorter than the grid".into()));
            }
            let mut packed = packed.into_iter();
            let mut out = Vec::with_capacity(num_points);
            for k in 0..num_points {
                if bits[k / 8] & (0x80 >> (k % 8)) != 0 {
                    out.push(packed.next().ok_or_else(|| {
                        corrupt("bit-map marks more points than were packed".into())
                    })?);
                } else {
                    out.push(f32::NAN);
                }
            }
            Ok(out)
        }
        Some(n) => Err(DecodeError::Unsupported {
            message: id,
            what: format!("bit-map indicator {n}"),
        }),
        None => Err(corrupt("section 6 is too short".into())),
    }
}

fn from_grib(e: grib::GribError, id: MessageId) -> DecodeError {
    match e {
        grib::GribError::DecodeError(grib::DecodeError::NotSupported(what, n)) => {
            DecodeError::Unsupported {
                message: id,
                what: format!("value {n} of {what}"),
            }
        }
        grib::GribError::NotSupported(what) => DecodeError::Unsupported { message: id, what },
        other => DecodeError::Corrupt {
            message: id,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_display_like_wgrib2() {
        let id = |message, field| MessageId { message, field };
        assert_eq!(id(2, 0).to_string(), "3");
        assert_eq!(id(2, 1).to_string(), "3.2");
        let e = DecodeError::UnsupportedDataTemplate {
            message: id(2, 0),
            template: 4,
        };
        assert_eq!(
            e.to_string(),
            "message 3: data representation template 5.4 is not supported"
        );
    }

    #[test]
    fn bitmap_spreads_values() {
        let id = MessageId {
            message: 0,
            field: 0,
        };
        let sect6 = [0, 0, 0, 7, 6, 0, 0b1010_0000];
        let v = apply_bitmap(&sect6, vec![1.0, 2.0], 3, id).unwrap();
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 2.0);
        assert!(apply_bitmap(&sect6, vec![1.0], 3, id).is_err());
    }
}
