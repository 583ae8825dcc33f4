//! The fast path for imagery stored as codes ([`GridValues::Coded`]): each
//! output pixel shows one scan pixel, so its palette index depends only on
//! that pixel's code. The style runs once per code (a few thousand) rather
//! than once per output pixel, and no f32 values are gathered at all.

use protocol::grid::{Grid, GridValues};

use crate::sample::{self, Axes, OFF_GRID};

/// Palette indices of an image with `axes` over a coded scan, as the
/// general path ([`crate::render_palette`]) would draw them: `index` of the
/// value, `no_data` (when not 0) where the scan has no value, 0 off the
/// scan. `None` when the grid is not coded imagery.
pub(crate) fn palette_indices(
    grid: &Grid,
    axes: &Axes,
    no_data: u8,
    index: impl Fn(f32) -> u8,
) -> Option<Vec<u8>> {
    let GridValues::Coded(coded) = &grid.values else {
        return None;
    };
    let pixels = sample::imagery_indices(grid, axes)?;
    let colour_of_code: Vec<u8> = coded
        .table()
        .iter()
        .map(|&v| {
            if v.is_nan() && no_data != 0 {
                no_data
            } else {
                index(v)
            }
        })
        .collect();
    let codes = coded.codes();
    Some(
        pixels
            .iter()
            .map(|&k| {
                if k == OFF_GRID {
                    0
                } else {
                    // `Coded` guarantees every code has a table entry.
                    colour_of_code[usize::from(codes[k as usize])]
                }
            })
            .collect(),
    )
}
