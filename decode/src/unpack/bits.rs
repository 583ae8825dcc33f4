//! Word-at-a-time extraction of big-endian N-bit unsigned integers
//! (N = 0..=32), the bit stream layout of GRIB2 section 7.
//!
//! Each value is read with one unaligned 8-byte load, a left shift by its
//! bit offset within the first byte and a right shift that keeps its N bits:
//! N + 7 ≤ 64 bits always fit one window. Near the end of the buffer the
//! window is assembled from the bytes that remain, padded with zeros.

/// The widest integer these readers extract.
pub(crate) const MAX_WIDTH: u32 = 32;

/// The 8 bytes of `data` from `byte` on as a big-endian word, zero-padded
/// past the end of `data`.
#[inline(always)]
fn window(data: &[u8], byte: usize) -> u64 {
    match data.get(byte..).and_then(<[u8]>::first_chunk::<8>) {
        Some(chunk) => u64::from_be_bytes(*chunk),
        None => short_window(data, byte),
    }
}

/// [`window`] for the last 7 bytes of the buffer (and beyond it).
#[cold]
#[inline(never)]
fn short_window(data: &[u8], byte: usize) -> u64 {
    let rest = data.get(byte..).unwrap_or_default();
    let mut buf = [0u8; 8];
    let n = rest.len().min(8);
    buf[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(buf)
}

/// The `width`-bit integer (1..=32) starting `bit` bits into `data`; bits
/// past the end of `data` read as zeros.
#[inline(always)]
pub(crate) fn read(data: &[u8], bit: usize, width: u32) -> u32 {
    ((window(data, bit >> 3) << (bit & 7)) >> (64 - width)) as u32
}

/// Why a bit stream could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitsError {
    /// The width is above [`MAX_WIDTH`].
    TooWide(u32),
    /// The values need more bits than the buffer holds.
    TooShort {
        needed_bits: usize,
        available_bits: usize,
    },
}

impl std::fmt::Display for BitsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooWide(w) => write!(f, "{w}-bit integers are wider than {MAX_WIDTH} bits"),
            Self::TooShort {
                needed_bits,
                available_bits,
            } => write!(f, "{needed_bits} bits needed, {available_bits} available"),
        }
    }
}

/// Checks that `count` integers of `width` bits starting `start` bits into
/// a buffer of `len` bytes lie inside it; returns the bit just past them.
pub(crate) fn span(len: usize, start: usize, width: u32, count: usize) -> Result<usize, BitsError> {
    if width > MAX_WIDTH {
        return Err(BitsError::TooWide(width));
    }
    let available_bits = len.saturating_mul(8);
    let end = (width as usize)
        .checked_mul(count)
        .and_then(|b| b.checked_add(start))
        .filter(|&end| end <= available_bits)
        .ok_or(BitsError::TooShort {
            needed_bits: start.saturating_add((width as usize).saturating_mul(count)),
            available_bits,
        })?;
    Ok(end)
}

/// Unpacks `out.len()` integers of `width` bits (0..=32), packed back to
/// back from bit `start` of `data`, writing `map(integer)` to each slot.
/// A width of 0 reads no bits: every integer is 0.
///
/// Checks the whole span against `data` first and writes nothing when it
/// does not fit.
#[inline]
pub(crate) fn unpack_with<T>(
    data: &[u8],
    start: usize,
    width: u32,
    out: &mut [T],
    mut map: impl FnMut(u32) -> T,
) -> Result<(), BitsError> {
    span(data.len(), start, width, out.len())?;
    if width == 0 {
        out.iter_mut().for_each(|o| *o = map(0));
        return Ok(());
    }
    let mut bit = start;
    for o in out.iter_mut() {
        *o = map(read(data, bit, width));
        bit += width as usize;
    }
    Ok(())
}

/// Writes `out.len()` integers of `width` bits (1..=31) from bit `start`
/// of `data`, each plus `add` (wrapping), as f32 bits: complex packing's
/// per-group loop. Kept out of line so that its few variables stay in
/// registers. The caller has checked the span; bits past the end of
/// `data` would read as zeros.
#[inline(never)]
pub(crate) fn unpack_add(data: &[u8], start: usize, width: u32, add: u32, out: &mut [f32]) {
    let mut bit = start;
    for o in out.iter_mut() {
        *o = f32::from_bits(read(data, bit, width).wrapping_add(add));
        bit += width as usize;
    }
}

/// [`unpack_add`] by blocks of 8 integers with the width `N` a constant:
/// 8 integers of `N` bits span `N` whole bytes, so every block starts at
/// the same bit within its first byte, and one 40-byte window serves the
/// whole block. The integers left over, and blocks too close to the end of
/// `data` for a window, go through [`unpack_add`].
fn unpack_add_blocks<const N: usize>(data: &[u8], start: usize, add: u32, out: &mut [f32]) {
    let first = start & 7;
    let mut done = 0;
    for (k, chunk) in out.chunks_exact_mut(8).enumerate() {
        let Some(block) = data
            .get((start >> 3) + k * N..)
            .and_then(<[u8]>::first_chunk::<40>)
        else {
            break;
        };
        for (i, o) in chunk.iter_mut().enumerate() {
            // At most 7 + 7·31 bits in: the window's first 36 bytes.
            let bit = first + i * N;
            let at = bit >> 3;
            let w = match block[at..at + 8].try_into() {
                Ok(bytes) => u64::from_be_bytes(bytes),
                Err(_) => 0,
            };
            *o = f32::from_bits((((w << (bit & 7)) >> (64 - N)) as u32).wrapping_add(add));
        }
        done += 8;
    }
    if done < out.len() {
        unpack_add(data, start + done * N, N as u32, add, &mut out[done..]);
    }
}

/// [`unpack_add`] specialised for each width (1..=31), by blocks of 8
/// (see [`unpack_add_blocks`]).
pub(crate) fn unpack_add_by_width(
    data: &[u8],
    start: usize,
    width: u32,
    add: u32,
    out: &mut [f32],
) {
    macro_rules! by_width {
        ($($n:literal)*) => {
            match width {
                $($n => unpack_add_blocks::<$n>(data, start, add, out),)*
                _ => unpack_add(data, start, width, add, out),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
}

/// [`unpack_with`] for integers that start at bit 0 of `data`, 8 at a
/// time: 8 integers of `N` bits fill exactly `N` bytes, so within each
/// block every load offset and shift is a constant. Blocks that lie too
/// close to the end of `data` for a 40-byte window, and the last
/// `out.len() % 8` integers, go through [`unpack_with`].
#[inline]
fn unpack_blocks<const N: usize, T>(
    data: &[u8],
    out: &mut [T],
    mut map: impl FnMut(u32) -> T,
) -> Result<(), BitsError> {
    span(data.len(), 0, N as u32, out.len())?;
    let mut done = 0;
    for (k, chunk) in out.chunks_exact_mut(8).enumerate() {
        let Some(block) = data.get(k * N..).and_then(<[u8]>::first_chunk::<40>) else {
            break;
        };
        for (i, o) in chunk.iter_mut().enumerate() {
            let (byte, shift) = (i * N / 8, i * N % 8);
            // A constant range of a 40-byte array: one load, no check.
            let w = match block[byte..byte + 8].try_into() {
                Ok(bytes) => u64::from_be_bytes(bytes),
                Err(_) => 0,
            };
            *o = map(((w << shift) >> (64 - N)) as u32);
        }
        done += 8;
    }
    unpack_with(data, done * N, N as u32, &mut out[done..], map)
}

/// Unpacks `out.len()` integers of `width` bits (0..=32) packed back to
/// back from the start of `data`, as [`unpack_with`] does, with the
/// block-wise loop of [`unpack_blocks`] specialised for each width.
pub(crate) fn unpack_aligned<T>(
    data: &[u8],
    width: u32,
    out: &mut [T],
    mut map: impl FnMut(u32) -> T,
) -> Result<(), BitsError> {
    macro_rules! by_width {
        ($($n:literal)*) => {
            match width {
                $($n => unpack_blocks::<$n, T>(data, out, map),)*
                _ => unpack_with(data, 0, width, out, map),
            }
        };
    }
    // Whole bytes: plain byte-order conversions, which vectorise.
    match width {
        8 => {
            span(data.len(), 0, width, out.len())?;
            for (o, &b) in out.iter_mut().zip(data) {
                *o = map(u32::from(b));
            }
            Ok(())
        }
        16 => {
            span(data.len(), 0, width, out.len())?;
            for (o, c) in out.iter_mut().zip(data.chunks_exact(2)) {
                *o = map(u32::from(u16::from_be_bytes([c[0], c[1]])));
            }
            Ok(())
        }
        _ => {
            by_width!(1 2 3 4 5 6 7 9 10 11 12 13 14 15 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference reader.
    fn naive(data: &[u8], start: usize, width: u32, count: usize) -> Vec<u32> {
        (0..count)
            .map(|k| {
                (0..width as usize).fold(0u32, |acc, b| {
                    let bit = start + k * width as usize + b;
                    let set = data[bit / 8] & (0x80 >> (bit % 8)) != 0;
                    (acc << 1) | u32::from(set)
                })
            })
            .collect()
    }

    #[test]
    fn every_width_and_offset_matches_a_bitwise_reader() {
        let mut rng = fastrand::Rng::with_seed(7);
        for width in 0..=32u32 {
            for start in [0usize, 1, 3, 7, 8, 13] {
                for count in [0usize, 1, 2, 7, 8, 9, 16, 64, 101] {
                    let bytes = (start + width as usize * count).div_ceil(8);
                    let data: Vec<u8> = (0..bytes).map(|_| rng.u8(..)).collect();
                    let mut out = vec![0u32; count];
                    unpack_with(&data, start, width, &mut out, |v| v).unwrap();
                    assert_eq!(
                        out,
                        naive(&data, start, width, count),
                        "w{width} s{start} n{count}"
                    );
                    if start == 0 {
                        let mut blocks = vec![0u32; count];
                        unpack_aligned(&data, width, &mut blocks, |v| v).unwrap();
                        assert_eq!(blocks, out, "aligned w{width} n{count}");
                    }
                    if width > 0 {
                        let one_by_one: Vec<u32> = (0..count)
                            .map(|k| read(&data, start + k * width as usize, width))
                            .collect();
                        assert_eq!(one_by_one, out);
                    }
                    if (1..32).contains(&width) {
                        let add = rng.u32(..);
                        let mut by_width = vec![0f32; count];
                        unpack_add_by_width(&data, start, width, add, &mut by_width);
                        let want: Vec<u32> = out.iter().map(|v| v.wrapping_add(add)).collect();
                        let got: Vec<u32> = by_width.iter().map(|v| v.to_bits()).collect();
                        assert_eq!(got, want, "by width w{width} s{start} n{count}");
                    }
                }
            }
        }
    }

    #[test]
    fn all_ones_at_32_bits_and_counts_not_a_multiple_of_8_bits() {
        let mut out = [0u32; 2];
        unpack_with(&[0xff; 8], 0, 32, &mut out, |v| v).unwrap();
        assert_eq!(out, [u32::MAX; 2]);
        // Three 5-bit values: 15 bits in 2 bytes, the last bit padding.
        let mut out = [0u32; 3];
        unpack_with(&[0b1000_1000, 0b1100_0111], 0, 5, &mut out, |v| v).unwrap();
        assert_eq!(out, [0b10001, 0b00011, 0b00011]);
    }

    #[test]
    fn short_buffers_and_wide_integers_are_errors() {
        let mut out = [0u32; 3];
        assert_eq!(
            unpack_with(&[0u8; 1], 0, 5, &mut out, |v| v),
            Err(BitsError::TooShort {
                needed_bits: 15,
                available_bits: 8
            })
        );
        assert_eq!(
            unpack_with(&[0u8; 64], 0, 33, &mut out, |v| v),
            Err(BitsError::TooWide(33))
        );
        assert!(unpack_with(&[], usize::MAX, 1, &mut out, |v| v).is_err());
        assert!(span(10, 0, 32, usize::MAX).is_err());
        // Zero-width values need no bytes at all.
        unpack_with(&[], 0, 0, &mut out, |v| v + 9).unwrap();
        assert_eq!(out, [9; 3]);
    }
}
