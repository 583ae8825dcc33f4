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

/// The integer that complex packing stored in `v`.
#[inline(always)]
fn int(v: f32) -> i64 {
    i64::from(v.to_bits() as i32)
}

/// Undoes spatial differencing stretch by stretch, front to back: the
/// integers complex packing left in the values as f32 bits (differences
/// plus z_min) are replaced by the scaled original values.
pub(crate) struct Undo {
    d: Descriptors,
    scale: Scale,
    /// Non-missing points seen so far.
    seen: usize,
    /// The last two original integers.
    p1: i64,
    p2: i64,
}

impl Undo {
    /// Before the first point.
    pub(crate) fn new(d: Descriptors, scale: Scale) -> Self {
        Self {
            d,
            scale,
            seen: 0,
            p1: 0,
            p2: 0,
        }
    }

    /// The next stretch of points; `missing` (indexed from the field's
    /// first point, which is `values[0]` here when `at` is 0) marks points
    /// that take NaN and no part in the recurrence.
    pub(crate) fn run(&mut self, values: &mut [f32], at: usize, missing: Option<&MissingSet>) {
        let order = usize::from(self.d.order);
        match missing {
            None => {
                // The first `order` points take the first values.
                let lead = order.saturating_sub(self.seen).min(values.len());
                for v in &mut values[..lead] {
                    let x = self.d.first[self.seen];
                    self.push(x);
                    *v = self.scale.apply(x as f32);
                }
                let rest = &mut values[lead..];
                if order == 1 {
                    self.first_order(rest);
                } else {
                    self.second_order(rest);
                }
            }
            Some(missing) => {
                for (k, v) in values.iter_mut().enumerate() {
                    if missing.contains(at + k) {
                        *v = f32::NAN;
                        continue;
                    }
                    let x = match self.d.first.get(self.seen).filter(|_| self.seen < order) {
                        Some(&f) => f,
                        None if order == 1 => int(*v).wrapping_add(self.p1),
                        None => int(*v)
                            .wrapping_add(self.p1.wrapping_mul(2))
                            .wrapping_sub(self.p2),
                    };
                    self.push(x);
                    *v = self.scale.apply(x as f32);
                }
            }
        }
    }

    fn push(&mut self, x: i64) {
        (self.p2, self.p1) = (self.p1, x);
        self.seen += 1;
    }

    /// `x = d + x₋₁`, as a running sum.
    fn first_order(&mut self, values: &mut [f32]) {
        let mut x = self.p1;
        for v in values.iter_mut() {
            x = int(*v).wrapping_add(x);
            *v = self.scale.apply(x as f32);
        }
        if !values.is_empty() {
            (self.p2, self.p1) = (self.p1, x);
            self.seen += values.len();
        }
    }

    /// `x = d + 2·x₋₁ − x₋₂`, as two running sums: the first difference
    /// `y = x − x₋₁` grows by `d`, and `x` by `y`. In wrapping arithmetic
    /// this is the same integer, with a shorter dependency chain.
    fn second_order(&mut self, values: &mut [f32]) {
        let (mut x, mut y) = (self.p1, self.p1.wrapping_sub(self.p2));
        for v in values.iter_mut() {
            y = y.wrapping_add(int(*v));
            x = x.wrapping_add(y);
            *v = self.scale.apply(x as f32);
        }
        if !values.is_empty() {
            (self.p2, self.p1) = (x.wrapping_sub(y), x);
            self.seen += values.len();
        }
    }
}

/// Scales complex-packed integers (5.2) in place: the integers are f32
/// bits; points in `missing` (indexed from `at`) become NaN.
pub(crate) fn scale_ints(
    values: &mut [f32],
    at: usize,
    missing: Option<&MissingSet>,
    scale: &Scale,
) {
    for v in values.iter_mut() {
        *v = scale.apply(v.to_bits() as i32 as f32);
    }
    if let Some(missing) = missing {
        missing.fill_nan(values, at);
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
