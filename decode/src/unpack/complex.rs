//! Complex packing's groups (templates 5.2 and 5.3, GRIB2 regulation
//! 92.9.4): a reference, a width and a length per group, then each group's
//! values packed in its own width. Decodes into integers
//! `X = reference + value + z_min` (z_min is 0 for 5.2, the overall minimum
//! of the differences for 5.3), with missing values (code table 5.5)
//! flagged alongside.
//!
//! Behaviour follows the `grib` crate (0.20), which this replaces: the same
//! header checks, a value count cut to the points section 5 declares (extra
//! values in the last groups are ignored, too few is an error), and
//! integer arithmetic that wraps as the crate's release build does.

use grib::def::grib2::template::param_set::ComplexPacking;

use super::bits::{self, BitCursor};
use super::{Fault, unsupported};

/// Integers decoded from complex packing, one per encoded point.
pub(crate) struct Unpacked {
    /// `reference + value + z_min` for each point (0 where missing).
    pub ints: Vec<i32>,
    /// Which points are missing; `None` when the field has no
    /// missing-value management.
    pub missing: Option<Vec<bool>>,
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

/// Decodes `count` integers from complex-packed section 7 data (`data`
/// is section 7 after its header; the group references start `offset`
/// octets in, after any spatial-differencing descriptors). `ref_bits` is
/// the width of the group references (section 5's bits per value).
pub(crate) fn unpack_ints(
    data: &[u8],
    offset: usize,
    c: &ComplexPacking,
    ref_bits: u8,
    z_min: i32,
    count: usize,
) -> Result<Unpacked, Fault> {
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
    let mut ints = vec![0i32; count];
    let mut missing = (mvm > 0).then(|| vec![false; count]);
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
            let range = filled..filled + take;
            let group = Group {
                reference,
                width,
                z_min,
            };
            match missing.as_mut() {
                None => group.unpack(values, bit, &mut ints[range])?,
                Some(flags) => {
                    group.unpack_raw(values, bit, &mut ints[range.clone()])?;
                    group.flag_missing(ref_bits, mvm, &mut ints[range.clone()], &mut flags[range]);
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
    Ok(Unpacked { ints, missing })
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

    /// The group's integers, without missing-value management.
    fn unpack(&self, values: &[u8], bit: usize, out: &mut [i32]) -> Result<(), Fault> {
        bits::unpack_with(values, bit, self.width, out, |v| self.int(v))
            .map_err(|e| Fault::Corrupt(format!("section 7: {e}")))
    }

    /// The group's raw packed values (the reference for a constant group),
    /// for [`Self::flag_missing`] to sort into missing and integers.
    fn unpack_raw(&self, values: &[u8], bit: usize, out: &mut [i32]) -> Result<(), Fault> {
        if self.width == 0 {
            out.fill(self.reference as i32);
            return Ok(());
        }
        bits::unpack_with(values, bit, self.width, out, |v| v as i32)
            .map_err(|e| Fault::Corrupt(format!("section 7: {e}")))
    }

    /// Turns raw values into integers and missing flags. The missing
    /// codes are all ones (primary) and all ones but the last bit
    /// (secondary, management 2) in the group's width, or in the
    /// references' width for a constant group (width 0).
    fn flag_missing(&self, ref_bits: u8, mvm: u8, ints: &mut [i32], missing: &mut [bool]) {
        if self.width == 0 {
            let primary = (1u32 << ref_bits) - 1;
            let secondary = primary.saturating_sub(1);
            let r = self.reference;
            let is_missing = r == primary || (mvm == 2 && r == secondary);
            let int = (r as i32).wrapping_add(self.z_min);
            ints.fill(if is_missing { 0 } else { int });
            missing.fill(is_missing);
            return;
        }
        let primary = (1u32 << self.width) - 1;
        let secondary = primary - 1;
        for (int, flag) in ints.iter_mut().zip(missing.iter_mut()) {
            let v = *int as u32;
            let is_missing = v == primary || (mvm == 2 && v == secondary);
            *flag = is_missing;
            *int = if is_missing { 0 } else { self.int(v) };
        }
    }
}
