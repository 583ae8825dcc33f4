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

/// Rebuilds the original integers from `diffs` (differences plus z_min,
/// as complex packing decoded them) and writes their scaled values to
/// `out`; NaN where `missing` says so.
pub(crate) fn undo_and_scale(
    diffs: &[i32],
    missing: Option<&[bool]>,
    d: &Descriptors,
    scale: &Scale,
    out: &mut [f32],
) {
    match missing {
        None if d.order == 1 => first_order(diffs, d.first[0], scale, out),
        None => second_order(diffs, d.first, scale, out),
        Some(missing) => with_missing(diffs, missing, d, scale, out),
    }
}

fn first_order(diffs: &[i32], first: i64, scale: &Scale, out: &mut [f32]) {
    let mut prev = first;
    for (k, (&v, o)) in diffs.iter().zip(out.iter_mut()).enumerate() {
        if k > 0 {
            prev = i64::from(v).wrapping_add(prev);
        }
        *o = scale.apply(prev as f32);
    }
}

fn second_order(diffs: &[i32], first: [i64; 2], scale: &Scale, out: &mut [f32]) {
    let (mut p2, mut p1) = (first[0], first[1]);
    for (o, f) in out.iter_mut().zip(first) {
        *o = scale.apply(f as f32);
    }
    for (&v, o) in diffs.iter().zip(out.iter_mut()).skip(2) {
        let x = i64::from(v)
            .wrapping_add(p1.wrapping_mul(2))
            .wrapping_sub(p2);
        (p2, p1) = (p1, x);
        *o = scale.apply(x as f32);
    }
}

fn with_missing(diffs: &[i32], missing: &[bool], d: &Descriptors, scale: &Scale, out: &mut [f32]) {
    let (mut seen, mut p1, mut p2) = (0usize, 0i64, 0i64);
    for ((&v, &gone), o) in diffs.iter().zip(missing).zip(out.iter_mut()) {
        if gone {
            *o = f32::NAN;
            continue;
        }
        let x = match d.first.get(seen).filter(|_| seen < usize::from(d.order)) {
            Some(&f) => f,
            None if d.order == 1 => i64::from(v).wrapping_add(p1),
            None => i64::from(v)
                .wrapping_add(p1.wrapping_mul(2))
                .wrapping_sub(p2),
        };
        (p2, p1) = (p1, x);
        seen += 1;
        *o = scale.apply(x as f32);
    }
}

/// Scales complex-packed integers without spatial differencing (5.2).
pub(crate) fn scale_ints(ints: &[i32], missing: Option<&[bool]>, scale: &Scale, out: &mut [f32]) {
    match missing {
        None => {
            for (&v, o) in ints.iter().zip(out.iter_mut()) {
                *o = scale.apply(v as f32);
            }
        }
        Some(missing) => {
            for ((&v, &gone), o) in ints.iter().zip(missing).zip(out.iter_mut()) {
                *o = if gone { f32::NAN } else { scale.apply(v as f32) };
            }
        }
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
