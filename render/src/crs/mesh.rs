//! [`Mesh`]: a map's pixel → longitude/latitude transform, exact (PROJ) at
//! every [`TRANSFORM_STEP_PX`]th pixel and at the edges, bilinear in
//! between.
//!
//! Nodes are interpolated as unit vectors on the sphere, not as
//! longitude/latitude, so cells across the antimeridian or around a pole
//! (polar stereographic maps have both) interpolate as smoothly as any
//! other. The error against PROJ at every pixel is measured in
//! `render/tests/crs_mesh.rs`: at most [`MAX_MESH_ERROR_PX`] output pixels
//! on the maps tested.

use protocol::limits::{MAX_TRANSFORM_NODES, TRANSFORM_STEP_PX};
use protocol::{MapArea, MapCrs};

use super::{CrsError, with_transformer};

/// The interpolation error a [`Mesh`] stays within on maps of a polar
/// stereographic or UTM CRS, output pixels (measured, not derived: a
/// 16 px cell of a smooth projection is close to flat).
pub const MAX_MESH_ERROR_PX: f64 = 0.125;

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
}

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
        let nodes = with_transformer(code, |t| {
            vs.iter()
                .flat_map(|&v| us.iter().map(move |&u| (u, v)))
                .map(|(u, v)| {
                    let (x, y) = area.crs_xy(u, v);
                    t.to_lonlat(x, y).map(|(lon, lat)| unit_vector(lon, lat))
                })
                .collect()
        })?;
        Ok(Self { us, vs, nodes })
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
        let n = self.us.len();
        let at = |k: usize, l: usize| self.nodes[l * n + k];
        let (a, b, c, d) = (at(k, l)?, at(k + 1, l)?, at(k, l + 1)?, at(k + 1, l + 1)?);
        let mut p = [0.0; 3];
        for (i, p) in p.iter_mut().enumerate() {
            let top = a[i] + (b[i] - a[i]) * tu;
            let bottom = c[i] + (d[i] - c[i]) * tu;
            *p = top + (bottom - top) * tv;
        }
        // atan2 needs no normalised vector.
        let lon = p[1].atan2(p[0]).to_degrees();
        let lat = p[2].atan2(p[0].hypot(p[1])).to_degrees();
        Some((lon, lat))
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
