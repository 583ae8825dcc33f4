//! Spatial differencing (template 5.3, GRIB2 regulation 92.9.4): the
//! descriptors at the start of section 7 and the pass that rebuilds the
//! original integers from first- or second-order differences and scales
//! them into values.
//!
//! As in the `grib` crate (0.20): missing points are skipped (they neither
//! take a first value nor break the recurrence), the first one or two
//! non-missing points take the first values from the descriptors, and the
//! recurrence runs in i64 with wrapping arithmetic.

use super::Fault;
use super::complex::MissingSet;
use super::simple::Scale;

/// The descriptors of spatial differencing in section 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptors {
    /// Order of differencing: 1 or 2 (code table 5.6).
    pub order: u8,
    /// The first `order` original values.
    pub first: [i64; 2],
    /// Overall minimum of the differences, added to every group reference.
    pub z_min: i32,
    /// Octets the descriptors take; the group references follow.
    pub len: usize,
}

/// Big-endian unsigned integer of up to 4 octets.
fn unsigned(bytes: &[u8]) -> i64 {
    bytes.iter().fold(0, |v, &b| (v << 8) | i64::from(b))
}

/// GRIB2 sign-and-magnitude integer of 1 to 4 octets.
fn signed(bytes: &[u8]) -> i32 {
    let magnitude = bytes.iter().enumerate().fold(0u32, |v, (k, &b)| {
        (v << 8) | u32::from(if k == 0 { b & 0x7f } else { b })
    });
    let magnitude = magnitude as i32;
    match bytes.first() {
        Some(b) if b & 0x80 != 0 => -magnitude,
        _ => magnitude,
    }
}

/// Reads the descriptors from the start of `data` (section 7 after its
/// header): `order` first values, then the minimum, `octets` octets each.
pub(crate) fn descriptors(data: &[u8], order: u8, octets: u8) -> Result<Descriptors, Fault> {
    if !(1..=2).contains(&order) {
        return Err(super::unsupported(
            "GRIB2 code table 5.6 (order of spatial differencing)",
            order,
        ));
    }
    if !(1..=4).contains(&octets) {
        return Err(Fault::Corrupt(format!(
            "{octets} octets per spatial differencing descriptor"
        )));
    }
    let size = usize::from(octets);
    let len = usize::from(order + 1) * size;
    let bytes = data
        .get(..len)
        .ok_or_else(|| Fault::Corrupt("section 7 is shorter than its descriptors".into()))?;
    let mut first = [0i64; 2];
    for (k, f) in first.iter_mut().take(usize::from(order)).enumerate() {
        *f = unsigned(&bytes[k * size..(k + 1) * size]);
    }
    Ok(Descriptors {
        order,
        first,
        z_min: signed(&bytes[len - size..]),
        len,
    })
}

/// Rebuilds the original integers from the differences (plus z_min) that
/// complex packing left in `values` as integer bits (`f32::from_bits(x as
/// u32)`), and replaces each with its scaled value; points in `missing`
/// (already NaN) are skipped.
pub(crate) fn undo_and_scale(
    values: &mut [f32],
    missing: Option<&MissingSet>,
    d: &Descriptors,
    scale: &Scale,
) {
    match missing {
        None if d.order == 1 => first_order(values, d.first[0], scale),
        None => second_order(values, d.first, scale),
        Some(missing) => with_missing(values, missing, d, scale),
    }
}

/// The integer that complex packing stored in `v`.
#[inline(always)]
fn int(v: f32) -> i64 {
    i64::from(v.to_bits() as i32)
}

fn first_order(values: &mut [f32], first: i64, scale: &Scale) {
    let mut prev = first;
    for (k, v) in values.iter_mut().enumerate() {
        if k > 0 {
            prev = int(*v).wrapping_add(prev);
        }
        *v = scale.apply(prev as f32);
    }
}

fn second_order(values: &mut [f32], first: [i64; 2], scale: &Scale) {
    let (mut p2, mut p1) = (first[0], first[1]);
    for (v, f) in values.iter_mut().zip(first) {
        *v = scale.apply(f as f32);
    }
    for v in values.iter_mut().skip(2) {
        let x = int(*v).wrapping_add(p1.wrapping_mul(2)).wrapping_sub(p2);
        (p2, p1) = (p1, x);
        *v = scale.apply(x as f32);
    }
}

fn with_missing(values: &mut [f32], missing: &MissingSet, d: &Descriptors, scale: &Scale) {
    let (mut seen, mut p1, mut p2) = (0usize, 0i64, 0i64);
    for (k, v) in values.iter_mut().enumerate() {
        if missing.contains(k) {
            continue;
        }
        let x = match d.first.get(seen).filter(|_| seen < usize::from(d.order)) {
            Some(&f) => f,
            None if d.order == 1 => int(*v).wrapping_add(p1),
            None => int(*v).wrapping_add(p1.wrapping_mul(2)).wrapping_sub(p2),
        };
        (p2, p1) = (p1, x);
        seen += 1;
        *v = scale.apply(x as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_integers() {
        assert_eq!(signed(&[0x80, 0x05]), -5);
        assert_eq!(signed(&[0x00, 0x05]), 5);
        assert_eq!(signed(&[0xff, 0xff, 0xff, 0xff]), -i32::MAX);
        assert_eq!(signed(&[0x81, 0x00, 0x00]), -0x10000);
        assert_eq!(unsigned(&[0xff, 0xff, 0xff, 0xff]), 0xffff_ffff);
        let d = descriptors(&[0, 10, 0, 12, 0x80, 3, 99], 2, 2).unwrap();
        assert_eq!((d.first, d.z_min, d.len), ([10, 12], -3, 6));
        assert!(descriptors(&[0, 10, 0, 12, 0x80], 2, 2).is_err());
        assert!(descriptors(&[0; 16], 2, 5).is_err());
        assert!(descriptors(&[0; 16], 3, 1).is_err());
    }
}
