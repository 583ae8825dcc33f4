//! Complex packing's groups (templates 5.2 and 5.3, GRIB2 regulation
//! 92.9.4): a reference, a width and a length per group, then each group's
//! values packed in its own width. Each point's integer
//! `X = reference + value + z_min` (z_min is 0 for 5.2, the overall minimum
//! of the differences for 5.3) is written into the output as f32 bits,
//! missing values (code table 5.5) are flagged in a bit set, and a
//! finishing pass (scaling, or undoing spatial differencing) turns each
//! stretch of a few thousand integers into values while it is in cache.
//!
//! Behaviour follows the `grib` crate (0.20), which this replaces: the same
//! header checks, a value count cut to the points section 5 declares (extra
//! values in the last groups are ignored, too few is an error), and
//! integer arithmetic that wraps as the crate's release build does.

use grib::def::grib2::template::param_set::ComplexPacking;

use super::bits;
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

    /// Marks points `range` missing, a word at a time.
    fn set_range(&mut self, range: std::ops::Range<usize>) {
        let mut k = range.start;
        while k < range.end {
            let Some(word) = self.0.get_mut(k / 64) else {
                return;
            };
            let bits = (64 - k % 64).min(range.end - k);
            let ones = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            *word |= ones << (k % 64);
            k += bits;
        }
    }

    /// Writes NaN to the missing points of `values`, whose first point is
    /// point `at`: whole words of missing points at a time.
    pub(crate) fn fill_nan(&self, values: &mut [f32], at: usize) {
        let end = at + values.len();
        let mut k = at;
        while k < end {
            let word = self.0.get(k / 64).copied().unwrap_or(0) >> (k % 64);
            let bits = (64 - k % 64).min(end - k);
            let span = &mut values[k - at..k - at + bits];
            match word {
                0 => {}
                w if w.trailing_ones() as usize >= bits => span.fill(f32::NAN),
                mut w => {
                    while w != 0 {
                        let b = w.trailing_zeros() as usize;
                        if let Some(v) = span.get_mut(b) {
                            *v = f32::NAN;
                        }
                        w &= w - 1;
                    }
                }
            }
            k += bits;
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

/// Where complex packing's arrays start and how its integers are offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Octets of section 7 data before the group references (the spatial
    /// differencing descriptors of 5.3; 0 for 5.2).
    pub offset: usize,
    /// Width of the group references: section 5's bits per value.
    pub ref_bits: u8,
    /// Added to every integer: the overall minimum of the differences for
    /// 5.3, 0 for 5.2.
    pub z_min: i32,
}

/// Groups at least this long are unpacked by blocks of 8.
const LONG_GROUP: usize = 32;
/// Groups whose descriptors are decoded in one go.
const BATCH: usize = 256;
/// Points handed to the caller's finishing pass at a time (kept small
/// enough to still be in cache).
const FINISH_EVERY: usize = 8192;

/// Decodes `out.len()` points from complex-packed section 7 data (`data`
/// is section 7 after its header).
///
/// Each point's integer is written to `out` as f32 bits
/// (`f32::from_bits(x as u32)`), missing points (0 bits) are set in
/// `missing` (required when the field has missing-value management), and
/// every few thousand points `finish(points, index of the first, missing)`
/// turns the integers into values in place, front to back.
pub(crate) fn unpack(
    data: &[u8],
    c: &ComplexPacking,
    layout: Layout,
    out: &mut [f32],
    mut missing: Option<&mut MissingSet>,
    mut finish: impl FnMut(&mut [f32], usize, Option<&MissingSet>),
) -> Result<(), Fault> {
    check_supported(c)?;
    let corrupt = |s: String| Fault::Corrupt(s);
    let (offset, ref_bits, z_min) = (layout.offset, layout.ref_bits, layout.z_min);
    let n = c.num_groups as usize;
    if n == 0 || ref_bits > 31 || c.num_group_width_bits > 32 || c.num_group_len_bits > 32 {
        return Err(corrupt(format!(
            "{n} groups, {ref_bits}-bit references, {}-bit widths, {}-bit lengths",
            c.num_group_width_bits, c.num_group_len_bits
        )));
    }
    let mvm = c.missing_value_management;
    if mvm > 0 && missing.is_none() {
        return Err(corrupt("no room for missing values".into()));
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
    let descriptors = data.get(..lens_end).ok_or_else(too_short)?;
    let widths_bits = u32::from(c.num_group_width_bits);
    let lens_bits = u32::from(c.num_group_len_bits);

    let count = out.len();
    let (mut refs, mut widths, mut lens) = ([0u32; BATCH], [0u32; BATCH], [0u32; BATCH]);
    let (mut filled, mut finished, mut bit) = (0usize, 0usize, 0usize);
    let mut first = 0;
    while first < n {
        let m = (n - first).min(BATCH);
        // In range: the three arrays' octets were checked above.
        let read = |start: usize, width: u32, out: &mut [u32]| {
            bits::unpack_with(
                descriptors,
                start + first * width as usize,
                width,
                out,
                |v| v,
            )
            .map_err(|e| corrupt(format!("group descriptors: {e}")))
        };
        read(offset * 8, u32::from(ref_bits), &mut refs[..m])?;
        read(refs_end * 8, widths_bits, &mut widths[..m])?;
        read(widths_end * 8, lens_bits, &mut lens[..m])?;
        for j in 0..m {
            let g = first + j;
            let width = widths[j]
                .checked_add(u32::from(c.group_width_ref))
                .filter(|&w| w < 32)
                .ok_or_else(|| corrupt(format!("group {g} is wider than 31 bits")))?;
            let len = if g + 1 == n {
                c.group_len_last
            } else {
                lens[j]
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
                    reference: refs[j],
                    width,
                    add: refs[j].wrapping_add(z_min as u32),
                };
                let chunk = &mut out[filled..filled + take];
                match missing.as_deref_mut() {
                    Some(m) if mvm > 0 => {
                        group.ints_with_missing(values, bit, ref_bits, mvm, chunk, m, filled)
                    }
                    _ => group.ints(values, bit, chunk),
                }
                filled += take;
            }
            bit = end;
        }
        first += m;
        if filled - finished >= FINISH_EVERY {
            finish(&mut out[finished..filled], finished, missing.as_deref());
            finished = filled;
        }
    }
    if filled < count {
        return Err(corrupt(format!(
            "the groups hold {filled} values, section 5 declares {count}"
        )));
    }
    finish(&mut out[finished..filled], finished, missing.as_deref());
    Ok(())
}

/// One group's reference and width.
struct Group {
    reference: u32,
    width: u32,
    /// What turns a packed value into the point's integer (as u32 bits):
    /// the reference plus z_min, wrapping as the crate's i32 sums do.
    add: u32,
}

impl Group {
    /// The group's integers as f32 bits, without missing-value
    /// management. The caller has checked the group's bits against
    /// `values`.
    #[inline(always)]
    fn ints(&self, values: &[u8], bit: usize, out: &mut [f32]) {
        if self.width == 0 {
            out.fill(f32::from_bits(self.add));
            return;
        }
        // Long groups by blocks of constant width; short ones (where the
        // dispatch would cost more than it saves) one integer at a time.
        if out.len() >= LONG_GROUP {
            bits::unpack_add_by_width(values, bit, self.width, self.add, out);
        } else {
            bits::unpack_add(values, bit, self.width, self.add, out);
        }
    }

    /// [`Self::ints`] for fields with missing-value management: missing
    /// points (code table 5.5) are 0 and set in `missing`, whose index of
    /// `out[0]` is `at`.
    #[allow(clippy::too_many_arguments)]
    fn ints_with_missing(
        &self,
        values: &[u8],
        bit: usize,
        ref_bits: u8,
        mvm: u8,
        out: &mut [f32],
        missing: &mut MissingSet,
        at: usize,
    ) {
        let (primary, secondary) = self.missing_codes(ref_bits, mvm);
        let is_missing = |code: u32| code == primary || code == secondary;
        if self.width == 0 {
            if is_missing(self.reference) {
                out.fill(0.0);
                missing.set_range(at..at + out.len());
            } else {
                out.fill(f32::from_bits(self.add));
            }
            return;
        }
        let mut b = bit;
        for (k, o) in out.iter_mut().enumerate() {
            let v = bits::read(values, b, self.width);
            b += self.width as usize;
            *o = if is_missing(v) {
                missing.set(at + k);
                0.0
            } else {
                f32::from_bits(v.wrapping_add(self.add))
            };
        }
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

#[cfg(test)]
mod tests {
    use super::MissingSet;

    #[test]
    fn missing_ranges_across_words() {
        let mut m = MissingSet::new(200);
        m.set_range(3..5);
        m.set_range(60..140);
        m.set(199);
        let mut values = vec![1.0f32; 200];
        m.fill_nan(&mut values, 0);
        for (k, v) in values.iter().enumerate() {
            let want = (3..5).contains(&k) || (60..140).contains(&k) || k == 199;
            assert_eq!(v.is_nan(), want, "[{k}]");
            assert_eq!(m.contains(k), want, "[{k}]");
        }
        // A stretch that starts mid-word.
        let mut part = vec![1.0f32; 70];
        m.fill_nan(&mut part, 100);
        assert!(part[..40].iter().all(|v| v.is_nan()) && part[40..].iter().all(|v| !v.is_nan()));
    }
}
