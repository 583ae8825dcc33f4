//! Tile matrix set arithmetic: matrix sizes, lon/lat → tile, bbox → tile ranges.
//!
//! Kept independent from the server's `protocol` crate on purpose: the load
//! generator measures *any* tile server over HTTP and must not drift with
//! server internals.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest zoom level accepted anywhere (2^30 tiles per axis still fits in u32 math).
pub const MAX_ZOOM: u8 = 30;

/// Latitude limit of the Web Mercator square.
const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_59;

/// The OGC tile matrix sets the generator knows how to address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TileMatrixSet {
    /// EPSG:3857, square world, 2^z × 2^z tiles (XYZ / Google / OSM layout).
    #[default]
    WebMercatorQuad,
    /// EPSG:4326 plate carrée, 2^(z+1) columns × 2^z rows.
    WorldCRS84Quad,
}

impl TileMatrixSet {
    /// The identifier used in WMTS URLs (`{tms}`).
    pub fn id(self) -> &'static str {
        match self {
            TileMatrixSet::WebMercatorQuad => "WebMercatorQuad",
            TileMatrixSet::WorldCRS84Quad => "WorldCRS84Quad",
        }
    }

    /// (columns, rows) of the matrix at zoom `z`.
    pub fn matrix_size(self, z: u8) -> (u32, u32) {
        let n = 1u32 << z.min(MAX_ZOOM);
        match self {
            TileMatrixSet::WebMercatorQuad => (n, n),
            TileMatrixSet::WorldCRS84Quad => (n.saturating_mul(2), n),
        }
    }

    /// The tile containing (lon, lat) at zoom `z`, clamped into the matrix.
    pub fn tile_at(self, z: u8, lon: f64, lat: f64) -> Tile {
        let (cols, rows) = self.matrix_size(z);
        let fx = ((lon.clamp(-180.0, 180.0) + 180.0) / 360.0) * f64::from(cols);
        let fy = match self {
            TileMatrixSet::WebMercatorQuad => {
                let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT).to_radians();
                let merc = (lat.tan() + 1.0 / lat.cos()).ln();
                (1.0 - merc / std::f64::consts::PI) / 2.0 * f64::from(rows)
            }
            TileMatrixSet::WorldCRS84Quad => {
                (90.0 - lat.clamp(-90.0, 90.0)) / 180.0 * f64::from(rows)
            }
        };
        // Points on the east/south edge fall exactly on `cols`/`rows`: clamp them in.
        let x = (fx.floor().max(0.0) as u32).min(cols - 1);
        let y = (fy.floor().max(0.0) as u32).min(rows - 1);
        Tile { z, x, y }
    }

    /// The inclusive tile range covering `bbox` at zoom `z` (the whole matrix when `None`).
    pub fn range(self, z: u8, bbox: Option<&BBox>) -> TileRange {
        let (cols, rows) = self.matrix_size(z);
        match bbox {
            None => TileRange {
                z,
                x0: 0,
                x1: cols - 1,
                y0: 0,
                y1: rows - 1,
            },
            Some(b) => {
                // Rows count from the north: the top-left corner is (min_lon, max_lat).
                let tl = self.tile_at(z, b.min_lon, b.max_lat);
                let br = self.tile_at(z, b.max_lon, b.min_lat);
                TileRange {
                    z,
                    x0: tl.x,
                    x1: br.x,
                    y0: tl.y,
                    y1: br.y,
                }
            }
        }
    }

    /// Whether `t` lies inside the matrix of its zoom.
    pub fn contains(self, t: &Tile) -> bool {
        let (cols, rows) = self.matrix_size(t.z);
        t.z <= MAX_ZOOM && t.x < cols && t.y < rows
    }
}

/// A geographic bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    /// West edge.
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// North edge.
    pub max_lat: f64,
}

impl BBox {
    /// Builds a bbox from `[min_lon, min_lat, max_lon, max_lat]`, checking its sanity.
    pub fn from_array(a: [f64; 4]) -> Result<Self, String> {
        let [min_lon, min_lat, max_lon, max_lat] = a;
        if a.iter().any(|v| !v.is_finite()) {
            return Err("must contain finite numbers".into());
        }
        if !(-180.0..=180.0).contains(&min_lon) || !(-180.0..=180.0).contains(&max_lon) {
            return Err("longitudes must be within [-180, 180]".into());
        }
        if !(-90.0..=90.0).contains(&min_lat) || !(-90.0..=90.0).contains(&max_lat) {
            return Err("latitudes must be within [-90, 90]".into());
        }
        if min_lon >= max_lon || min_lat >= max_lat {
            return Err("must be [min_lon, min_lat, max_lon, max_lat] with min < max (antimeridian crossing is not supported)".into());
        }
        Ok(BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }
}

/// One tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tile {
    /// Zoom level / TileMatrix.
    pub z: u8,
    /// Column / TileCol.
    pub x: u32,
    /// Row from the top / TileRow.
    pub y: u32,
}

impl Tile {
    /// The parent tile one zoom level up (`None` at zoom 0).
    pub fn parent(&self) -> Option<Tile> {
        (self.z > 0).then(|| Tile {
            z: self.z - 1,
            x: self.x / 2,
            y: self.y / 2,
        })
    }

    /// The four children one zoom level down (both supported sets are quadtrees).
    pub fn children(&self) -> [Tile; 4] {
        let (z, x, y) = (self.z + 1, self.x * 2, self.y * 2);
        [
            Tile { z, x, y },
            Tile { z, x: x + 1, y },
            Tile { z, x, y: y + 1 },
            Tile {
                z,
                x: x + 1,
                y: y + 1,
            },
        ]
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// An inclusive rectangle of tiles at one zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    /// Zoom level.
    pub z: u8,
    /// First column.
    pub x0: u32,
    /// Last column (inclusive).
    pub x1: u32,
    /// First row.
    pub y0: u32,
    /// Last row (inclusive).
    pub y1: u32,
}

impl TileRange {
    /// Number of tiles in the range.
    pub fn len(&self) -> u64 {
        u64::from(self.x1 - self.x0 + 1) * u64::from(self.y1 - self.y0 + 1)
    }

    /// Always false: a range holds at least one tile.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the range holds `t`.
    pub fn contains(&self, t: &Tile) -> bool {
        t.z == self.z && (self.x0..=self.x1).contains(&t.x) && (self.y0..=self.y1).contains(&t.y)
    }

    /// The `i`-th tile in row-major order (`i < len()`).
    pub fn nth(&self, i: u64) -> Tile {
        let w = u64::from(self.x1 - self.x0 + 1);
        Tile {
            z: self.z,
            x: self.x0 + (i % w) as u32,
            y: self.y0 + (i / w) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_sizes() {
        assert_eq!(TileMatrixSet::WebMercatorQuad.matrix_size(0), (1, 1));
        assert_eq!(TileMatrixSet::WebMercatorQuad.matrix_size(3), (8, 8));
        assert_eq!(TileMatrixSet::WorldCRS84Quad.matrix_size(0), (2, 1));
        assert_eq!(TileMatrixSet::WorldCRS84Quad.matrix_size(3), (16, 8));
    }

    #[test]
    fn lonlat_to_tile() {
        let m = TileMatrixSet::WebMercatorQuad;
        assert_eq!(m.tile_at(1, -90.0, 45.0), Tile { z: 1, x: 0, y: 0 });
        assert_eq!(m.tile_at(1, 90.0, -45.0), Tile { z: 1, x: 1, y: 1 });
        assert_eq!(m.tile_at(2, 180.0, -90.0), Tile { z: 2, x: 3, y: 3 });
        // Paris at z10 is the well-known 518/352.
        assert_eq!(
            m.tile_at(10, 2.3522, 48.8566),
            Tile {
                z: 10,
                x: 518,
                y: 352
            }
        );
        let g = TileMatrixSet::WorldCRS84Quad;
        assert_eq!(g.tile_at(0, 10.0, 10.0), Tile { z: 0, x: 1, y: 0 });
        assert_eq!(g.tile_at(1, -100.0, -10.0), Tile { z: 1, x: 0, y: 1 });
    }

    #[test]
    fn bbox_range() {
        let b = BBox::from_array([-10.0, 40.0, 10.0, 50.0]).unwrap();
        let r = TileMatrixSet::WebMercatorQuad.range(4, Some(&b));
        assert!(r.x0 <= r.x1 && r.y0 <= r.y1);
        assert_eq!((r.x0, r.x1), (7, 8));
        assert!(BBox::from_array([10.0, 0.0, -10.0, 5.0]).is_err());
        assert!(BBox::from_array([0.0, 0.0, 10.0, 95.0]).is_err());
    }

    #[test]
    fn parent_child() {
        let t = Tile { z: 3, x: 5, y: 2 };
        for c in t.children() {
            assert_eq!(c.parent(), Some(t));
        }
        assert_eq!(Tile { z: 0, x: 0, y: 0 }.parent(), None);
    }
}
