//! Simple packing (template 5.0) and the scaling every packing shares:
//! `Y = (R + X·2^E)·10^−D`.
//!
//! The float operations are those of the `grib` crate's
//! `NonZeroSimplePackingDecoder` (0.20), in the same order and precision,
//! so results are bit-identical to it: the factors `2^E` and `10^−D` are
//! f32 `powi`, `X` is converted to f32 once, and
//! `(R + X·2^E)·10^−D` is evaluated in f32. A field with N = 0 is the
//! constant `R·10^−D` (the crate's `zero_bit_reference_value`), which
//! differs from the general formula for `R = −0.0`.

use grib::def::grib2::template::param_set::SimplePacking;

use super::bits::{self, BitsError};

/// The scaling of packed integers into values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    reference: f32,
    binary: f32,
    decimal: f32,
}

impl Scale {
    /// The factors of `p`, computed as the `grib` crate computes them.
    pub(crate) fn new(p: &SimplePacking) -> Self {
        Self {
            reference: p.ref_val,
            binary: 2_f32.powi(p.exp.into()),
            decimal: 10_f32.powi(-i32::from(p.dec)),
        }
    }

    /// The value of packed integer `x` (already converted to f32).
    #[inline(always)]
    pub(crate) fn apply(&self, x: f32) -> f32 {
        let diff = x * self.binary;
        (self.reference + diff) * self.decimal
    }

    /// The value of every point of a 0-bit simple-packed field.
    pub(crate) fn constant(&self) -> f32 {
        self.reference * self.decimal
    }
}

/// Unpacks a template 5.0 stream (`data` is section 7 after its 5-octet
/// header) into `out`, one value per packed integer. Widths above 32 bits
/// are refused (see [`bits::MAX_WIDTH`]).
pub(crate) fn unpack(data: &[u8], p: &SimplePacking, out: &mut [f32]) -> Result<(), BitsError> {
    let scale = Scale::new(p);
    if p.num_bits == 0 {
        out.fill(scale.constant());
        return Ok(());
    }
    let width = u32::from(p.num_bits);
    if width < 32 {
        // Below 2^31: the signed conversion (which vectorises) is exact
        // where the unsigned one is, and rounds identically elsewhere.
        bits::unpack_aligned(data, width, out, |x| scale.apply(x as i32 as f32))
    } else {
        bits::unpack_aligned(data, width, out, |x| scale.apply(x as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ref_val: f32, exp: i16, dec: i16, num_bits: u8) -> SimplePacking {
        SimplePacking {
            ref_val,
            exp,
            dec,
            num_bits,
        }
    }

    #[test]
    fn scales_like_the_formula() {
        // R = 100, E = −1, D = 1: (100 + X/2)/10.
        let mut out = [0f32; 4];
        unpack(
            &[0x00, 0x01, 0x02, 0xff],
            &params(100.0, -1, 1, 8),
            &mut out,
        )
        .unwrap();
        let want: Vec<f32> = [0f32, 1.0, 2.0, 255.0]
            .iter()
            .map(|x| (100.0 + x * 0.5) * 10f32.powi(-1))
            .collect();
        assert_eq!(out.to_vec(), want);
    }

    #[test]
    fn zero_bits_is_a_constant_field_and_keeps_negative_zero() {
        let mut out = [1f32; 5];
        unpack(&[], &params(273.15, 0, 0, 0), &mut out).unwrap();
        assert_eq!(out, [273.15; 5]);
        unpack(&[], &params(-0.0, 3, 2, 0), &mut out).unwrap();
        assert!(out.iter().all(|v| v.to_bits() == (-0.0f32).to_bits()));
    }

    #[test]
    fn thirty_two_bits_and_truncation() {
        let mut out = [0f32; 2];
        unpack(&[0xff; 8], &params(0.0, 0, 0, 32), &mut out).unwrap();
        assert_eq!(out, [u32::MAX as f32; 2]);
        assert!(unpack(&[0xff; 7], &params(0.0, 0, 0, 32), &mut out).is_err());
        assert!(unpack(&[0xff; 16], &params(0.0, 0, 0, 33), &mut out).is_err());
    }
}
