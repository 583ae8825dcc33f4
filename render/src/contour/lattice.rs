//! The node lattice contours are traced on: field values at points fixed in
//! world pixel space, every [`NODE_STEP`] pixels, so every image that covers
//! a node computes exactly the same value there.
//!
//! Values come from a Catmull-Rom bicubic on the source grid's indices, so
//! contours stay smooth when a coarse grid is magnified, then one light
//! 3×3 smoothing pass tames aliasing when a fine grid is shrunk.

use std::ops::RangeInclusive;

use crate::{Canvas, sample};
use protocol::grid::Grid;

/// Distance between lattice nodes, world pixels.
pub const NODE_STEP: f64 = 4.0;

/// Field values on a block of the world node lattice, in display units.
#[derive(Debug, Clone)]
pub struct Lattice {
    /// Lattice index of the first column and row: node (c, r) of the block
    /// sits at world pixel ((k0 + c)·STEP, (l0 + r)·STEP).
    pub k0: i64,
    pub l0: i64,
    pub cols: usize,
    pub rows: usize,
    /// Row-major values; NaN = no data.
    pub values: Vec<f32>,
}

impl Lattice {
    /// The value at block node (c, r).
    #[inline]
    pub fn at(&self, c: usize, r: usize) -> f32 {
        self.values[r * self.cols + c]
    }

    /// World pixel position of the fractional block position (c, r).
    #[inline]
    pub fn world(&self, c: f64, r: f64) -> (f64, f64) {
        (
            (self.k0 as f64 + c) * NODE_STEP,
            (self.l0 as f64 + r) * NODE_STEP,
        )
    }

    /// The smallest and largest finite value, if any.
    pub fn min_max(&self) -> Option<(f32, f32)> {
        self.values
            .iter()
            .filter(|v| v.is_finite())
            .fold(None, |acc, &v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })
    }
}

/// Samples lattice nodes `ks` × `ls` (lattice indices) for `canvas`'s map:
/// the field (or the magnitude of a (u, v) pair), converted to display
/// units by `display = a·data + b` and smoothed once.
pub fn sample_nodes(
    grids: &[&Grid],
    canvas: &Canvas,
    ks: RangeInclusive<i64>,
    ls: RangeInclusive<i64>,
    (a, b): (f32, f32),
) -> Lattice {
    // One extra ring so the smoothing kernel has neighbours at the block's
    // edge; it is cropped off again, so every kept node depends only on
    // its own world neighbourhood.
    let (k0, l0) = (*ks.start() - 1, *ls.start() - 1);
    let cols = (ks.end() - ks.start() + 3).max(0) as usize;
    let rows = (ls.end() - ls.start() + 3).max(0) as usize;
    let world = |c: usize, r: usize| {
        (
            (k0 + c as i64) as f64 * NODE_STEP,
            (l0 + r as i64) as f64 * NODE_STEP,
        )
    };
    let mut raw = if canvas.is_separable() {
        // The tile matrix sets' CRSs: longitude depends only on world x,
        // latitude only on world y.
        let lons: Vec<f64> = (0..cols)
            .map(|c| canvas.lonlat(world(c, 0).0, 0.0).0)
            .collect();
        let lats: Vec<f64> = (0..rows)
            .map(|r| canvas.lonlat(0.0, world(0, r).1).1)
            .collect();
        let mut raw = field(grids.first().copied(), &lons, &lats);
        if let Some(v) = grids.get(1) {
            let v = field(Some(v), &lons, &lats);
            raw.iter_mut().zip(v).for_each(|(u, v)| *u = u.hypot(v));
        }
        raw
    } else {
        // A PROJ CRS: every node has its own position.
        let points: Vec<(f64, f64)> = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (c, r)))
            .map(|(c, r)| {
                let (wx, wy) = world(c, r);
                canvas.lonlat(wx, wy)
            })
            .collect();
        let mut raw = field_at(grids.first().copied(), &points);
        if let Some(v) = grids.get(1) {
            let v = field_at(Some(v), &points);
            raw.iter_mut().zip(v).for_each(|(u, v)| *u = u.hypot(v));
        }
        raw
    };
    raw.iter_mut().for_each(|x| *x = *x * a + b);
    let smooth = smooth(&raw, cols, rows);
    Lattice {
        k0: k0 + 1,
        l0: l0 + 1,
        cols: cols.saturating_sub(2),
        rows: rows.saturating_sub(2),
        values: smooth,
    }
}

/// One grid's bicubic values at every (lon, lat) node, row-major.
fn field(grid: Option<&Grid>, lons: &[f64], lats: &[f64]) -> Vec<f32> {
    let Some(grid) = grid else {
        return vec![f32::NAN; lons.len() * lats.len()];
    };
    let cubic = Bicubic::new(grid);
    let mut out = Vec::with_capacity(lons.len() * lats.len());
    if grid.is_separable() {
        let cols: Vec<Option<f64>> = lons.iter().map(|&lon| grid.locate_lon(lon)).collect();
        for &lat in lats {
            let j = grid.locate_lat(lat);
            out.extend(cols.iter().map(|&i| match (i, j) {
                (Some(i), Some(j)) => cubic.at(i, j),
                _ => f32::NAN,
            }));
        }
    } else {
        for &lat in lats {
            out.extend(lons.iter().map(|&lon| {
                grid.locate(lon, lat)
                    .map_or(f32::NAN, |(i, j)| cubic.at(i, j))
            }));
        }
    }
    out
}

/// One grid's bicubic values at each (lon, lat) point; NaN where a point
/// has no position or lies off the grid.
fn field_at(grid: Option<&Grid>, points: &[(f64, f64)]) -> Vec<f32> {
    let Some(grid) = grid else {
        return vec![f32::NAN; points.len()];
    };
    let cubic = Bicubic::new(grid);
    points
        .iter()
        .map(|&(lon, lat)| {
            if !(lon.is_finite() && lat.is_finite()) {
                return f32::NAN;
            }
            grid.locate(lon, lat)
                .map_or(f32::NAN, |(i, j)| cubic.at(i, j))
        })
        .collect()
}

/// Catmull-Rom interpolation on a grid's index space.
pub struct Bicubic<'a> {
    grid: &'a Grid,
    wraps: bool,
}

impl<'a> Bicubic<'a> {
    pub fn new(grid: &'a Grid) -> Self {
        Self {
            grid,
            wraps: grid.wraps_globally(),
        }
    }

    /// The value at fractional grid index (i, j): bicubic over the 4×4
    /// neighbourhood, or bilinear/nearest ([`sample::value_at`]) where a
    /// neighbour is missing or off the grid, so data edges do not erode.
    pub fn at(&self, i: f64, j: f64) -> f32 {
        let fallback = || sample::value_at(self.grid, i as f32, j as f32);
        let (fi, fj) = (i.floor(), j.floor());
        let (i0, j0) = (fi as isize - 1, fj as isize - 1);
        let (wi, wj) = (weights((i - fi) as f32), weights((j - fj) as f32));
        let (ni, nj) = (self.grid.ni as isize, self.grid.nj as isize);
        if j0 < 0 || j0 + 3 >= nj {
            return fallback();
        }
        let mut cols = [0usize; 4];
        for (d, col) in cols.iter_mut().enumerate() {
            let c = i0 + d as isize;
            *col = if self.wraps {
                c.rem_euclid(ni) as usize
            } else if (0..ni).contains(&c) {
                c as usize
            } else {
                return fallback();
            };
        }
        let mut sum = 0.0;
        for (d, wy) in wj.iter().enumerate() {
            let start = (j0 as usize + d) * self.grid.ni;
            let values = &self.grid.values;
            let acc: f32 = cols
                .iter()
                .zip(&wi)
                .map(|(&c, w)| values[start + c] * w)
                .sum();
            sum += acc * wy;
        }
        // A missing neighbour makes the sum NaN.
        if sum.is_nan() { fallback() } else { sum }
    }
}

/// Catmull-Rom weights of the four taps around fraction `t`.
#[inline]
fn weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// One pass of the [1 2 1]⊗[1 2 1]/16 kernel, cropping the outer ring.
/// Nodes with a missing neighbour keep their value, so no-data edges stay
/// where they are.
fn smooth(raw: &[f32], cols: usize, rows: usize) -> Vec<f32> {
    if cols < 3 || rows < 3 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity((cols - 2) * (rows - 2));
    for r in 1..rows - 1 {
        for c in 1..cols - 1 {
            let at = |dc: usize, dr: usize| raw[(r + dr - 1) * cols + c + dc - 1];
            let mut sum = 0.0;
            for (dr, wr) in [1.0, 2.0, 1.0].iter().enumerate() {
                for (dc, wc) in [1.0, 2.0, 1.0].iter().enumerate() {
                    sum += at(dc, dr) * wr * wc;
                }
            }
            out.push(if sum.is_nan() { at(1, 1) } else { sum / 16.0 });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::TileFrame;
    use protocol::TileMatrixSetId;
    use protocol::grid::GridGeometry;

    /// A global 1° lat/lon grid (lon 0..359, lat 90..−90) of `f(lon, lat)`.
    pub fn global_grid(f: impl Fn(f64, f64) -> f32) -> Grid {
        let (ni, nj) = (360, 181);
        let mut values = Vec::with_capacity(ni * nj);
        for j in 0..nj {
            for i in 0..ni {
                values.push(f(i as f64, 90.0 - j as f64));
            }
        }
        Grid {
            ni,
            nj,
            values: values.into(),
            geometry: GridGeometry::LatLon {
                lon0: 0.0,
                lat0: 90.0,
                dlon: 1.0,
                dlat: -1.0,
            },
            winds_grid_relative: false,
        }
    }

    #[test]
    fn bicubic_reproduces_a_linear_field_and_falls_back_near_gaps() {
        let mut g = global_grid(|lon, lat| (2.0 * lon + lat) as f32);
        let cubic = Bicubic::new(&g);
        // (i, j) = (10.25, 20.5) is lon 10.25, lat 69.5.
        assert!((cubic.at(10.25, 20.5) - (20.5 + 69.5)).abs() < 1e-3);
        g.values.as_floats_mut().expect("f32")[20 * 360 + 9] = f32::NAN; // a tap of (10.25, 20.5), not of bilinear
        let cubic = Bicubic::new(&g);
        assert!(
            (cubic.at(10.25, 20.5) - 90.0).abs() < 1e-3,
            "bilinear fallback"
        );
    }

    #[test]
    fn nodes_are_shared_between_a_tile_and_its_parent_at_double_size() {
        let g = global_grid(|lon, lat| (lon.to_radians() * 3.0).sin() as f32 * 10.0 + lat as f32);
        let frame = |z, x, y, size| TileFrame {
            tms: TileMatrixSetId::WebMercatorQuad,
            z,
            x,
            y,
            size,
        };
        let child = Canvas::for_tile(&frame(5, 9, 11, 256));
        let parent = Canvas::for_tile(&frame(4, 4, 5, 512));
        let a = sample_nodes(&[&g], &child, 570..=580, 700..=710, (1.0, 0.0));
        let b = sample_nodes(&[&g], &parent, 560..=600, 690..=720, (1.0, 0.0));
        assert_eq!((a.cols, a.rows), (11, 11));
        for r in 0..a.rows {
            for c in 0..a.cols {
                let (bc, br) = (c + 10, r + 10);
                assert_eq!(a.at(c, r).to_bits(), b.at(bc, br).to_bits());
            }
        }
        let (lo, hi) = a.min_max().expect("values");
        assert!(lo < hi);
    }

    #[test]
    fn a_vector_pair_is_contoured_by_magnitude_in_display_units() {
        let (u, v) = (global_grid(|_, _| 3.0), global_grid(|_, _| 4.0));
        let canvas = Canvas::for_tile(&TileFrame {
            tms: TileMatrixSetId::WorldCRS84Quad,
            z: 2,
            x: 3,
            y: 1,
            size: 256,
        });
        let nodes = sample_nodes(&[&u, &v], &canvas, 200..=210, 80..=90, (2.0, 1.0));
        assert!(nodes.values.iter().all(|&x| (x - 11.0).abs() < 1e-4));
    }
}
