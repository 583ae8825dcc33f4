//! GDAL's approximate-transformer idea for grids that are not separable:
//! the exact transform on a lattice of nodes every few output pixels,
//! interpolated bilinearly inside each lattice cell where that is accurate
//! to [`MAX_LATTICE_ERROR_PX`], exact elsewhere.
//!
//! Accuracy is certified without extra evaluations: each 2×2 block of
//! cells is interpolated from its outer nodes and compared with its exact
//! inner nodes. Bilinear error grows with the square of the cell size, so
//! a block within twice the bound leaves each of its cells within half of
//! it. Where blocks are too curved the lattice is refined; where a node
//! has no position (off the grid, off a satellite's disk) the block's
//! pixels are evaluated one by one.

use protocol::grid::Grid;

use super::{Axes, MAX_LATTICE_ERROR_PX};

/// Node spacings tried, in output pixels, coarsest first: 8 px serves
/// tiles from z4 down; the finer ones serve the most zoomed-out views.
const STEPS: [usize; 3] = [8, 4, 2];

/// Calls `visit(k, i, j)` with the fractional grid coordinates of every
/// pixel `k` (row-major) of an image with `axes` that falls on the grid.
/// Pixels are visited row by row, so reads of the grid stream along its
/// rows.
pub(super) fn for_each_coord(grid: &Grid, axes: &Axes, mut visit: impl FnMut(usize, f64, f64)) {
    for step in STEPS {
        if let Some(lattice) = Lattice::new(grid, axes, step) {
            if lattice.smooth {
                lattice.visit(grid, axes, &mut visit);
                return;
            }
            if step == STEPS[STEPS.len() - 1] {
                // Still too curved: interpolate what is certified, the
                // rest exactly.
                lattice.visit(grid, axes, &mut visit);
                return;
            }
        }
    }
    // Too small for a lattice of blocks.
    let n = axes.width();
    for py in 0..axes.height() {
        exact_run(grid, axes, py, 0, n, py * n, &mut visit);
    }
}

/// Positions at the lattice nodes, and which cells may be interpolated.
struct Lattice {
    /// Node columns and rows in output pixels (first and last pixel
    /// included).
    xs: Vec<usize>,
    ys: Vec<usize>,
    /// Exact grid position at each node, row-major (`ys` × `xs`).
    nodes: Vec<Option<(f64, f64)>>,
    /// Per cell, row-major: interpolation is within the bound.
    certified: Vec<bool>,
    /// No cell failed for curvature (only for missing positions).
    smooth: bool,
}

impl Lattice {
    /// `None` when the image has fewer than two cells per direction.
    fn new(grid: &Grid, axes: &Axes, step: usize) -> Option<Self> {
        let xs = node_positions(axes.width(), step)?;
        let ys = node_positions(axes.height(), step)?;
        let nodes = ys
            .iter()
            .flat_map(|&y| xs.iter().map(move |&x| (x, y)))
            .map(|(x, y)| grid.locate(axes.lons[x], axes.lats[y]))
            .collect();
        let mut lattice = Lattice {
            certified: vec![false; (xs.len() - 1) * (ys.len() - 1)],
            xs,
            ys,
            nodes,
            smooth: true,
        };
        lattice.certify();
        Some(lattice)
    }

    fn node(&self, xi: usize, yi: usize) -> Option<(f64, f64)> {
        self.nodes[yi * self.xs.len() + xi]
    }

    /// Checks every 2×2 block of cells; the last block in each direction
    /// overlaps its neighbour when the cells do not pair up.
    fn certify(&mut self) {
        let (cx, cy) = (self.xs.len() - 1, self.ys.len() - 1);
        for by in block_starts(cy) {
            for bx in block_starts(cx) {
                match self.block_error(bx, by) {
                    Some(err) if err <= 2.0 * MAX_LATTICE_ERROR_PX => {
                        for y in by..by + 2 {
                            for x in bx..bx + 2 {
                                self.certified[y * cx + x] = true;
                            }
                        }
                    }
                    Some(_) => self.smooth = false,
                    None => {}
                }
            }
        }
    }

    /// Largest distance, in output pixels, between the block's inner nodes
    /// and the bilinear interpolation of its outer corners; `None` where a
    /// node has no position.
    fn block_error(&self, bx: usize, by: usize) -> Option<f64> {
        let corners = [
            self.node(bx, by)?,
            self.node(bx + 2, by)?,
            self.node(bx, by + 2)?,
            self.node(bx + 2, by + 2)?,
        ];
        let [a, b, c, _] = corners;
        let (x0, x2) = (self.xs[bx], self.xs[bx + 2]);
        let (y0, y2) = (self.ys[by], self.ys[by + 2]);
        let (w, h) = ((x2 - x0) as f64, (y2 - y0) as f64);
        let cells_per_px = (distance(a, b) / w).max(distance(a, c) / h);
        if cells_per_px <= 0.0 {
            return None;
        }
        let mut worst: f64 = 0.0;
        for (xi, yi) in [(1, 0), (0, 1), (1, 1), (2, 1), (1, 2)] {
            let e = self.node(bx + xi, by + yi)?;
            let fx = (self.xs[bx + xi] - x0) as f64 / w;
            let fy = (self.ys[by + yi] - y0) as f64 / h;
            let g = bilerp(&corners, fx, fy);
            worst = worst.max(distance(g, e) / cells_per_px);
        }
        Some(worst)
    }

    /// Visits every pixel, row by row: certified cells by interpolation
    /// (one multiply-add per coordinate and pixel), others exactly.
    fn visit<F: FnMut(usize, f64, f64)>(&self, grid: &Grid, axes: &Axes, visit: &mut F) {
        let n = axes.width();
        let (cx, cy) = (self.xs.len() - 1, self.ys.len() - 1);
        // Interpolated positions may leave the grid near its edge.
        let (max_i, max_j) = (grid.ni as f64 - 0.5, grid.nj as f64 - 0.5);
        let inside = |(i, j): (f64, f64)| i >= -0.5 && j >= -0.5 && i <= max_i && j <= max_j;
        // The position at each node column on the current pixel row: cells
        // share their edges, so each is interpolated once per row.
        let mut edges = vec![(f64::NAN, f64::NAN); cx + 1];
        for yc in 0..cy {
            let (y0, y1) = (self.ys[yc], self.ys[yc + 1]);
            // Node rows belong to the cell below them; the last cell also
            // takes the image's last row.
            let rows_end = if yc + 1 == cy { y1 + 1 } else { y1 };
            for py in y0..rows_end {
                let fy = (py - y0) as f64 / (y1 - y0) as f64;
                for (xi, edge) in edges.iter_mut().enumerate() {
                    // NaN where a node has no position: only cells that
                    // are not certified touch those.
                    *edge = match (self.node(xi, yc), self.node(xi, yc + 1)) {
                        (Some(a), Some(c)) => (a.0 + (c.0 - a.0) * fy, a.1 + (c.1 - a.1) * fy),
                        _ => (f64::NAN, f64::NAN),
                    };
                }
                let row = py * n;
                for xc in 0..cx {
                    let (x0, x1) = (self.xs[xc], self.xs[xc + 1]);
                    let end = if xc + 1 == cx { x1 + 1 } else { x1 };
                    if !self.certified[yc * cx + xc] {
                        exact_run(grid, axes, py, x0, end, row, visit);
                        continue;
                    }
                    let (left, right) = (edges[xc], edges[xc + 1]);
                    let w = (x1 - x0) as f64;
                    let (di, dj) = ((right.0 - left.0) / w, (right.1 - left.1) / w);
                    let at = |px: usize| {
                        let t = (px - x0) as f64;
                        (left.0 + di * t, left.1 + dj * t)
                    };
                    // Linear along the run: both ends on the grid put
                    // every pixel between on it.
                    if inside(at(x0)) && inside(at(end - 1)) {
                        for px in x0..end {
                            let (gi, gj) = at(px);
                            visit(row + px, gi, gj);
                        }
                    } else {
                        for px in x0..end {
                            let p = at(px);
                            if inside(p) {
                                visit(row + px, p.0, p.1);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Node positions every `step` pixels plus the last pixel; `None` when
/// that makes fewer than two cells (a block needs two).
fn node_positions(len: usize, step: usize) -> Option<Vec<usize>> {
    let last = len.checked_sub(1)?;
    let mut nodes: Vec<usize> = (0..last).step_by(step).collect();
    nodes.push(last);
    (nodes.len() >= 3).then_some(nodes)
}

/// First cell of each 2-cell block covering `cells` cells (at least two).
fn block_starts(cells: usize) -> impl Iterator<Item = usize> {
    (0..cells / 2)
        .map(|b| 2 * b)
        .chain((cells % 2 == 1).then_some(cells - 2))
}

/// Euclidean distance between grid positions (a few thousand cells at
/// most: no overflow, so no need for libm's slower `hypot`).
fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    (dx * dx + dy * dy).sqrt()
}

fn bilerp([a, b, c, d]: &[(f64, f64); 4], fx: f64, fy: f64) -> (f64, f64) {
    let top = (a.0 + (b.0 - a.0) * fx, a.1 + (b.1 - a.1) * fx);
    let bot = (c.0 + (d.0 - c.0) * fx, c.1 + (d.1 - c.1) * fx);
    (top.0 + (bot.0 - top.0) * fy, top.1 + (bot.1 - top.1) * fy)
}

/// Pixels `x0..x1` of row `py` by the exact transform.
fn exact_run<F: FnMut(usize, f64, f64)>(
    grid: &Grid,
    axes: &Axes,
    py: usize,
    x0: usize,
    x1: usize,
    row: usize,
    visit: &mut F,
) {
    let lat = axes.lats[py];
    for px in x0..x1 {
        if let Some((gi, gj)) = grid.locate(axes.lons[px], lat) {
            visit(row + px, gi, gj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::grid::GridGeometry;
    use protocol::grid::projection::PoleRotation;

    /// A rotated-pole grid (not separable) of 0.5° points over Europe.
    fn rotated_grid() -> Grid {
        let (ni, nj) = (120, 90);
        Grid {
            ni,
            nj,
            values: vec![0.0; ni * nj].into(),
            geometry: GridGeometry::RotatedLatLon {
                lon0: -30.0,
                lat0: -20.0,
                dlon: 0.5,
                dlat: 0.5,
                rotation: PoleRotation {
                    south_pole_lon: 10.0,
                    south_pole_lat: -40.0,
                    angle: 0.0,
                },
            },
            winds_grid_relative: false,
        }
    }

    /// Images of every small size and of awkward sizes, some across the
    /// grid's edge: each pixel is visited at most once, every pixel well
    /// inside the grid is visited, and positions agree with the exact
    /// transform within the bound.
    #[test]
    fn every_pixel_once_and_accurate_at_any_image_size() {
        let grid = rotated_grid();
        for (w, h) in [
            (1, 1),
            (2, 3),
            (3, 2),
            (5, 9),
            (17, 16),
            (18, 19),
            (41, 23),
            (256, 256),
        ] {
            for (lon0, lat0, span) in [(5.0, 45.0, 8.0), (-20.0, 30.0, 40.0), (40.0, 70.0, 30.0)] {
                // Pixels about square on the ground, as on a map (the
                // bound is in pixels).
                let step = span / w.max(h).max(2) as f64;
                let lon_step = step / (lat0 - span / 2.0_f64).to_radians().cos();
                let axes = Axes {
                    lons: (0..w).map(|c| lon0 + c as f64 * lon_step).collect(),
                    lats: (0..h).map(|r| lat0 - r as f64 * step).collect(),
                };
                let mut seen = vec![0u8; w * h];
                let mut pos = vec![(f64::NAN, f64::NAN); w * h];
                for_each_coord(&grid, &axes, |k, i, j| {
                    seen[k] += 1;
                    pos[k] = (i, j);
                });
                for (k, &count) in seen.iter().enumerate() {
                    let (px, py) = (k % w, k / w);
                    assert!(count <= 1, "{w}×{h}: pixel {k} visited {count} times");
                    let Some(e) = grid.locate(axes.lons[px], axes.lats[py]) else {
                        continue;
                    };
                    let inside = e.0 > 1.0 && e.1 > 1.0 && e.0 < 118.0 && e.1 < 88.0;
                    if inside {
                        assert_eq!(count, 1, "{w}×{h}: pixel ({px}, {py}) on the grid skipped");
                    }
                    if count == 1 && px + 1 < w {
                        let next = grid.locate(axes.lons[px + 1], axes.lats[py]);
                        if let Some(n) = next {
                            let cells_per_px = (n.0 - e.0).hypot(n.1 - e.1);
                            let err = (pos[k].0 - e.0).hypot(pos[k].1 - e.1) / cells_per_px;
                            assert!(err <= MAX_LATTICE_ERROR_PX, "{w}×{h} ({px},{py}): {err} px");
                        }
                    }
                }
            }
        }
    }
}
