//! Drawing tiles from grids: sample → style → encode.

pub mod encode;
pub mod gradient;
pub mod legend;
pub mod sample;

use protocol::style::StyleKind;
use protocol::{RenderError, RenderJob};

use crate::data::Grid;
pub use gradient::Gradient;
pub use sample::{Axes, TileFrame};

/// Renders `job` from its decoded source grids (in `job.sources` order).
/// CPU-bound: call it from a blocking thread.
pub fn render_tile(grids: &[&Grid], job: &RenderJob) -> Result<Vec<u8>, RenderError> {
    let key = &job.key;
    let frame = TileFrame {
        tms: key.tms,
        z: key.z,
        x: key.x,
        y: key.y,
        size: key.tile_size,
    };
    let axes = match &job.area {
        Some(area) => Axes {
            lons: area.pixel_lons(),
            lats: area.pixel_lats(),
        },
        None => frame.axes(),
    };
    match job.style.kind {
        StyleKind::Gradient => render_gradient(grids, &job.style, &axes),
    }
}

/// A palette image of the field (or of the magnitude of a (u, v) pair).
fn render_gradient(
    grids: &[&Grid],
    style: &protocol::StyleSpec,
    axes: &Axes,
) -> Result<Vec<u8>, RenderError> {
    let grid = grids
        .first()
        .ok_or_else(|| RenderError::Invalid("gradient needs one source field".into()))?;
    let gradient = Gradient::new(style);
    let mut values = sample::sample_axes(grid, axes);
    // A vector layer (u, v) is drawn as its magnitude.
    if let Some(v_grid) = grids.get(1) {
        let v = sample::sample_axes(v_grid, axes);
        values.iter_mut().zip(v).for_each(|(u, v)| *u = u.hypot(v));
    }
    let indices: Vec<u8> = values.into_iter().map(|v| gradient.index(v)).collect();
    encode::encode_indexed_png(
        &indices,
        axes.width() as u32,
        axes.height() as u32,
        &gradient.palette,
    )
    .map_err(|e| RenderError::Internal(format!("png encode: {e}")))
}
