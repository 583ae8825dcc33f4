//! The `isolines` and `filled_contours` styles.
//!
//! Isolines are traced by marching squares on a node lattice fixed in world
//! pixel space ([`lattice`]), joined into polylines ([`march`]), stroked
//! with tiny-skia in fixed world blocks (`stroke`) and labelled from fixed
//! world cells ([`labels`]). Every image evaluates whole label cells plus
//! a node of margin, and every node,
//! crossing and label is a pure function of its world position, so
//! neighbouring tiles, or one larger image covering them, draw the same
//! pixels.
//!
//! Filled contours ([`filled`]) colour each pixel by its band.

pub mod filled;
pub mod labels;
pub mod lattice;
pub mod march;
mod stroke;

#[cfg(test)]
mod tests;

use protocol::style::{Rgba, default_contour_interval};
use protocol::{Cancel, RenderError, StyleSpec};
use tiny_skia::Pixmap;

use super::{Canvas, Footprint, raster};
pub use filled::Bands;
pub use labels::Label;
use lattice::NODE_STEP;
use protocol::grid::Grid;

/// Most bands or levels over a style's range; a finer interval is widened.
pub const MAX_LEVELS: usize = 250;
/// Most levels one image may cross before it is refused as unreadable
/// (data far outside the style's range with a tiny interval).
const MAX_IMAGE_LEVELS: f32 = 2000.0;

pub(crate) const INK: Rgba = [30, 30, 40, 255];
pub(crate) const INK_WIDTH: f32 = 1.2;
/// A faint white halo under the lines, so they read on dark maps.
const HALO: Rgba = [255, 255, 255, 90];
const HALO_WIDTH: f32 = 3.0;
const LABEL_HALO: Rgba = [255, 255, 255, 230];

/// The contour interval actually drawn, in display units: the style's, or
/// a 2, 5 or 10 multiple of it when that would give more than
/// [`MAX_LEVELS`] levels over the style's range. Depends only on the style,
/// so every tile agrees.
pub fn effective_interval(style: &StyleSpec) -> f32 {
    let valid = |i: f32| i.is_finite() && i > 0.0;
    let base = [
        style.contour_interval(),
        default_contour_interval(style.display_units, style.range),
    ]
    .into_iter()
    .find(|&i| valid(i))
    .unwrap_or(1.0);
    let span = (style.range.1 - style.range.0).abs();
    let mut interval = base;
    // 1, 2, 5, 10, 20, 50, … × base; a NaN span compares false and stops.
    let mut factors = [2.0, 2.5, 2.0].into_iter().cycle().take(60);
    while span / interval > MAX_LEVELS as f32 {
        match factors.next() {
            Some(f) => interval *= f,
            None => break,
        }
    }
    interval
}

/// Renders labelled contour lines of the field (or of the magnitude of a
/// (u, v) pair) at every multiple of the style's interval, as an RGBA PNG
/// covering `canvas`.
pub fn render_isolines(
    grids: &[&Grid],
    style: &StyleSpec,
    canvas: &Canvas,
    cancel: &Cancel,
) -> Result<Vec<u8>, RenderError> {
    let mut pix = raster::canvas(canvas.width, canvas.height)?;
    draw_isolines(&mut pix, grids, style, canvas, true, cancel)?;
    cancel.check()?;
    raster::encode_rgba_png(&pix)
}

/// Draws the isolines onto `pix`, which covers `canvas`, and returns the
/// labels drawn (none unless `with_labels`); stops after sampling and
/// after tracing once `cancel` is set.
pub fn draw_isolines(
    pix: &mut Pixmap,
    grids: &[&Grid],
    style: &StyleSpec,
    canvas: &Canvas,
    with_labels: bool,
    cancel: &Cancel,
) -> Result<Vec<Label>, RenderError> {
    if grids.is_empty() {
        return Err(RenderError::Invalid(
            "the style needs a source field".into(),
        ));
    }
    let interval = effective_interval(style);
    // Trace whole label cells, plus one node for line width at their edge:
    // the cells cover the image, and a cell's label depends on all of it.
    let (cols, rows) = labels::cells_for(canvas);
    let per_cell = (labels::LABEL_CELL / NODE_STEP) as i64;
    let nodes = |cells: &std::ops::RangeInclusive<i64>| {
        cells.start() * per_cell - 1..=(cells.end() + 1) * per_cell + 1
    };
    let lattice = lattice::sample_nodes(
        grids,
        canvas,
        nodes(&cols),
        nodes(&rows),
        style.display_conversion(),
    );
    if let Some((lo, hi)) = lattice.min_max()
        && (hi - lo) / interval > MAX_IMAGE_LEVELS
    {
        return Err(RenderError::Invalid(format!(
            "contour interval {interval} gives too many lines here; choose a wider one"
        )));
    }
    cancel.check()?;
    let levels = march::trace(&lattice, interval);
    cancel.check()?;
    stroke::stroke_lines(
        pix,
        &levels,
        canvas,
        &[(HALO, HALO_WIDTH), (INK, INK_WIDTH)],
    );
    if !with_labels {
        return Ok(Vec::new());
    }
    let placed = labels::place(&levels, interval, cols, rows);
    let (ox, oy) = canvas.origin();
    // floor(v + 0.5) of a world integer minus the origin: the image pixel
    // a world pixel lands on, rounded alike in every image.
    let local = |wx: i64, wy: i64| {
        (
            (wx as f64 - ox + 0.5).floor() as i64,
            (wy as f64 - oy + 0.5).floor() as i64,
        )
    };
    for label in &placed {
        let (x0, y0, x1, y1) = label.bounds();
        let (a, b) = local(x0, y0);
        let (c, d) = local(x1, y1);
        clear(pix, a, b, c, d);
        let (x, y) = local(label.x, label.y);
        raster::halo_text(pix, &label.text, x, y, INK, LABEL_HALO);
    }
    Ok(placed)
}

/// Makes pixels `[x0, x1) × [y0, y1)` transparent, clipped to the image.
fn clear(pix: &mut Pixmap, x0: i64, y0: i64, x1: i64, y1: i64) {
    let (w, h) = (i64::from(pix.width()), i64::from(pix.height()));
    let (x0, x1) = (x0.clamp(0, w), x1.clamp(0, w));
    let (y0, y1) = (y0.clamp(0, h), y1.clamp(0, h));
    if x0 >= x1 {
        return;
    }
    let data = pix.data_mut();
    for y in y0..y1 {
        let row = (y * w) as usize * 4;
        data[row + x0 as usize * 4..row + x1 as usize * 4].fill(0);
    }
}

/// Renders filled contour bands of the field (or of the magnitude of a
/// (u, v) pair) as a palette PNG.
pub fn render_filled(
    grids: &[&Grid],
    style: &StyleSpec,
    axes: &Footprint,
    cancel: &Cancel,
) -> Result<Vec<u8>, RenderError> {
    let bands = Bands::new(style);
    super::render_palette(
        grids,
        axes,
        (&bands.palette, bands.no_data_index),
        |v| bands.index(v),
        cancel,
    )
}
