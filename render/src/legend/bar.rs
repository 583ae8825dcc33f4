//! The colour bar legend: the ramp with ticks, a title and units, coloured
//! by the same value → colour mapping the tiles use.

use protocol::StyleSpec;
use protocol::style::Rgba;

use super::{format_value, heading};
use crate::encode::encode_indexed_png;
use crate::font::{self, GLYPH};

const FIXED: [Rgba; 4] = [
    [0, 0, 0, 0],
    [255, 255, 255, 230],
    [20, 20, 20, 255],
    [110, 110, 110, 255],
];
const BACKGROUND: u8 = 1;
const INK: u8 = 2;
const RULE: u8 = 3;
/// Ramp samples in the bar (the rest of the 256 palette entries).
const BAR_COLOURS: usize = 200;

/// Draws a horizontal colour bar legend `w`×`h` pixels (at least 120×48)
/// over the style's range, `color_of` giving the colour of a data value.
pub fn colour_bar(
    spec: &StyleSpec,
    title: &str,
    (w, h): (usize, usize),
    color_of: impl Fn(f32) -> Rgba,
) -> Result<Vec<u8>, png::EncodingError> {
    let (lo, hi) = spec.range;
    // The data value whose display value is d: invert the unit conversion.
    let (a, b) = spec.display_conversion();
    let data_value = |d: f32| (d - b) / a;
    let mut palette: Vec<Rgba> = FIXED.to_vec();
    palette.extend((0..BAR_COLOURS).map(|k| {
        color_of(data_value(
            lo + (hi - lo) * (k as f32 + 0.5) / BAR_COLOURS as f32,
        ))
    }));

    let mut px = vec![BACKGROUND; w * h];
    let heading = heading(title, spec.display_units.symbol(), (w - 8) / GLYPH);
    text(&mut px, w, 4, 4, &heading);

    let (x0, x1, y0, y1) = (8, w - 8, 16, h.saturating_sub(22).max(20));
    for y in y0..y1 {
        for x in x0..x1 {
            let k = (x - x0) * BAR_COLOURS / (x1 - x0);
            px[y * w + x] = (FIXED.len() + k.min(BAR_COLOURS - 1)) as u8;
        }
    }
    for x in x0..x1 {
        px[y0 * w + x] = RULE;
        px[(y1 - 1) * w + x] = RULE;
    }
    for t in nice_ticks(lo, hi, ((x1 - x0) / 48).max(2)) {
        let x = x0 + (((t - lo) / (hi - lo)) * (x1 - x0 - 1) as f32).round() as usize;
        for y in y1..(y1 + 4).min(h) {
            px[y * w + x] = INK;
        }
        let label = format_value(t);
        let lx = x
            .saturating_sub(label.chars().count() * GLYPH / 2)
            .min(w.saturating_sub(label.chars().count() * GLYPH));
        text(&mut px, w, lx, y1 + 6, &label);
    }
    encode_indexed_png(&px, w as u32, h as u32, &palette)
}

/// Up to `max` round tick values within [lo, hi].
pub fn nice_ticks(lo: f32, hi: f32, max: usize) -> Vec<f32> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || max == 0 {
        return vec![];
    }
    let raw = (hi - lo) / max as f32;
    let mag = 10f32.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f32 * step).collect()
}

/// Writes `s` in the 8×8 bitmap font at (x, y), clipped to the image.
fn text(px: &mut [u8], w: usize, x: usize, y: usize, s: &str) {
    let h = (px.len() / w) as i64;
    font::for_each_pixel(s, x as i64, y as i64, |gx, gy| {
        if gx < w as i64 && gy < h {
            px[gy as usize * w + gx as usize] = INK;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(
            nice_ticks(-40.0, 45.0, 5),
            vec![-40.0, -20.0, 0.0, 20.0, 40.0]
        );
        assert_eq!(
            nice_ticks(5.0, 75.0, 7),
            vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
        );
        assert_eq!(nice_ticks(5.0, 75.0, 6), vec![20.0, 40.0, 60.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!(nice_ticks(1.0, 1.0, 4).is_empty());
    }
}
