//! Drawing tiles from grids: sample → style → encode.

pub mod encode;
pub mod gradient;
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
            let indices: Vec<u8> = sample::sample(grid, &frame)
                .into_iter()
                .map(|v| gradient.index(v))
                .collect();
            encode::encode_indexed_png(&indices, frame.size, frame.size, &gradient.palette)
                .map_err(|e| RenderError::Internal(format!("png encode: {e}")))
        }
    }
}
