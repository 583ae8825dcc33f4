//! [`Mesh`]: a map's pixel → longitude/latitude transform, exact (PROJ) at
//! every [`TRANSFORM_STEP_PX`]th pixel and at the edges, bilinear in
//! between.
//!
//! Nodes are interpolated as unit vectors on the sphere, not as
//! longitude/latitude, so cells across the antimeridian or around a pole
//! (polar stereographic maps have both) interpolate as smoothly as any
//! other; cells away from poles and the antimeridian's wrap, where plain
//! longitude/latitude interpolation agrees with that, take the cheaper
//! path ([`Mesh::row`]). The error against PROJ at every pixel is measured
//! in `render/tests/crs_mesh.rs`: within [`MAX_MESH_ERROR_PX`] output
//! pixels on the maps tested.

use protocol::limits::{MAX_TRANSFORM_NODES, TRANSFORM_STEP_PX};
use protocol::{MapArea, MapCrs};

use super::{CrsError, with_transformer};

/// The interpolation error a [`Mesh`] stays within, output pixels: on the
/// polar stereographic and UTM maps of `render/tests/crs_mesh.rs` the worst
/// pixel is 0.02 px off on regional maps and 0.124 px on a whole
/// hemisphere of EPSG:3413 (measured against PROJ at every pixel; a 16 px
/// cell of a smooth projection is nearly flat, and the error grows with
/// the square of the cell's angular size).
pub const MAX_MESH_ERROR_PX: f64 = 0.15;

/// Longitude/latitude of every position of a map (and a margin around it).
#[derive(Debug, Clone)]
pub struct Mesh {
    /// Image x of each node column and y of each node row, pixels from the
    /// map's top-left corner (negative in the margin).
    us: Vec<f64>,
    vs: Vec<f64>,
    /// Unit vector of each node, row-major; `None` where PROJ has no
    /// answer (outside the CRS's domain).
    nodes: Vec<Option<[f64; 3]>>,
    /// Longitude/latitude of each node (longitude unwrapped per cell when
    /// used).
    lonlats: Vec<Option<(f64, f64)>>,
    /// Per cell, row-major: plain longitude/latitude interpolation agrees
    /// with the unit-vector one within [`LINEAR_TOLERANCE_PX`] (every cell
    /// away from the poles and the antimeridian's wrap), the fast path of
    /// [`Mesh::row`].
    linear: Vec<bool>,
}

/// How far plain longitude/latitude interpolation may stray from the
/// unit-vector interpolation in a cell [`Mesh::row`] uses it in, pixels
/// (checked at the cell's centre and edge midpoints).
const LINEAR_TOLERANCE_PX: f64 = 0.02;

/// Node positions along a side of `len` pixels with `margin` around it.
fn axis(len: u32, margin: u32) -> Vec<f64> {
    let (len, margin, step) = (
        f64::from(len),
        f64::from(margin),
        f64::from(TRANSFORM_STEP_PX),
    );
    let end = len + margin;
    let mut out: Vec<f64> = (0..)
        .map(|k| -margin + step * f64::from(k))
        .take_while(|&p| p < end)
        .collect();
    out.push(end);
    out
}

fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (lon, lat) = (lon.to_radians(), lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

impl Mesh {
    /// Runs PROJ at the nodes of `area` (an [`MapCrs::Epsg`] map) and
    /// `margin` pixels around it; refuses more than
    /// [`MAX_TRANSFORM_NODES`] nodes before transforming any.
    pub fn build(area: &MapArea, margin: u32) -> Result<Self, CrsError> {
        let MapCrs::Epsg(code) = area.crs else {
            return Err(CrsError::Unsupported(format!(
                "{:?} has a closed form",
                area.crs
            )));
        };
        let count = area.transform_nodes(margin);
        if count > MAX_TRANSFORM_NODES {
            return Err(CrsError::Proj(format!(
                "{count} transforms, more than {MAX_TRANSFORM_NODES}"
            )));
        }
        let (us, vs) = (axis(area.width, margin), axis(area.height, margin));
        let nodes: Vec<Option<[f64; 3]>> = with_transformer(code, |t| {
            vs.iter()
                .flat_map(|&v| us.iter().map(move |&u| (u, v)))
                .map(|(u, v)| {
                    let (x, y) = area.crs_xy(u, v);
                    t.to_lonlat(x, y).map(|(lon, lat)| unit_vector(lon, lat))
                })
                .collect()
        })?;
        let lonlats = nodes
            .iter()
            .map(|p| p.map(|p: [f64; 3]| to_lonlat(&p)))
            .collect();
        let mut mesh = Self {
            us,
            vs,
            nodes,
            lonlats,
            linear: Vec::new(),
        };
        mesh.linear = (0..mesh.vs.len().saturating_sub(1))
            .flat_map(|l| (0..mesh.us.len().saturating_sub(1)).map(move |k| (k, l)))
            .map(|(k, l)| mesh.is_linear(k, l))
            .collect();
        Ok(mesh)
    }

    /// The corners of cell (`k`, `l`): top-left, top-right, bottom-left,
    /// bottom-right.
    fn corners<T: Copy>(&self, of: &[Option<T>], k: usize, l: usize) -> Option<[T; 4]> {
        let n = self.us.len();
        Some([
            of[l * n + k]?,
            of[l * n + k + 1]?,
            of[(l + 1) * n + k]?,
            of[(l + 1) * n + k + 1]?,
        ])
    }

    /// Corner longitudes/latitudes of cell (`k`, `l`), longitudes within
    /// 180° of the first corner's.
    fn unwrapped(&self, k: usize, l: usize) -> Option<[(f64, f64); 4]> {
        let c = self.corners(&self.lonlats, k, l)?;
        let lon0 = c[0].0;
        Some(c.map(|(lon, lat)| (lon0 + (lon - lon0 + 540.0).rem_euclid(360.0) - 180.0, lat)))
    }

    /// Whether cell (`k`, `l`) may be interpolated in plain
    /// longitude/latitude: it agrees with the unit vectors at the probes.
    fn is_linear(&self, k: usize, l: usize) -> bool {
        let (Some(ll), Some(xyz)) = (self.unwrapped(k, l), self.corners(&self.nodes, k, l)) else {
            return false;
        };
        // One pixel as an angle on the unit sphere, from the cell's sides.
        let chord = |a: [f64; 3], b: [f64; 3]| (a[0] - b[0]).hypot(a[1] - b[1]).hypot(a[2] - b[2]);
        let px = (chord(xyz[0], xyz[1]) / (self.us[k + 1] - self.us[k]))
            .min(chord(xyz[0], xyz[2]) / (self.vs[l + 1] - self.vs[l]));
        if px.is_nan() || px <= 0.0 || ll.iter().any(|p| p.1.abs() > 89.0) {
            return false;
        }
        [(0.5, 0.5), (0.5, 0.0), (0.0, 0.5), (1.0, 0.5), (0.5, 1.0)]
            .iter()
            .all(|&(tu, tv)| {
                let (lon, lat) = bilinear(ll, tu, tv);
                let v = bilinear(xyz, tu, tv);
                let norm = v[0].hypot(v[1]).hypot(v[2]);
                let w = unit_vector(lon, lat);
                chord(w, v.map(|c| c / norm)) <= LINEAR_TOLERANCE_PX * px
            })
    }

    /// Longitude/latitude of the pixel centres of image row `r`, columns
    /// `0..width`, into `out` (NaN where there is none): what
    /// [`Mesh::lonlat`] gives, with plain longitude/latitude interpolation
    /// in the cells where that agrees with it (most of them), about 4×
    /// cheaper per pixel.
    pub fn row(&self, r: usize, width: usize, out: &mut Vec<(f64, f64)>) {
        out.clear();
        let v = r as f64 + 0.5;
        let Some((l, tv)) = locate(&self.vs, v) else {
            out.resize(width, (f64::NAN, f64::NAN));
            return;
        };
        let cells = self.us.len() - 1;
        let mut k = usize::MAX;
        // Left and right edge of the current cell at this row, if linear.
        let mut edges: Option<((f64, f64), (f64, f64))> = None;
        for c in 0..width {
            let u = c as f64 + 0.5;
            let Some((kc, tu)) = locate(&self.us, u) else {
                out.push((f64::NAN, f64::NAN));
                continue;
            };
            if kc != k {
                k = kc;
                edges = if self.linear[l * cells + k] {
                    self.unwrapped(k, l).map(|[a, b, c, d]| {
                        let lerp = |p: (f64, f64), q: (f64, f64)| {
                            (p.0 + (q.0 - p.0) * tv, p.1 + (q.1 - p.1) * tv)
                        };
                        (lerp(a, c), lerp(b, d))
                    })
                } else {
                    None
                };
            }
            out.push(match edges {
                Some((p, q)) => (p.0 + (q.0 - p.0) * tu, p.1 + (q.1 - p.1) * tu),
                None => self.lonlat(u, v).unwrap_or((f64::NAN, f64::NAN)),
            });
        }
    }

    /// Nodes transformed (each costs two PROJ calls: there and back).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Longitude (−180..180) and latitude of image position (`u`, `v`)
    /// (pixel centres at half pixels); `None` outside the mesh or in a
    /// cell with a corner outside the CRS's domain.
    #[inline]
    pub fn lonlat(&self, u: f64, v: f64) -> Option<(f64, f64)> {
        let (k, tu) = locate(&self.us, u)?;
        let (l, tv) = locate(&self.vs, v)?;
        let [a, b, c, d] = self.corners(&self.nodes, k, l)?;
        Some(to_lonlat(&bilinear([a, b, c, d], tu, tv)))
    }
}

/// Longitude/latitude of a (not necessarily unit) vector: atan2 needs no
/// normalised one.
#[inline]
fn to_lonlat(p: &[f64; 3]) -> (f64, f64) {
    let lon = p[1].atan2(p[0]).to_degrees();
    let lat = p[2].atan2(p[0].hypot(p[1])).to_degrees();
    (lon, lat)
}

/// Bilinear blend of four corners (top-left, top-right, bottom-left,
/// bottom-right) at fractions (`tu`, `tv`).
#[inline]
fn bilinear<P: Lerp>([a, b, c, d]: [P; 4], tu: f64, tv: f64) -> P {
    let top = a.lerp(b, tu);
    let bottom = c.lerp(d, tu);
    top.lerp(bottom, tv)
}

/// What [`bilinear`] blends.
trait Lerp: Copy {
    fn lerp(self, to: Self, t: f64) -> Self;
}

impl Lerp for [f64; 3] {
    #[inline]
    fn lerp(self, to: Self, t: f64) -> Self {
        [0, 1, 2].map(|i| self[i] + (to[i] - self[i]) * t)
    }
}

impl Lerp for (f64, f64) {
    #[inline]
    fn lerp(self, to: Self, t: f64) -> Self {
        (self.0 + (to.0 - self.0) * t, self.1 + (to.1 - self.1) * t)
    }
}

/// The cell of `p` among node positions `nodes` and its fraction across.
#[inline]
fn locate(nodes: &[f64], p: f64) -> Option<(usize, f64)> {
    let (&first, &last) = (nodes.first()?, nodes.last()?);
    if !(p >= first - 1e-9 && p <= last + 1e-9) || nodes.len() < 2 {
        return None;
    }
    let k = (((p - first) / f64::from(TRANSFORM_STEP_PX))
        .floor()
        .max(0.0) as usize)
        .min(nodes.len() - 2);
    let (a, b) = (nodes[k], nodes[k + 1]);
    Some((k, ((p - a) / (b - a)).clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_every_step_and_at_both_edges() {
        assert_eq!(axis(40, 0), vec![0.0, 16.0, 32.0, 40.0]);
        assert_eq!(axis(32, 0), vec![0.0, 16.0, 32.0]);
        assert_eq!(axis(8, 16), vec![-16.0, 0.0, 16.0, 24.0]);
        let area = MapArea {
            crs: MapCrs::Epsg(3413),
            bbox: [0.0, 0.0, 1.0, 1.0],
            width: 40,
            height: 8,
        };
        assert_eq!(area.transform_nodes(16), 6 * 4);
        assert_eq!(area.transform_nodes(0), 4 * 2);
    }
}
