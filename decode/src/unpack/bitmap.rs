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
    Present {
        /// The bit-map's octets (at least enough for the grid).
        bits: &'a [u8],
        /// How many of the grid's points it marks.
        marked: usize,
    },
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
                let covering = bits
                    .get(..num_points.div_ceil(8))
                    .ok_or_else(|| Fault::Corrupt("bit-map shorter than the grid".into()))?;
                let marked = count_marked(covering, num_points);
                if marked != encoded {
                    return Err(Fault::Corrupt(format!(
                        "bit-map marks {marked} points, section 5 declares {encoded} values"
                    )));
                }
                Ok(Self::Present { bits, marked })
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
        self.spread_with(grid, f32::NAN);
    }

    /// [`Self::spread`] for any point type, writing `missing` at the
    /// points without a value.
    pub(crate) fn spread_with<T: Copy>(&self, grid: &mut [T], missing: T) {
        let Self::Present { bits, marked } = *self else {
            return;
        };
        let n = grid.len();
        let whole = (n / 8).min(bits.len());
        let mut src = n.saturating_sub(marked);
        let (mut k, mut at) = (0, 0);
        while k < whole {
            match bits[k] {
                // Runs of whole octets: one move, or one fill.
                0xff => {
                    let run = run_of(&bits[k..whole], 0xff);
                    let len = (8 * run).min(n.saturating_sub(src));
                    grid.copy_within(src..src + len, at);
                    (src, at, k) = (src + len, at + 8 * run, k + run);
                }
                0x00 => {
                    let run = run_of(&bits[k..whole], 0x00);
                    grid[at..at + 8 * run].fill(missing);
                    (at, k) = (at + 8 * run, k + run);
                }
                byte => {
                    src = spread_bits(grid, byte, at, 8, src, missing);
                    (at, k) = (at + 8, k + 1);
                }
            }
        }
        if let Some(&byte) = bits.get(whole).filter(|_| at < n) {
            spread_bits(grid, byte, at, n - at, src, missing);
        }
    }
}

/// How many of `bits` (1 to 8 per octet) mark a point, over the first
/// `n` bits.
fn count_marked(bits: &[u8], n: usize) -> usize {
    let whole = (n / 8).min(bits.len());
    let words = bits[..whole].chunks_exact(8);
    let tail = words.remainder();
    let mut marked: usize = words
        .map(|w| {
            u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones()
                as usize
        })
        .sum();
    marked += tail.iter().map(|b| b.count_ones() as usize).sum::<usize>();
    if let Some(&last) = bits.get(whole).filter(|_| !n.is_multiple_of(8)) {
        marked += (last >> (8 - n % 8)).count_ones() as usize;
    }
    marked
}

/// The number of leading octets of `bits` equal to `value` (at least 1
/// when the first one is).
fn run_of(bits: &[u8], value: u8) -> usize {
    bits.iter().position(|&b| b != value).unwrap_or(bits.len())
}

/// Spreads one octet's `count` points (most significant bit first) from
/// `grid[src..]` to `grid[at..]`; returns the new read position. Reads
/// past the grid (impossible after [`Bitmap::read`]) give `missing`.
#[inline]
fn spread_bits<T: Copy>(
    grid: &mut [T],
    byte: u8,
    at: usize,
    count: usize,
    mut src: usize,
    missing: T,
) -> usize {
    for b in 0..count {
        let v = if byte & (0x80 >> b) != 0 {
            src += 1;
            grid.get(src - 1).copied().unwrap_or(missing)
        } else {
            missing
        };
        if let Some(slot) = grid.get_mut(at + b) {
            *slot = v;
        }
    }
    src
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
