//! The `wind_barbs` and `wind_arrows` styles: one symbol per point of a
//! lattice fixed in world pixel space (see [`Canvas`]), from a (u, v) pair
//! sampled at that point, turned to true north when the grid's winds are
//! grid-relative, and drawn from pre-rasterised [`sprites`].

pub mod sprites;

use protocol::style::{Rgba, StyleKind};
use protocol::{RenderError, StyleSpec};
use tiny_skia::Pixmap;

use super::raster::{self, blit_mask};
use super::{Canvas, Gradient, sample};
use protocol::grid::Grid;

/// Symbol colour when not coloured by speed.
pub(crate) const INK: Rgba = [20, 20, 30, 255];
/// Halo drawn under each symbol.
const HALO: Rgba = [255, 255, 255, 210];
/// Most symbols one image may hold: a 4096 px square map at the closest
/// spacing the gateway allows (16 px) needs about 150,000.
pub const MAX_SYMBOLS: usize = 1 << 18;

/// Renders a wind style for `canvas` as an RGBA PNG. `grids` are the u and
/// v components, in that order.
pub fn render(
    grids: &[&Grid],
    style: &StyleSpec,
    canvas: &Canvas,
    cancel: &protocol::Cancel,
) -> Result<Vec<u8>, RenderError> {
    let [u, v, ..] = grids else {
        return Err(RenderError::Invalid(format!(
            "{} needs a (u, v) wind layer",
            style.kind.name()
        )));
    };
    let mut pix = raster::canvas(canvas.width, canvas.height)?;
    draw(&mut pix, u, v, style, canvas)?;
    cancel.check()?;
    raster::encode_rgba_png(&pix)
}

/// The earth-relative wind (east, north) in data units at a point; `None`
/// where either component is missing.
pub fn wind_at(u: &Grid, v: &Grid, lon: f64, lat: f64) -> Option<(f32, f32)> {
    let (i, j) = u.locate(lon, lat)?;
    let (i, j) = (i as f32, j as f32);
    let (a, b) = (sample::value_at(u, i, j), sample::value_at(v, i, j));
    if a.is_nan() || b.is_nan() {
        return None;
    }
    Some(u.to_earth_relative(lon, lat, a, b))
}

/// The length of a full-speed arrow at symbol `spacing`: it stays clear of
/// its neighbours.
pub fn max_arrow_length(spacing: f64) -> f64 {
    (sprites::MAX_ARROW as f64).min(spacing - 4.0).max(6.0)
}

/// Draws the symbols onto `pix`, which covers `canvas`; refuses (before
/// drawing) an image that would hold more than [`MAX_SYMBOLS`].
pub fn draw(
    pix: &mut Pixmap,
    u: &Grid,
    v: &Grid,
    style: &StyleSpec,
    canvas: &Canvas,
) -> Result<(), RenderError> {
    let spacing = canvas.periodic_step(f64::from(style.symbol_spacing.max(8)));
    // Speeds have no offset between units: only the scale matters.
    let (to_display, _) = style.display_conversion();
    let by_speed = style.color_by_speed.then(|| Gradient::new(style));
    // Arrows reach full length at the top of the style's range, growing
    // with the square root of speed so light winds (5-15 kt of an 80 kt
    // range: a quarter to 43 % of full length) are arrows, not smudges.
    let full_speed = style.range.1.max(f32::EPSILON);
    let max_arrow = max_arrow_length(spacing);
    let offset = (spacing / 2.0).floor();
    for (wx, wy) in canvas.lattice(spacing, offset, sprites::MAX_RADIUS, MAX_SYMBOLS)? {
        let (lon, lat) = canvas.lonlat(wx, wy);
        if !(lon.is_finite() && lat.is_finite()) {
            continue; // outside a PROJ CRS's domain
        }
        let Some((east, north)) = wind_at(u, v, lon, lat) else {
            continue;
        };
        let speed = east.hypot(north);
        let color = match &by_speed {
            Some(g) => g.color(speed),
            None => INK,
        };
        if color[3] == 0 {
            continue; // below the style's transparency threshold
        }
        let display_speed = speed * to_display;
        // Where the wind blows to, on screen.
        let to = canvas.screen_bearing((wx, wy), lat, f64::from(east), f64::from(north));
        if !to.is_finite() {
            continue;
        }
        let sprite = match style.kind {
            StyleKind::WindArrows => {
                if display_speed < 0.5 {
                    continue;
                }
                let t = f64::from((display_speed / full_speed).min(1.0)).sqrt();
                sprites::arrow((t * max_arrow).round().max(5.0) as usize, to)
            }
            _ => sprites::barb(display_speed, to + std::f64::consts::PI, lat < 0.0),
        };
        // `floor(x + 0.5)` rounds ties the same way on both sides of a seam.
        let (lx, ly) = canvas.to_local(wx, wy);
        let (x0, y0) = (
            (lx + 0.5).floor() as i64 - sprite.anchor.0,
            (ly + 0.5).floor() as i64 - sprite.anchor.1,
        );
        blit_mask(pix, &sprite.halo, x0, y0, HALO);
        blit_mask(pix, &sprite.ink, x0, y0, color);
    }
    Ok(())
}
