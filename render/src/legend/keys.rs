//! Legends for the styles that draw lines or symbols rather than colours:
//! a key of sample symbols drawn with the very sprites the map uses.

use protocol::style::Rgba;
use protocol::{RenderError, StyleSpec};
use tiny_skia::{Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::{format_value, heading};
use crate::contour;
use crate::font::GLYPH;
use crate::raster::{self, blit_mask, halo_text};
use crate::wind::sprites::{self, Sprite};
use crate::wind::{self, INK};

const BACKGROUND: Rgba = [255, 255, 255, 230];
/// Symbol halos on the white card.
const HALO: Rgba = [255, 255, 255, 255];

/// A white card with the heading written on it.
fn card(spec: &StyleSpec, title: &str, w: usize, h: usize) -> Result<Pixmap, RenderError> {
    let mut pix = raster::canvas(w, h)?;
    let [r, g, b, a] = BACKGROUND;
    pix.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
    let text = heading(title, spec.display_units.symbol(), (w - 8) / GLYPH);
    halo_text(&mut pix, &text, 4, 4, INK, BACKGROUND);
    Ok(pix)
}

/// Draws `sprite` with its station at (x, y).
fn stamp(pix: &mut Pixmap, sprite: &Sprite, x: i64, y: i64) {
    let (x0, y0) = (x - sprite.anchor.0, y - sprite.anchor.1);
    blit_mask(pix, &sprite.halo, x0, y0, HALO);
    blit_mask(pix, &sprite.ink, x0, y0, INK);
}

/// Writes `s` centred on `x` with its top at `y`.
fn caption(pix: &mut Pixmap, s: &str, x: i64, y: i64) {
    let half = (s.chars().count() * GLYPH / 2) as i64;
    halo_text(pix, s, x - half, y, INK, BACKGROUND);
}

/// Barbs for calm, 5, 10, 25 and 50 units (as many as fit), staffs to
/// the west as for a westerly wind in the northern hemisphere.
pub fn barbs_key(
    spec: &StyleSpec,
    title: &str,
    w: usize,
    h: usize,
) -> Result<Vec<u8>, RenderError> {
    let mut pix = card(spec, title, w, h)?;
    let speeds = [0.0f32, 5.0, 10.0, 25.0, 50.0];
    let slot = 60;
    let fit = (w / slot).clamp(1, speeds.len());
    let y = (h as i64 - 12).clamp(20, 36);
    for (n, &speed) in speeds.iter().take(fit).enumerate() {
        // The staff runs 22 px west of the station: leave room for it.
        let x = (n * slot) as i64 + 36;
        stamp(
            &mut pix,
            sprites::barb(speed, 1.5 * std::f64::consts::PI, false),
            x,
            y,
        );
        let label = if speed == 0.0 {
            "calm".to_owned()
        } else {
            format_value(speed)
        };
        caption(&mut pix, &label, x - 8, y + 8);
    }
    raster::encode_rgba_png(&pix)
}

/// Arrows at the full-length speed (the top of the style's range) and
/// half of it.
pub fn arrows_key(
    spec: &StyleSpec,
    title: &str,
    w: usize,
    h: usize,
) -> Result<Vec<u8>, RenderError> {
    let mut pix = card(spec, title, w, h)?;
    let full = spec.range.1;
    let max_len = wind::max_arrow_length(f64::from(spec.symbol_spacing));
    let y = (h as i64 - 12).clamp(20, 34);
    for (n, frac) in [1.0f64, 0.5].into_iter().enumerate() {
        let x = 40 + (n as i64) * 90;
        let len = (max_len * frac).round() as usize;
        stamp(
            &mut pix,
            sprites::arrow(len, std::f64::consts::FRAC_PI_2),
            x,
            y,
        );
        caption(&mut pix, &format_value(full * frac as f32), x, y + 8);
    }
    raster::encode_rgba_png(&pix)
}

/// A sample contour line and its interval.
pub fn isolines_key(
    spec: &StyleSpec,
    title: &str,
    w: usize,
    h: usize,
) -> Result<Vec<u8>, RenderError> {
    let mut pix = card(spec, title, w, h)?;
    let y = (h as f32 - 16.0).clamp(20.0, 30.0);
    let mut path = PathBuilder::new();
    path.move_to(8.0, y);
    path.cubic_to(30.0, y - 8.0, 50.0, y + 8.0, 72.0, y);
    if let Some(path) = path.finish() {
        let [r, g, b, a] = contour::INK;
        let mut paint = Paint::default();
        paint.set_color_rgba8(r, g, b, a);
        paint.anti_alias = true;
        let stroke = Stroke {
            width: contour::INK_WIDTH,
            ..Stroke::default()
        };
        pix.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
    }
    let units = spec.display_units.symbol();
    let text = format!(
        "every {} {units}",
        format_value(contour::effective_interval(spec))
    );
    halo_text(&mut pix, text.trim_end(), 84, y as i64 - 4, INK, BACKGROUND);
    raster::encode_rgba_png(&pix)
}
