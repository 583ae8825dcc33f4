//! [`Grid`]: decoded values plus where each one is on Earth.

/// A decoded field.
///
/// `values[j * ni + i]` is grid point (i, j). Decoding normalises the scan
/// order so that i increases eastward (or along +x) and j follows the
/// geometry's signed row step; missing points are NaN.
#[derive(Debug, Clone)]
pub struct Grid {
    pub ni: usize,
    pub nj: usize,
    pub values: Vec<f32>,
    pub geometry: GridGeometry,
}

/// How grid indices map to the Earth.
#[derive(Debug, Clone, PartialEq)]
pub enum GridGeometry {
    /// Regular lat/lon (template 3.0): point (i, j) is at
    /// `lon0 + i·dlon`, `lat0 + j·dlat`; `dlon > 0`, `dlat` may be negative.
    LatLon {
        lon0: f64,
        lat0: f64,
        dlon: f64,
        dlat: f64,
    },
}

impl Grid {
    /// The value at integer grid point (i, j), NaN outside the grid.
    pub fn value(&self, i: usize, j: usize) -> f32 {
        if i < self.ni && j < self.nj {
            self.values[j * self.ni + i]
        } else {
            f32::NAN
        }
    }

    /// Decoded size in bytes, for the cache's weigher.
    pub fn size_bytes(&self) -> usize {
        self.values.len() * std::mem::size_of::<f32>() + std::mem::size_of::<Self>()
    }

    /// Whether the grid's columns close around the globe, so column `ni`
    /// is column 0 again.
    pub fn wraps_globally(&self) -> bool {
        match self.geometry {
            GridGeometry::LatLon { dlon, .. } => {
                ((self.ni as f64) * dlon - 360.0).abs() < dlon * 0.5
            }
        }
    }

    /// Whether [`Self::locate_lon`] and [`Self::locate_lat`] apply: column
    /// depends only on longitude, row only on latitude.
    pub fn is_separable(&self) -> bool {
        matches!(self.geometry, GridGeometry::LatLon { .. })
    }

    /// Fractional column of a longitude on a separable grid (any longitude
    /// is brought into the grid's range); `None` outside the grid.
    pub fn locate_lon(&self, lon: f64) -> Option<f64> {
        match self.geometry {
            GridGeometry::LatLon { lon0, dlon, .. } => {
                let i = (lon - lon0).rem_euclid(360.0) / dlon;
                let ni = self.ni as f64;
                if self.wraps_globally() || i <= ni - 0.5 {
                    Some(i)
                } else if i >= 360.0 / dlon - 0.5 {
                    Some(i - 360.0 / dlon) // just west of the first column
                } else {
                    None
                }
            }
        }
    }

    /// Fractional row of a latitude on a separable grid; `None` outside.
    pub fn locate_lat(&self, lat: f64) -> Option<f64> {
        match self.geometry {
            GridGeometry::LatLon { lat0, dlat, .. } => {
                let j = (lat - lat0) / dlat;
                (j >= -0.5 && j <= self.nj as f64 - 0.5).then_some(j)
            }
        }
    }

    /// Fractional grid index of a geographic point; `None` outside.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        Some((self.locate_lon(lon)?, self.locate_lat(lat)?))
    }

    /// Geographic position (lon, lat) of a fractional grid index.
    pub fn lonlat(&self, i: f64, j: f64) -> (f64, f64) {
        match self.geometry {
            GridGeometry::LatLon {
                lon0,
                lat0,
                dlon,
                dlat,
            } => (lon0 + i * dlon, lat0 + j * dlat),
        }
    }
}
