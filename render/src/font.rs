//! The 8×8 bitmap font shared by legends and contour labels.

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};

/// Glyph width and height in pixels.
pub const GLYPH: usize = 8;

/// The bitmap of `c`: one byte per row, bit `k` set for column `k`.
pub fn glyph(c: char) -> [u8; 8] {
    let code = c as usize;
    match code {
        0..=127 => BASIC_LEGACY[code],
        0xA0..=0xFF => LATIN_LEGACY[code - 0xA0],
        0x2026 => [0, 0, 0, 0, 0, 0, 0b0100_1001, 0], // …
        0x2070..=0x209F => BASIC_LEGACY[b'^' as usize], // super- and subscripts
        _ => BASIC_LEGACY[b'?' as usize],
    }
}

/// Width in pixels of `s` set in the font.
pub fn text_width(s: &str) -> usize {
    s.chars().count() * GLYPH
}

/// Calls `set(x, y)` for every inked pixel of `s` set at (x, y).
pub fn for_each_pixel(s: &str, x: i64, y: i64, mut set: impl FnMut(i64, i64)) {
    for (n, c) in s.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH {
                if bits >> col & 1 == 1 {
                    set(x + (n * GLYPH + col) as i64, y + row as i64);
                }
            }
        }
    }
}
