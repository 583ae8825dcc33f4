//! Complex packing's groups (templates 5.2 and 5.3, GRIB2 regulation
//! 92.9.4): a reference, a width and a length per group, then each group's
//! values packed in its own width. Each point's integer
//! `X = reference + value + z_min` (z_min is 0 for 5.2, the overall minimum
//! of the differences for 5.3) goes through the caller's map straight
//! into the output; missing values (code table 5.5) become NaN and are
//! flagged for the differencing pass.
//!
//! Behaviour follows the `grib` crate (0.20), which this replaces: the same
//! header checks, a value count cut to the points section 5 declares (extra
//! values in the last groups are ignored, too few is an error), and
//! integer arithmetic that wraps as the crate's release build does.

use grib::def::grib2::template::param_set::ComplexPacking;

use super::bits::{self, BitCursor};
use super::{Fault, unsupported};

/// One bit per encoded point, set where the point is missing.
pub(crate) struct MissingSet(Vec<u64>);

impl MissingSet {
    /// No point of `n` missing.
    pub(crate) fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }

    fn set(&mut self, k: usize) {
        if let Some(word) = self.0.get_mut(k / 64) {
            *word |= 1 << (k % 64);
        }
    }

    /// Whether point `k` is missing.
    #[inline(always)]
    pub(crate) fn contains(&self, k: usize) -> bool {
        self.0.get(k / 64).is_some_and(|w| w & (1 << (k % 64)) != 0)
    }
}

/// Checks the parameters of `c` that the decoder does not implement.
pub(crate) fn check_supported(c: &ComplexPacking) -> Result<(), Fault> {
    if c.group_splitting_method != 1 {
        return Err(unsupported(
            "GRIB2 code table 5.4 (group splitting method)",
            c.group_splitting_method,
        ));
    }
    if c.missing_value_management > 2 {
        return Err(unsupported(
            "GRIB2 code table 5.5 (missing value management for complex packing)",
            c.missing_value_management,
        ));
    }
    Ok(())
}

/// The octets that `n` entries of `width` bits occupy.
fn octets(n: usize, width: u8) -> Result<usize, Fault> {
    n.checked_mul(usize::from(width))
        .map(|b| b.div_ceil(8))
        .ok_or_else(|| Fault::Corrupt("group descriptors overflow".into()))
}

/// Decodes `out.len()` points from complex-packed section 7 data (`data`
/// is section 7 after its header; the group references start `offset`
/// octets in, after any spatial-differencing descriptors). `ref_bits` is
/// the width of the group references (section 5's bits per value).
///
/// Each point's integer goes through `map` into `out`; missing points are
/// NaN, and set in `missing` when one is given.
pub(crate) fn unpack(
    data: &[u8],
    offset: usize,
    c: &ComplexPacking,
    ref_bits: u8,
    z_min: i32,
    out: &mut [f32],
    map: impl Fn(i32) -> f32,
    mut missing: Option<&mut MissingSet>,
) -> Result<(), Fault> {
    check_supported(c)?;
    let corrupt = |s: String| Fault::Corrupt(s);
    let n = c.num_groups as usize;
    if n == 0 || ref_bits > 31 || c.num_group_width_bits > 32 || c.num_group_len_bits > 32 {
        return Err(corrupt(format!(
            "{n} groups, {ref_bits}-bit references, {}-bit widths, {}-bit lengths",
            c.num_group_width_bits, c.num_group_len_bits
        )));
    }
    let too_short = || corrupt("section 7 is shorter than the group descriptors".into());
    let refs_end = offset
        .checked_add(octets(n, ref_bits)?)
        .ok_or_else(too_short)?;
    let widths_end = refs_end
        .checked_add(octets(n, c.num_group_width_bits)?)
        .ok_or_else(too_short)?;
    let lens_end = widths_end
        .checked_add(octets(n, c.num_group_len_bits)?)
        .ok_or_else(too_short)?;
    let values = data.get(lens_end..).ok_or_else(too_short)?;
    let available_bits = values.len().saturating_mul(8);

    let mvm = c.missing_value_management;
    let count = out.len();
    let mut refs = BitCursor::new(data, offset * 8);
    let mut widths = BitCursor::new(data, refs_end * 8);
    let mut lens = BitCursor::new(data, widths_end * 8);
    let (mut filled, mut bit) = (0usize, 0usize);
    for g in 0..n {
        let reference = refs.next(u32::from(ref_bits));
        let width = widths
            .next(u32::from(c.num_group_width_bits))
            .checked_add(u32::from(c.group_width_ref))
            .filter(|&w| w < 32)
            .ok_or_else(|| corrupt(format!("group {g} is wider than 31 bits")))?;
        let len = if g + 1 == n {
            c.group_len_last
        } else {
            lens.next(u32::from(c.num_group_len_bits))
                .checked_mul(u32::from(c.group_len_inc))
                .and_then(|l| l.checked_add(c.group_len_ref))
                .ok_or_else(|| corrupt(format!("group {g}'s length overflows")))?
        };
        let end = (width as usize)
            .checked_mul(len as usize)
            .and_then(|b| b.checked_add(bit))
            .filter(|&end| end <= available_bits)
            .ok_or_else(|| corrupt("section 7 is shorter than its groups".into()))?;
        let take = (len as usize).min(count - filled);
        if take > 0 {
            let group = Group {
                reference,
                width,
                z_min,
            };
            let chunk = &mut out[filled..filled + take];
            let section7 = |e: bits::BitsError| corrupt(format!("section 7: {e}"));
            if mvm == 0 {
                if width == 0 {
                    chunk.fill(map(group.int(0)));
                } else {
                    bits::unpack_with(values, bit, width, chunk, |v| map(group.int(v)))
                        .map_err(section7)?;
                }
            } else {
                let (primary, secondary) = group.missing_codes(ref_bits, mvm);
                let is_missing = |code: u32| code == primary || code == secondary;
                if width == 0 {
                    if is_missing(reference) {
                        chunk.fill(f32::NAN);
                        if let Some(m) = missing.as_deref_mut() {
                            (filled..filled + take).for_each(|k| m.set(k));
                        }
                    } else {
                        chunk.fill(map(group.int(0)));
                    }
                } else {
                    // Raw values first, then sorted into missing and integers.
                    bits::unpack_with(values, bit, width, chunk, f32::from_bits)
                        .map_err(section7)?;
                    for (k, o) in chunk.iter_mut().enumerate() {
                        let v = o.to_bits();
                        if is_missing(v) {
                            *o = f32::NAN;
                            if let Some(m) = missing.as_deref_mut() {
                                m.set(filled + k);
                            }
                        } else {
                            *o = map(group.int(v));
                        }
                    }
                }
            }
            filled += take;
        }
        bit = end;
    }
    if filled < count {
        return Err(corrupt(format!(
            "the groups hold {filled} values, section 5 declares {count}"
        )));
    }
    Ok(())
}

/// One group's reference and width.
struct Group {
    reference: u32,
    width: u32,
    z_min: i32,
}

impl Group {
    /// The integer of packed value `v`.
    #[inline(always)]
    fn int(&self, v: u32) -> i32 {
        (v.wrapping_add(self.reference) as i32).wrapping_add(self.z_min)
    }

    /// The codes that mark a point missing, primary and secondary: all
    /// ones, and all ones but the last bit (management 2 only), in the
    /// group's width, or in the references' width for a constant group
    /// (width 0, where the reference holds the code). A code that cannot
    /// occur stands for "none" (`u32::MAX`, above any value of fewer than
    /// 32 bits).
    fn missing_codes(&self, ref_bits: u8, mvm: u8) -> (u32, u32) {
        let bits = if self.width == 0 {
            u32::from(ref_bits)
        } else {
            self.width
        };
        let primary = (1u32 << bits) - 1;
        // With 0-bit references both codes are 0, as in the crate.
        let secondary = if mvm == 2 {
            primary.saturating_sub(1)
        } else {
            u32::MAX
        };
        (primary, secondary)
    }
}
