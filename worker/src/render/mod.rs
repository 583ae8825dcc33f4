//! Drawing tiles from grids: sample → style → encode.

pub mod encode;
pub mod gradient;
pub mod legend;
pub mod sample;

use protocol::style::StyleKind;
use protocol::{RenderError, RenderJob};

use crate::data::Grid;
pub use gradient::Gradient;
pub use sample::TileFrame;

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
    match job.style.kind {
        StyleKind::Gradient => {
            let grid = grids
                .first()
                .ok_or_else(|| RenderError::Invalid("gradient needs one source field".into()))?;
            let gradient = Gradient::new(&job.style);
            let mut values = sample::sample(grid, &frame);
            // A vector layer (u, v) is drawn as its magnitude.
            if let Some(v_grid) = grids.get(1) {
                let v = sample::sample(v_grid, &frame);
                values.iter_mut().zip(v).for_each(|(u, v)| *u = u.hypot(v));
            }
            let indices: Vec<u8> = values.into_iter().map(|v| gradient.index(v)).collect();
            encode::encode_indexed_png(&indices, frame.size, frame.size, &gradient.palette)
                .map_err(|e| RenderError::Internal(format!("png encode: {e}")))
        }
    }
}
