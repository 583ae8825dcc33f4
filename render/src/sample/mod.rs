//! Sampling: the source grid value under every output pixel.
//!
//! Lat/lon grids into either tile matrix set are separable (column from
//! longitude, row from latitude), so a tile needs two 1-D index tables.
//! Other grids use GDAL's approximate-transformer idea: evaluate the exact
//! transform on a coarse lattice and interpolate inside each lattice cell,
//! falling back to exact evaluation where the interpolation would be off by
//! more than [`MAX_LATTICE_ERROR_PX`].

use protocol::TileMatrixSetId;

use protocol::grid::{Grid, GridValues};

use crate::crs::Mesh;

mod lattice;
use lattice::for_each_coord;

/// Largest tolerated error of the interpolated lattice, in output pixels.
pub const MAX_LATTICE_ERROR_PX: f64 = 0.125;

/// An output tile's pixel grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileFrame {
    pub tms: TileMatrixSetId,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

impl TileFrame {
    /// The geographic position of every pixel column and row.
    pub fn axes(&self) -> Axes {
        Axes {
            lons: self.tms.pixel_lons(self.z, self.x, self.size),
            lats: self.tms.pixel_lats(self.z, self.y, self.size),
        }
    }
}

/// An output image whose columns each have one longitude and rows one
/// latitude: tiles of both matrix sets, and WMS maps in EPSG:3857,
/// EPSG:4326 or CRS:84. Pixel (c, r) is at (`lons[c]`, `lats[r]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    pub lons: Vec<f64>,
    pub lats: Vec<f64>,
}

impl Axes {
    pub fn width(&self) -> usize {
        self.lons.len()
    }
    pub fn height(&self) -> usize {
        self.lats.len()
    }
}

/// Where an output image's pixels are on the earth.
#[derive(Debug, Clone)]
pub enum Footprint {
    /// One longitude per column, one latitude per row: tiles, and maps in
    /// EPSG:3857, EPSG:4326 or CRS:84.
    Axes(Axes),
    /// Each pixel its own position: maps in a PROJ CRS.
    Mesh {
        mesh: std::sync::Arc<Mesh>,
        width: usize,
        height: usize,
    },
}

impl Footprint {
    pub fn width(&self) -> usize {
        match self {
            Self::Axes(a) => a.width(),
            Self::Mesh { width, .. } => *width,
        }
    }
    pub fn height(&self) -> usize {
        match self {
            Self::Axes(a) => a.height(),
            Self::Mesh { height, .. } => *height,
        }
    }
}

/// The grid's value under every pixel of `footprint`, row-major; NaN = no
/// data (also where a PROJ CRS has no position).
pub fn sample_footprint(grid: &Grid, footprint: &Footprint) -> Vec<f32> {
    match footprint {
        Footprint::Axes(axes) => sample_axes(grid, axes),
        Footprint::Mesh {
            mesh,
            width,
            height,
        } => map_mesh(grid, mesh, *width, *height, |at| {
            at.map_or(f32::NAN, |(i, j)| pixel_value(grid, i as f32, j as f32))
        }),
    }
}

/// `f` of the grid position (`None`: off the grid or no position) of every
/// pixel of a map in a PROJ CRS, row-major.
fn map_mesh<T>(
    grid: &Grid,
    mesh: &Mesh,
    width: usize,
    height: usize,
    f: impl Fn(Option<(f64, f64)>) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(width * height);
    let mut row = Vec::with_capacity(width);
    for r in 0..height {
        mesh.row(r, width, &mut row);
        out.extend(row.iter().map(|&(lon, lat)| f(grid.locate(lon, lat))));
    }
    out
}

/// Fractional source-grid coordinates of every pixel, row-major; NaN where
/// the pixel falls outside the grid.
#[derive(Debug, Clone)]
pub struct PixelCoords {
    pub width: usize,
    pub i: Vec<f32>,
    pub j: Vec<f32>,
}

/// Grid coordinates of each pixel centre of `frame`.
pub fn pixel_coords(grid: &Grid, frame: &TileFrame) -> PixelCoords {
    pixel_coords_of(grid, &frame.axes())
}

/// Grid coordinates of each pixel centre of an image with `axes`.
pub fn pixel_coords_of(grid: &Grid, axes: &Axes) -> PixelCoords {
    if grid.is_separable() {
        separable_coords(grid, axes)
    } else {
        lattice_coords(grid, axes)
    }
}

fn separable_coords(grid: &Grid, axes: &Axes) -> PixelCoords {
    let col: Vec<f32> = axes
        .lons
        .iter()
        .map(|&lon| grid.locate_lon(lon).map_or(f32::NAN, |i| i as f32))
        .collect();
    let (w, h) = (axes.width(), axes.height());
    let mut i = Vec::with_capacity(w * h);
    let mut j = Vec::with_capacity(w * h);
    for &lat in &axes.lats {
        i.extend_from_slice(&col);
        j.extend(std::iter::repeat_n(
            grid.locate_lat(lat).map_or(f32::NAN, |j| j as f32),
            w,
        ));
    }
    PixelCoords { width: w, i, j }
}

fn lattice_coords(grid: &Grid, axes: &Axes) -> PixelCoords {
    let (w, h) = (axes.width(), axes.height());
    let mut out = PixelCoords {
        width: w,
        i: vec![f32::NAN; w * h],
        j: vec![f32::NAN; w * h],
    };
    for_each_coord(grid, axes, |k, gi, gj| {
        out.i[k] = gi as f32;
        out.j[k] = gj as f32;
    });
    out
}

/// Bilinear value at fractional grid position (i, j); nearest neighbour
/// where a neighbour is missing, so data edges stay crisp rather than
/// vanishing; NaN outside.
pub fn value_at(grid: &Grid, i: f32, j: f32) -> f32 {
    if i.is_nan() || j.is_nan() {
        return f32::NAN;
    }
    let ni = grid.ni as isize;
    let nj = grid.nj as isize;
    let wraps = grid.wraps_globally();
    let (fi, fj) = (i.floor(), j.floor());
    let (ti, tj) = (i - fi, j - fj);
    let (i0, j0) = (fi as isize, fj as isize);
    let col = |c: isize| -> Option<usize> {
        if wraps {
            Some(c.rem_euclid(ni) as usize)
        } else {
            (0..ni).contains(&c).then_some(c as usize)
        }
    };
    let at = |c: isize, r: isize| -> f32 {
        match (col(c), (0..nj).contains(&r)) {
            (Some(c), true) => grid.values[r as usize * grid.ni + c],
            _ => f32::NAN,
        }
    };
    let (v00, v10, v01, v11) = (
        at(i0, j0),
        at(i0 + 1, j0),
        at(i0, j0 + 1),
        at(i0 + 1, j0 + 1),
    );
    if v00.is_nan() || v10.is_nan() || v01.is_nan() || v11.is_nan() {
        return at(i.round() as isize, j.round() as isize);
    }
    let top = v00 + (v10 - v00) * ti;
    let bottom = v01 + (v11 - v01) * ti;
    top + (bottom - top) * tj
}

/// One axis of a separable lookup: the two neighbouring grid indices of a
/// pixel and the weight of the second; `None` outside the grid.
type Axis = Vec<Option<(usize, usize, f32)>>;

fn axis(positions: impl Iterator<Item = Option<f64>>, n: usize, wraps: bool) -> Axis {
    positions
        .map(|p| {
            let p = p?;
            let f = p.floor();
            let t = (p - f) as f32;
            let k = f as isize;
            let n = n as isize;
            let idx = |k: isize| -> Option<usize> {
                if wraps {
                    Some(k.rem_euclid(n) as usize)
                } else {
                    // Clamp half a cell beyond the edge onto the edge.
                    Some(k.clamp(0, n - 1) as usize)
                }
            };
            Some((idx(k)?, idx(k + 1)?, t))
        })
        .collect()
}

/// The separable fast path: per-column and per-row tables, then one
/// bilinear blend per pixel with no per-pixel coordinate maths.
fn sample_separable(grid: &Grid, axes: &Axes) -> Vec<f32> {
    let n = axes.width();
    let cols = axis(
        axes.lons.iter().map(|&lon| grid.locate_lon(lon)),
        grid.ni,
        grid.wraps_globally(),
    );
    let rows = axis(
        axes.lats.iter().map(|&lat| grid.locate_lat(lat)),
        grid.nj,
        false,
    );
    let mut out = vec![f32::NAN; n * axes.height()];
    for (py, row) in rows.iter().enumerate() {
        let Some((j0, j1, tj)) = *row else { continue };
        let out_row = &mut out[py * n..(py + 1) * n];
        let rows = (
            j0 * grid.ni..(j0 + 1) * grid.ni,
            j1 * grid.ni..(j1 + 1) * grid.ni,
        );
        // One loop per storage, so the f32 loop stays a plain slice read.
        match &grid.values {
            GridValues::Floats(v) => {
                let (top, bottom) = (&v[rows.0], &v[rows.1]);
                blend_row(out_row, &cols, tj, |k| top[k], |k| bottom[k]);
            }
            GridValues::Coded(c) => {
                let (codes, table) = (c.codes(), c.table());
                let (top, bottom) = (&codes[rows.0], &codes[rows.1]);
                let at = |row: &[u16], k: usize| table[usize::from(row[k])];
                blend_row(out_row, &cols, tj, |k| at(top, k), |k| at(bottom, k));
            }
        }
    }
    out
}

/// One output row between grid rows `top` and `bottom` (values by column),
/// `tj` of the way to `bottom`.
#[inline]
fn blend_row(
    out_row: &mut [f32],
    cols: &Axis,
    tj: f32,
    top: impl Fn(usize) -> f32,
    bottom: impl Fn(usize) -> f32,
) {
    for (o, col) in out_row.iter_mut().zip(cols) {
        let Some((i0, i1, ti)) = *col else { continue };
        let (a, b, c, d) = (top(i0), top(i1), bottom(i0), bottom(i1));
        let upper = a + (b - a) * ti;
        let lower = c + (d - c) * ti;
        let v = upper + (lower - upper) * tj;
        // A missing neighbour poisons the blend: fall back to the nearest
        // point, so data edges stay crisp instead of eroding.
        *o = if v.is_nan() {
            let near = if ti < 0.5 { i0 } else { i1 };
            if tj < 0.5 { top(near) } else { bottom(near) }
        } else {
            v
        };
    }
}

/// Whether each pixel of an image lies on the grid, row-major: where a
/// missing value means "no data" rather than "outside the field".
pub fn on_grid(grid: &Grid, footprint: &Footprint) -> Vec<bool> {
    let axes = match footprint {
        Footprint::Axes(axes) => axes,
        Footprint::Mesh {
            mesh,
            width,
            height,
        } => return map_mesh(grid, mesh, *width, *height, |at| at.is_some()),
    };
    if grid.is_separable() {
        let cols: Vec<bool> = axes
            .lons
            .iter()
            .map(|&lon| grid.locate_lon(lon).is_some())
            .collect();
        return axes
            .lats
            .iter()
            .flat_map(|&lat| {
                let row = grid.locate_lat(lat).is_some();
                cols.iter().map(move |&c| c && row)
            })
            .collect();
    }
    let mut out = vec![false; axes.width() * axes.height()];
    for_each_coord(grid, axes, |k, _, _| out[k] = true);
    out
}

/// The grid's value under every pixel of `frame`, row-major; NaN = no data.
pub fn sample(grid: &Grid, frame: &TileFrame) -> Vec<f32> {
    sample_axes(grid, &frame.axes())
}

/// The grid's value under every pixel of an image with `axes`.
pub fn sample_axes(grid: &Grid, axes: &Axes) -> Vec<f32> {
    if grid.is_separable() {
        return sample_separable(grid, axes);
    }
    let mut out = vec![f32::NAN; axes.width() * axes.height()];
    if let Some(index) = imagery_indices(grid, axes) {
        // Indices first, then one tight gather: the scan is large and read
        // sparsely, and a loop that does nothing but load keeps many cache
        // misses in flight at once (1.5x faster than loading inside the
        // lattice walk).
        match &grid.values {
            GridValues::Floats(values) => gather(&mut out, &index, |k| values[k]),
            GridValues::Coded(coded) => {
                let (codes, table) = (coded.codes(), coded.table());
                gather(&mut out, &index, |k| table[usize::from(codes[k])]);
            }
        }
    } else {
        for_each_coord(grid, axes, |k, gi, gj| {
            out[k] = value_at(grid, gi as f32, gj as f32);
        });
    }
    out
}

/// Marks a pixel that shows no scan pixel in [`imagery_indices`].
pub(crate) const OFF_GRID: u32 = u32::MAX;

/// For imagery ([`Grid::is_imagery`]): the index into the grid's values of
/// the scan pixel each output pixel shows (as [`pixel_value`]), row-major,
/// [`OFF_GRID`] where none; `None` for other grids (and for scans too
/// large for 32-bit indices).
pub(crate) fn imagery_indices(grid: &Grid, axes: &Axes) -> Option<Vec<u32>> {
    if !grid.is_imagery() || grid.values.len() >= OFF_GRID as usize || grid.ni == 0 || grid.nj == 0
    {
        return None;
    }
    let (ni, nj) = (grid.ni, grid.nj);
    let mut index = vec![OFF_GRID; axes.width() * axes.height()];
    for_each_coord(grid, axes, |k, gi, gj| {
        // Positions are at least -0.5, so truncation rounds (through i64,
        // which converts in one instruction; usize takes several).
        let c = ((gi + 0.5) as i64 as usize).min(ni - 1);
        let r = ((gj + 0.5) as i64 as usize).min(nj - 1);
        // Below `OFF_GRID`: the grid has fewer points.
        index[k] = (r * ni + c) as u32;
    });
    Some(index)
}

/// `out[k] = value(index[k])` wherever the index is on the grid.
#[inline]
fn gather(out: &mut [f32], index: &[u32], value: impl Fn(usize) -> f32) {
    for (o, &i) in out.iter_mut().zip(index) {
        if i != OFF_GRID {
            *o = value(i as usize);
        }
    }
}

/// What a map pixel at fractional grid position (i, j) shows: bilinear
/// ([`value_at`]) for fields; for imagery ([`Grid::is_imagery`]) the value
/// of the scan pixel there, as feature info answers, so imagery is drawn
/// as the instrument measured it. (It also reads one scan row instead of
/// two, which halves a zoomed-out satellite tile's memory traffic.)
pub fn pixel_value(grid: &Grid, i: f32, j: f32) -> f32 {
    if !grid.is_imagery() {
        return value_at(grid, i, j);
    }
    if i.is_nan() || j.is_nan() {
        return f32::NAN;
    }
    // Positions reach half a pixel past the edge pixels' centres.
    let c = i.round().clamp(0.0, grid.ni as f32 - 1.0) as usize;
    let r = j.round().clamp(0.0, grid.nj as f32 - 1.0) as usize;
    grid.values[r * grid.ni + c]
}
