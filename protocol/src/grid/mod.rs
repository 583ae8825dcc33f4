//! [`Grid`]: decoded values plus where each one is on Earth.

pub mod projection;
mod values;

use crate::tms::LonLatBox;

use projection::{PoleRotation, Projection};
pub use values::{Coded, GridValues};

/// A decoded field.
///
/// `values[j * ni + i]` is grid point (i, j). Decoding normalises the scan
/// order so that i increases eastward (or along +x) and j follows the
/// geometry's signed row step; missing points are NaN.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Points per row (along i).
    pub ni: usize,
    /// Number of rows (along j).
    pub nj: usize,
    /// `ni × nj` values, row-major; NaN where missing.
    pub values: GridValues,
    /// Where each grid point is.
    pub geometry: GridGeometry,
    /// Whether vector components (u/v) are relative to the grid's own x/y
    /// axes rather than to east/north (bit 5 of GRIB2 flag table 3.3).
    /// Projected grids from NCEP usually set it, so winds must be rotated
    /// before they are drawn on a map.
    pub winds_grid_relative: bool,
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
    /// Gaussian grid (template 3.40): regular in longitude, with row j at
    /// latitude `lats[j]` (monotonic, either direction).
    Gaussian {
        lon0: f64,
        dlon: f64,
        lats: Vec<f64>,
    },
    /// Rotated lat/lon (template 3.1): regular in the rotated frame, where
    /// (i, j) is at rotated `lon0 + i·dlon`, `lat0 + j·dlat`.
    RotatedLatLon {
        lon0: f64,
        lat0: f64,
        dlon: f64,
        dlat: f64,
        rotation: PoleRotation,
    },
    /// A grid regular on a projection plane (templates 3.20, 3.30): (i, j)
    /// is at plane metres `x0 + i·dx`, `y0 + j·dy`; `dx > 0`, `dy` may be
    /// negative.
    Projected {
        projection: Projection,
        x0: f64,
        y0: f64,
        dx: f64,
        dy: f64,
    },
}

/// Fractional column of `lon` on a row of `ni` points from `lon0` every
/// `dlon` degrees; longitudes are brought into the row's range.
fn lon_index(lon: f64, lon0: f64, dlon: f64, ni: usize, wraps: bool) -> Option<f64> {
    let i = (lon - lon0).rem_euclid(360.0) / dlon;
    let ni = ni as f64;
    if wraps || i <= ni - 0.5 {
        Some(i)
    } else if i >= 360.0 / dlon - 0.5 {
        Some(i - 360.0 / dlon) // just west of the first column
    } else {
        None
    }
}

/// Fractional index of `v` along monotonic samples, extrapolating half a
/// step past either end; `None` outside.
fn index_in(samples: &[f64], v: f64) -> Option<f64> {
    let n = samples.len();
    let j = match n {
        0 => return None,
        1 => return ((v - samples[0]).abs() < 1e-9).then_some(0.0),
        _ => {
            let ascending = samples[n - 1] > samples[0];
            // Index of the first sample past `v` in scan direction.
            let k = samples.partition_point(|&s| if ascending { s < v } else { s > v });
            let k = k.clamp(1, n - 1);
            let (a, b) = (samples[k - 1], samples[k]);
            (k - 1) as f64 + (v - a) / (b - a)
        }
    };
    (j >= -0.5 && j <= n as f64 - 0.5).then_some(j)
}

/// The sample at fractional index `j`, interpolating linearly and
/// extrapolating with the end spacing.
fn sample_at(samples: &[f64], j: f64) -> f64 {
    match samples.len() {
        0 => f64::NAN,
        1 => samples[0],
        n => {
            let k = (j.floor().max(0.0) as usize).min(n - 2);
            let (a, b) = (samples[k], samples[k + 1]);
            a + (j - k as f64) * (b - a)
        }
    }
}

impl Grid {
    /// The value at integer grid point (i, j), NaN outside the grid.
    pub fn value(&self, i: usize, j: usize) -> f32 {
        if i < self.ni && j < self.nj {
            self.values.get(j * self.ni + i).unwrap_or(f32::NAN)
        } else {
            f32::NAN
        }
    }

    /// Decoded size in bytes, for the cache's weigher.
    pub fn size_bytes(&self) -> usize {
        let extra = match &self.geometry {
            GridGeometry::Gaussian { lats, .. } => lats.len() * std::mem::size_of::<f64>(),
            _ => 0,
        };
        self.values.size_bytes() + std::mem::size_of::<Self>() + extra
    }

    /// Whether the grid's columns close around the globe, so column `ni`
    /// is column 0 again (in the rotated frame for rotated grids).
    pub fn wraps_globally(&self) -> bool {
        match self.geometry {
            GridGeometry::LatLon { dlon, .. }
            | GridGeometry::Gaussian { dlon, .. }
            | GridGeometry::RotatedLatLon { dlon, .. } => {
                ((self.ni as f64) * dlon - 360.0).abs() < dlon * 0.5
            }
            GridGeometry::Projected { .. } => false,
        }
    }

    /// Whether the grid holds imagery: pixels of an instrument's scan
    /// (geostationary satellites) rather than points of a smooth field.
    /// A point query answers the pixel's own value, not an interpolation.
    pub fn is_imagery(&self) -> bool {
        matches!(
            self.geometry,
            GridGeometry::Projected {
                projection: Projection::Geostationary(_),
                ..
            }
        )
    }

    /// Whether [`Self::locate_lon`] and [`Self::locate_lat`] apply: column
    /// depends only on longitude, row only on latitude.
    pub fn is_separable(&self) -> bool {
        matches!(
            self.geometry,
            GridGeometry::LatLon { .. } | GridGeometry::Gaussian { .. }
        )
    }

    /// Fractional column of a longitude on a separable grid (any longitude
    /// is brought into the grid's range); `None` outside the grid or on a
    /// grid that is not separable.
    pub fn locate_lon(&self, lon: f64) -> Option<f64> {
        match self.geometry {
            GridGeometry::LatLon { lon0, dlon, .. } | GridGeometry::Gaussian { lon0, dlon, .. } => {
                lon_index(lon, lon0, dlon, self.ni, self.wraps_globally())
            }
            _ => None,
        }
    }

    /// Fractional row of a latitude on a separable grid; `None` outside or
    /// on a grid that is not separable.
    pub fn locate_lat(&self, lat: f64) -> Option<f64> {
        match &self.geometry {
            GridGeometry::LatLon { lat0, dlat, .. } => {
                let j = (lat - lat0) / dlat;
                (j >= -0.5 && j <= self.nj as f64 - 0.5).then_some(j)
            }
            GridGeometry::Gaussian { lats, .. } => index_in(lats, lat),
            _ => None,
        }
    }

    /// Fractional grid index of a geographic point; `None` outside.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        match &self.geometry {
            GridGeometry::LatLon { .. } | GridGeometry::Gaussian { .. } => {
                Some((self.locate_lon(lon)?, self.locate_lat(lat)?))
            }
            GridGeometry::RotatedLatLon {
                lon0,
                lat0,
                dlon,
                dlat,
                rotation,
            } => {
                let (lon_r, lat_r) = rotation.to_rotated(lon, lat);
                let i = lon_index(lon_r, *lon0, *dlon, self.ni, self.wraps_globally())?;
                let j = (lat_r - lat0) / dlat;
                (j >= -0.5 && j <= self.nj as f64 - 0.5).then_some((i, j))
            }
            GridGeometry::Projected {
                projection,
                x0,
                y0,
                dx,
                dy,
            } => {
                let (x, y) = projection.forward(lon, lat)?;
                let (i, j) = ((x - x0) / dx, (y - y0) / dy);
                let inside = |v: f64, n: usize| v >= -0.5 && v <= n as f64 - 0.5;
                (inside(i, self.ni) && inside(j, self.nj)).then_some((i, j))
            }
        }
    }

    /// Geographic position (lon, lat) of a fractional grid index. Longitudes
    /// of lat/lon grids keep the grid's own range (e.g. 0..360); those of
    /// rotated and projected grids are in [−180, 180).
    pub fn lonlat(&self, i: f64, j: f64) -> (f64, f64) {
        match &self.geometry {
            GridGeometry::LatLon {
                lon0,
                lat0,
                dlon,
                dlat,
            } => (lon0 + i * dlon, lat0 + j * dlat),
            GridGeometry::Gaussian { lon0, dlon, lats } => (lon0 + i * dlon, sample_at(lats, j)),
            GridGeometry::RotatedLatLon {
                lon0,
                lat0,
                dlon,
                dlat,
                rotation,
            } => rotation.to_geographic(lon0 + i * dlon, lat0 + j * dlat),
            GridGeometry::Projected {
                projection,
                x0,
                y0,
                dx,
                dy,
            } => projection.inverse(x0 + i * dx, y0 + j * dy),
        }
    }

    /// Angle in radians, clockwise, from the grid's +y axis to true north
    /// at (lon, lat): 0 where the grid's axes are east and north. Found by
    /// stepping a little north in the grid's own plane, so it holds for
    /// any projection (for Lambert it is −n·(λ − λ0)).
    pub fn north_angle(&self, lon: f64, lat: f64) -> f64 {
        const STEP: f64 = 1e-3; // degrees
        // Step south instead at the north pole.
        let (lat_a, lat_b) = if lat + STEP <= 90.0 {
            (lat, lat + STEP)
        } else {
            (lat - STEP, lat)
        };
        let north = match &self.geometry {
            GridGeometry::LatLon { .. } | GridGeometry::Gaussian { .. } => return 0.0,
            GridGeometry::Projected { projection, .. } => {
                match (
                    projection.forward(lon, lat_a),
                    projection.forward(lon, lat_b),
                ) {
                    (Some(a), Some(b)) => (b.0 - a.0, b.1 - a.1),
                    _ => return 0.0,
                }
            }
            GridGeometry::RotatedLatLon { rotation, .. } => {
                let (la, pa) = rotation.to_rotated(lon, lat_a);
                let (lb, pb) = rotation.to_rotated(lon, lat_b);
                let dl = (lb - la + 540.0).rem_euclid(360.0) - 180.0;
                (dl * pa.to_radians().cos(), pb - pa)
            }
        };
        north.0.atan2(north.1)
    }

    /// A wind vector (u, v) at (lon, lat) turned to east/north components
    /// when the grid's winds are relative to its own axes; as given
    /// otherwise.
    pub fn to_earth_relative(&self, lon: f64, lat: f64, u: f32, v: f32) -> (f32, f32) {
        if !self.winds_grid_relative {
            return (u, v);
        }
        let (s, c) = self.north_angle(lon, lat).sin_cos();
        let (s, c) = (s as f32, c as f32);
        (u * c - v * s, u * s + v * c)
    }

    /// Geographic bounds of the grid's cells (half a step beyond the outer
    /// points). `west` is in [−180, 180) and `east > west`; `east` exceeds
    /// 180 when the grid crosses the antimeridian. Grids that circle the
    /// globe or contain a pole span −180..180.
    pub fn bounding_box(&self) -> LonLatBox {
        let (ni, nj) = (self.ni as f64, self.nj as f64);
        if self.is_separable() {
            let (_, lat_a) = self.lonlat(0.0, -0.5);
            let (_, lat_b) = self.lonlat(0.0, nj - 0.5);
            let (south, north) = (lat_a.min(lat_b).max(-90.0), lat_a.max(lat_b).min(90.0));
            if self.wraps_globally() {
                return LonLatBox {
                    west: -180.0,
                    south,
                    east: 180.0,
                    north,
                };
            }
            let (west, _) = self.lonlat(-0.5, 0.0);
            let (east, _) = self.lonlat(ni - 0.5, 0.0);
            let w = (west + 180.0).rem_euclid(360.0) - 180.0;
            return LonLatBox {
                west: w,
                south,
                east: w + (east - west),
                north,
            };
        }
        self.sampled_bounding_box()
    }

    /// Bounds of a non-separable grid from points along its border, with
    /// longitudes unwrapped along the way so that crossing the antimeridian
    /// does not read as a 360° span.
    fn sampled_bounding_box(&self) -> LonLatBox {
        const PER_EDGE: usize = 128;
        let (ni, nj) = (self.ni as f64, self.nj as f64);
        // A walk around the border, edge after edge, so that unwrapping
        // compares neighbours.
        let step = |k: usize| k as f64 / PER_EDGE as f64;
        let border = (0..PER_EDGE)
            .map(|k| (-0.5 + step(k) * ni, -0.5))
            .chain((0..PER_EDGE).map(|k| (ni - 0.5, -0.5 + step(k) * nj)))
            .chain((0..PER_EDGE).map(|k| (ni - 0.5 - step(k) * ni, nj - 0.5)))
            .chain((0..PER_EDGE).map(|k| (-0.5, nj - 0.5 - step(k) * nj)));
        let (mut west, mut east) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut south, mut north) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut prev: Option<f64> = None;
        for (i, j) in border {
            let (mut lon, lat) = self.lonlat(i, j);
            if !(lon.is_finite() && lat.is_finite()) {
                continue;
            }
            if let Some(p) = prev {
                lon = p + (lon - p + 180.0).rem_euclid(360.0) - 180.0;
            }
            prev = Some(lon);
            west = west.min(lon);
            east = east.max(lon);
            south = south.min(lat);
            north = north.max(lat);
        }
        let north_pole = self.locate(0.0, 90.0).is_some();
        let south_pole = self.locate(0.0, -90.0).is_some();
        if north_pole {
            north = 90.0;
        }
        if south_pole {
            south = -90.0;
        }
        if north_pole || south_pole || east - west >= 360.0 || !west.is_finite() {
            return LonLatBox {
                west: -180.0,
                south: south.max(-90.0),
                east: 180.0,
                north: north.min(90.0),
            };
        }
        let w = (west + 180.0).rem_euclid(360.0) - 180.0;
        LonLatBox {
            west: w,
            south,
            east: w + (east - west),
            north,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(geometry: GridGeometry, ni: usize, nj: usize) -> Grid {
        Grid {
            ni,
            nj,
            values: vec![0.0; ni * nj].into(),
            geometry,
            winds_grid_relative: false,
        }
    }

    #[test]
    fn gaussian_rows_locate_and_interpolate() {
        let lats = vec![60.0, 20.0, -20.0, -60.0];
        let g = grid(
            GridGeometry::Gaussian {
                lon0: 0.0,
                dlon: 90.0,
                lats,
            },
            4,
            4,
        );
        assert_eq!(g.locate_lat(40.0), Some(0.5));
        assert_eq!(g.locate_lat(-60.0), Some(3.0));
        assert_eq!(g.locate_lat(79.0), Some(-0.475));
        assert_eq!(g.locate_lat(85.0), None);
        assert_eq!(g.lonlat(1.0, 2.5), (90.0, -40.0));
        assert!(g.wraps_globally() && g.is_separable());
        let b = g.bounding_box();
        assert_eq!(
            (b.west, b.east, b.south, b.north),
            (-180.0, 180.0, -80.0, 80.0)
        );
    }

    #[test]
    fn regional_latlon_box_crossing_antimeridian() {
        let g = grid(
            GridGeometry::LatLon {
                lon0: 170.0,
                lat0: 10.0,
                dlon: 1.0,
                dlat: -1.0,
            },
            21,
            11,
        );
        let b = g.bounding_box();
        assert_eq!(
            (b.west, b.east, b.south, b.north),
            (169.5, 190.5, -0.5, 10.5)
        );
    }

    #[test]
    fn rotated_grid_round_trips_and_is_not_separable() {
        use crate::grid::projection::PoleRotation;
        // A COSMO-like grid: pole rotated to 40N 170W (south pole 40S 10E).
        let g = grid(
            GridGeometry::RotatedLatLon {
                lon0: -5.0,
                lat0: -5.0,
                dlon: 0.5,
                dlat: 0.5,
                rotation: PoleRotation {
                    south_pole_lon: 10.0,
                    south_pole_lat: -40.0,
                    angle: 0.0,
                },
            },
            21,
            21,
        );
        assert!(!g.is_separable() && g.locate_lon(10.0).is_none());
        // The rotated origin (0, 0) is at the geographic 50N 10E.
        let (lon, lat) = g.lonlat(10.0, 10.0);
        assert!((lon - 10.0).abs() < 1e-9 && (lat - 50.0).abs() < 1e-9);
        let (i, j) = g.locate(lon, lat).unwrap();
        assert!((i - 10.0).abs() < 1e-9 && (j - 10.0).abs() < 1e-9);
        let b = g.bounding_box();
        assert!(
            b.south < 45.0 && b.north > 55.0 && b.west < 3.0 && b.east > 17.0,
            "{b:?}"
        );
    }

    #[test]
    fn lambert_grid_relative_winds_turn_by_the_cone_convergence() {
        use crate::grid::projection::{Earth, Lambert, Projection};
        // HRRR's cone: one standard parallel at 38.5N, central meridian 97.5W.
        let p = Lambert::new(Earth::sphere(6_371_229.0), 38.5, 38.5, 38.5, -97.5).unwrap();
        let mut g = grid(
            GridGeometry::Projected {
                projection: Projection::LambertConformal(p),
                x0: -2.7e6,
                y0: -1.6e6,
                dx: 3000.0,
                dy: 3000.0,
            },
            1799,
            1059,
        );
        let n = 38.5f64.to_radians().sin();
        for lon in [-120.0, -97.5, -75.0] {
            let expected = -n * (lon + 97.5f64).to_radians();
            let got = g.north_angle(lon, 40.0);
            assert!((got - expected).abs() < 1e-6, "{lon}: {got} vs {expected}");
        }
        // A wind along the grid's +x axis at 75W: east of the central
        // meridian the cone tilts north to the left, so +x points a little
        // south of east (wgrib2 -new_grid_winds earth gives the same).
        g.winds_grid_relative = true;
        let (u, v) = g.to_earth_relative(-75.0, 40.0, 10.0, 0.0);
        let a = n * 22.5f64.to_radians();
        assert!((f64::from(u) - 10.0 * a.cos()).abs() < 1e-4, "{u}");
        assert!((f64::from(v) + 10.0 * a.sin()).abs() < 1e-4, "{v}");
        assert!((u.hypot(v) - 10.0).abs() < 1e-4, "speed is kept");
        g.winds_grid_relative = false;
        assert_eq!(g.to_earth_relative(-75.0, 40.0, 10.0, 0.0), (10.0, 0.0));
    }

    #[test]
    fn polar_stereographic_box_holds_the_pole() {
        use crate::grid::projection::{Earth, PolarStereo, Projection};
        let p = PolarStereo::new(Earth::sphere(6_371_229.0), false, 60.0, -105.0).unwrap();
        let g = grid(
            GridGeometry::Projected {
                projection: Projection::PolarStereographic(p),
                x0: -5e6,
                y0: -5e6,
                dx: 1e5,
                dy: 1e5,
            },
            101,
            101,
        );
        let b = g.bounding_box();
        assert_eq!((b.west, b.east, b.north), (-180.0, 180.0, 90.0));
        assert!(b.south > 0.0 && b.south < 40.0, "{b:?}");
    }
}
