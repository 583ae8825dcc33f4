//! Section 6, the bit-map: which grid points have a value in section 7.
//! Packed values are decoded into the tail of the output grid and spread
//! forward in place, so no second buffer is needed.

use super::Fault;

/// Where section 6 says the values go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bitmap<'a> {
    /// No bit-map: every point has a value.
    Absent,
    /// One bit per grid point, most significant first; 1 marks a value.
    Present(&'a [u8]),
}

impl<'a> Bitmap<'a> {
    /// Reads section 6 (the whole section, header included) and checks it
    /// against the grid's `num_points` and the `encoded` count of section
    /// 5, as the `grib` crate does: without a bit-map both counts agree;
    /// with one, it covers the grid and marks exactly `encoded` points.
    pub(crate) fn read(sect6: &'a [u8], num_points: usize, encoded: usize) -> Result<Self, Fault> {
        match sect6.get(5).copied() {
            Some(255) if encoded == num_points => Ok(Self::Absent),
            Some(255) => Err(Fault::Corrupt(format!(
                "{encoded} values packed for {num_points} points and no bit-map"
            ))),
            Some(0) => {
                let bits = sect6.get(6..).unwrap_or_default();
                let (whole, rest) = (num_points / 8, num_points % 8);
                let covering = bits
                    .get(..num_points.div_ceil(8))
                    .ok_or_else(|| Fault::Corrupt("bit-map shorter than the grid".into()))?;
                let mut marked: usize = covering[..whole]
                    .iter()
                    .map(|b| b.count_ones() as usize)
                    .sum();
                if rest > 0 {
                    marked += (covering[whole] >> (8 - rest)).count_ones() as usize;
                }
                if marked != encoded {
                    return Err(Fault::Corrupt(format!(
                        "bit-map marks {marked} points, section 5 declares {encoded} values"
                    )));
                }
                Ok(Self::Present(bits))
            }
            Some(n) => Err(super::unsupported(
                "GRIB2 code table 6.0 (bit map indicator)",
                n,
            )),
            None => Err(Fault::Corrupt("section 6 is too short".into())),
        }
    }

    /// Spreads the packed values held at the end of `grid` over the points
    /// the bit-map marks, front to back, writing NaN at the others.
    ///
    /// Expects what [`Self::read`] checked: the map marks exactly as many of
    /// the grid's points as there are packed values. The read position
    /// then never falls behind the write position (it starts ahead by the
    /// number of unmarked points, and each unmarked point closes the gap by
    /// one), so values are moved before they are overwritten.
    pub(crate) fn spread(&self, grid: &mut [f32]) {
        let Self::Present(bits) = *self else { return };
        let n = grid.len();
        let marked: usize = bits
            .iter()
            .take(n / 8)
            .map(|b| b.count_ones() as usize)
            .sum::<usize>()
            + bits
                .get(n / 8)
                .filter(|_| n % 8 > 0)
                .map_or(0, |b| (b >> (8 - n % 8)).count_ones() as usize);
        let mut src = n.saturating_sub(marked);
        let mut k = 0;
        for &byte in bits.iter().take(n / 8) {
            match byte {
                0xff => {
                    grid.copy_within(src..src + 8, k);
                    src += 8;
                }
                0x00 => grid[k..k + 8].fill(f32::NAN),
                _ => {
                    for b in 0..8 {
                        if byte & (0x80 >> b) != 0 {
                            grid[k + b] = grid[src];
                            src += 1;
                        } else {
                            grid[k + b] = f32::NAN;
                        }
                    }
                }
            }
            k += 8;
        }
        if let Some(&byte) = bits.get(n / 8) {
            for b in 0..n - k {
                if byte & (0x80 >> b) != 0 {
                    grid[k + b] = grid[src];
                    src += 1;
                } else {
                    grid[k + b] = f32::NAN;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sect6(bits: &[u8]) -> Vec<u8> {
        let mut s = vec![0, 0, 0, (6 + bits.len()) as u8, 6, 0];
        s.extend_from_slice(bits);
        s
    }

    #[test]
    fn spreads_in_place() {
        let s = sect6(&[0b1010_0000]);
        let map = Bitmap::read(&s, 3, 2).unwrap();
        let mut grid = [0.0, 1.0, 2.0];
        map.spread(&mut grid);
        assert_eq!(grid[0], 1.0);
        assert!(grid[1].is_nan());
        assert_eq!(grid[2], 2.0);
        assert!(Bitmap::read(&s, 3, 1).is_err());
        assert!(Bitmap::read(&s, 9, 2).is_err());
    }

    #[test]
    fn whole_bytes_mixed_bytes_and_a_partial_last_byte() {
        // 21 points: 8 present, 8 absent, then 10110 (3 present).
        let s = sect6(&[0xff, 0x00, 0b1011_0111]);
        let map = Bitmap::read(&s, 21, 11).unwrap();
        let mut grid = vec![-1.0; 21];
        let tail = 21 - 11;
        for (k, v) in grid[tail..].iter_mut().enumerate() {
            *v = k as f32;
        }
        map.spread(&mut grid);
        let want: Vec<Option<f32>> = (0..8)
            .map(|k| Some(k as f32))
            .chain((0..8).map(|_| None))
            .chain([Some(8.0), None, Some(9.0), Some(10.0), None])
            .collect();
        let got: Vec<Option<f32>> = grid.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn all_missing_and_no_bitmap() {
        let s = sect6(&[0, 0]);
        let map = Bitmap::read(&s, 13, 0).unwrap();
        let mut grid = vec![0.0; 13];
        map.spread(&mut grid);
        assert!(grid.iter().all(|v| v.is_nan()));
        assert!(matches!(
            Bitmap::read(&[0, 0, 0, 6, 6, 255], 4, 4),
            Ok(Bitmap::Absent)
        ));
        assert!(Bitmap::read(&[0, 0, 0, 6, 6, 255], 4, 3).is_err());
        assert!(matches!(
            Bitmap::read(&[0, 0, 0, 6, 6, 254], 4, 4),
            Err(Fault::Unsupported(_))
        ));
    }
}
