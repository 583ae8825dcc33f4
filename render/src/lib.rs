//! Drawing tiles from grids: sample → style → encode.
//!
//! - the gradient ([`Gradient`]) and filled contours colour every pixel
//!   from a palette (indexed PNG);
//! - isolines and wind symbols draw onto an RGBA [`Canvas`] placed
//!   in world pixel space, so their lattices line up across tiles.

mod canvas;
mod contour;
pub mod crs;
mod encode;
mod font;
mod gradient;
mod imagery;
mod legend;
mod raster;
mod sample;
mod wind;

use protocol::style::StyleKind;
use protocol::{Cancel, RenderError, RenderJob};

use protocol::grid::Grid;

pub use canvas::Canvas;
pub use gradient::Gradient;
pub use legend::legend_png;
pub use sample::{
    Axes, Footprint, MAX_LATTICE_ERROR_PX, PixelCoords, TileFrame, pixel_coords, sample,
    sample_axes, sample_footprint, value_at,
};
pub use wind::MAX_SYMBOLS;

/// Renders `job` from its decoded source grids (in `job.sources` order: the
/// field, then the v component of a vector layer). CPU-bound: call it from
/// a blocking thread.
pub fn render_tile(grids: &[&Grid], job: &RenderJob) -> Result<Vec<u8>, RenderError> {
    render_tile_until(grids, job, &Cancel::default())
}

/// [`render_tile`] that stops with [`RenderError::Cancelled`] at the next
/// stage boundary (sampled, traced, drawn, before encoding) once `cancel`
/// is set.
pub fn render_tile_until(
    grids: &[&Grid],
    job: &RenderJob,
    cancel: &Cancel,
) -> Result<Vec<u8>, RenderError> {
    cancel.check()?;
    let key = &job.key;
    let frame = TileFrame {
        tms: key.tms,
        z: key.z,
        x: key.x,
        y: key.y,
        size: key.tile_size,
    };
    let (axes, canvas) = match &job.area {
        Some(area) if !area.crs.is_separable() => {
            // Symbols and isolines reach beyond the image; colours do not.
            let margin = match job.style.kind {
                StyleKind::Gradient | StyleKind::FilledContours => 0,
                _ => protocol::limits::TRANSFORM_MARGIN_PX,
            };
            let mesh = std::sync::Arc::new(
                crs::Mesh::build(area, margin)
                    .map_err(|e| RenderError::Invalid(format!("map CRS: {e}")))?,
            );
            cancel.check()?;
            (
                Footprint::Mesh {
                    mesh: mesh.clone(),
                    width: area.width as usize,
                    height: area.height as usize,
                },
                Canvas::for_area(area, Some(mesh)),
            )
        }
        Some(area) => (
            Footprint::Axes(Axes {
                lons: area.pixel_lons(),
                lats: area.pixel_lats(),
            }),
            Canvas::for_area(area, None),
        ),
        None => (Footprint::Axes(frame.axes()), Canvas::for_tile(&frame)),
    };
    match job.style.kind {
        StyleKind::Gradient | StyleKind::GradientSqrt => {
            render_gradient(grids, &job.style, &axes, cancel)
        }
        StyleKind::WindBarbs | StyleKind::WindArrows => {
            wind::render(grids, &job.style, &canvas, cancel)
        }
        StyleKind::Isolines => contour::render_isolines(grids, &job.style, &canvas, cancel),
        StyleKind::FilledContours => contour::render_filled(grids, &job.style, &axes, cancel),
    }
}

/// The field's value under every pixel: the magnitude of a (u, v) pair
/// when a second grid is given.
pub fn sample_field(grids: &[&Grid], axes: &Footprint) -> Result<Vec<f32>, RenderError> {
    let grid = grids
        .first()
        .ok_or_else(|| RenderError::Invalid("the style needs a source field".into()))?;
    let mut values = sample::sample_footprint(grid, axes);
    if let Some(v_grid) = grids.get(1) {
        let v = sample::sample_footprint(v_grid, axes);
        values.iter_mut().zip(v).for_each(|(u, v)| *u = u.hypot(v));
    }
    Ok(values)
}

/// A palette image of the field (or of the magnitude of a (u, v) pair).
fn render_gradient(
    grids: &[&Grid],
    style: &protocol::StyleSpec,
    axes: &Footprint,
    cancel: &Cancel,
) -> Result<Vec<u8>, RenderError> {
    let gradient = Gradient::new(style);
    render_palette(
        grids,
        axes,
        (&gradient.palette, gradient.no_data_index),
        |v| gradient.index(v),
        cancel,
    )
}

/// Every pixel's value ([`sample_field`]) through `index` into `palette`,
/// encoded as an indexed PNG. Missing points on the grid's footprint take
/// palette entry `no_data` (0, transparent, unless the style tints them, so
/// "no radar coverage" reads apart from "no echo"); outside it they stay
/// transparent.
pub(crate) fn render_palette(
    grids: &[&Grid],
    axes: &Footprint,
    (palette, no_data): (&[protocol::style::Rgba], u8),
    index: impl Fn(f32) -> u8,
    cancel: &Cancel,
) -> Result<Vec<u8>, RenderError> {
    let (width, height) = (axes.width() as u32, axes.height() as u32);
    let encode = |indices: &[u8]| {
        encode::encode_indexed_png(indices, width, height, palette)
            .map_err(|e| RenderError::Internal(format!("png encode: {e}")))
    };
    if let ([grid], Footprint::Axes(axes)) = (grids, axes)
        && let Some(indices) = imagery::palette_indices(grid, axes, no_data, &index)
    {
        cancel.check()?;
        return encode(&indices);
    }
    let values = sample_field(grids, axes)?;
    cancel.check()?;
    let mut indices: Vec<u8> = values.iter().map(|&v| index(v)).collect();
    if no_data != 0 {
        let on_grid = sample::on_grid(grids[0], axes);
        for ((i, v), inside) in indices.iter_mut().zip(&values).zip(on_grid) {
            if inside && v.is_nan() {
                *i = no_data;
            }
        }
    }
    encode(&indices)
}
