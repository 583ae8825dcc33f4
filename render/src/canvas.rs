//! [`Canvas`]: an output image placed in its CRS's *world pixel space*, the
//! pixel grid of the whole map at the output's resolution, with (0, 0) at
//! the tile matrix set's top-left corner.
//!
//! Symbols and labels are placed on lattices anchored in world pixels, not
//! in the image, so two neighbouring tiles (or one 512 px image covering
//! both) agree on where every barb and label goes. Each image draws the
//! lattice points within a buffer around itself, and a symbol that
//! straddles an edge is drawn whole on both sides.

use protocol::tms::{mercator_x_to_lon, mercator_y_to_lat};
use std::sync::Arc;

use protocol::{MapArea, MapCrs, RenderError, TileMatrixSetId};

use super::TileFrame;
use crate::crs::Mesh;

/// Half the Web Mercator world width, metres.
const MERCATOR_HALF: f64 = 20_037_508.342_789_244;

/// An output image in world pixel space.
#[derive(Debug, Clone)]
pub struct Canvas {
    crs: MapCrs,
    /// Positions of a [`MapCrs::Epsg`] map.
    mesh: Option<Arc<Mesh>>,
    /// CRS units per pixel along x and y.
    res: (f64, f64),
    /// World pixel position of the image's top-left corner.
    origin: (f64, f64),
    pub width: usize,
    pub height: usize,
}

impl Canvas {
    /// The canvas of a tile.
    pub fn for_tile(frame: &TileFrame) -> Self {
        let crs = match frame.tms {
            TileMatrixSetId::WebMercatorQuad => MapCrs::WebMercator,
            TileMatrixSetId::WorldCRS84Quad => MapCrs::LonLat,
        };
        let res = frame.tms.tile_span(frame.z) / f64::from(frame.size);
        let size = f64::from(frame.size);
        Self {
            crs,
            mesh: None,
            res: (res, res),
            origin: (f64::from(frame.x) * size, f64::from(frame.y) * size),
            width: frame.size as usize,
            height: frame.size as usize,
        }
    }

    /// The canvas of a WMS map; an [`MapCrs::Epsg`] map needs its `mesh`
    /// (else every position is unknown).
    pub fn for_area(area: &MapArea, mesh: Option<Arc<Mesh>>) -> Self {
        let [x0, y0, x1, y1] = area.bbox;
        let res = (
            (x1 - x0) / f64::from(area.width.max(1)),
            (y1 - y0) / f64::from(area.height.max(1)),
        );
        let (left, top) = match area.crs {
            MapCrs::WebMercator => (-MERCATOR_HALF, MERCATOR_HALF),
            MapCrs::LonLat => (-180.0, 90.0),
            MapCrs::Epsg(_) => (0.0, 0.0),
        };
        // A map aligned with the tile grid lands on whole pixels, so it
        // shares the tiles' lattice exactly despite rounding in the bbox.
        let snap = |v: f64| {
            let r = v.round();
            if (v - r).abs() < 1e-6 { r } else { v }
        };
        Self {
            crs: area.crs,
            mesh,
            res,
            origin: (snap((x0 - left) / res.0), snap((top - y1) / res.1)),
            width: area.width as usize,
            height: area.height as usize,
        }
    }

    /// Longitude and latitude of world pixel position (`wx`, `wy`); NaN
    /// where a PROJ CRS has none (outside its domain or the mesh).
    pub fn lonlat(&self, wx: f64, wy: f64) -> (f64, f64) {
        match self.crs {
            MapCrs::Epsg(_) => {
                let (u, v) = self.to_local(wx, wy);
                self.mesh
                    .as_ref()
                    .and_then(|m| m.lonlat(u, v))
                    .unwrap_or((f64::NAN, f64::NAN))
            }
            MapCrs::WebMercator => (
                mercator_x_to_lon(wx * self.res.0 - MERCATOR_HALF),
                mercator_y_to_lat(MERCATOR_HALF - wy * self.res.1),
            ),
            MapCrs::LonLat => (wx * self.res.0 - 180.0, 90.0 - wy * self.res.1),
        }
    }

    /// World pixel row of latitude `lat` (tests place expected lines with it).
    #[cfg(test)]
    pub(crate) fn world_y_of_lat(&self, lat: f64) -> f64 {
        match self.crs {
            MapCrs::WebMercator => {
                (MERCATOR_HALF - protocol::tms::lat_to_mercator_y(lat)) / self.res.1
            }
            MapCrs::LonLat => (90.0 - lat) / self.res.1,
            MapCrs::Epsg(_) => f64::NAN,
        }
    }

    /// Whether longitude depends only on world x and latitude only on
    /// world y (not so in a PROJ CRS).
    pub fn is_separable(&self) -> bool {
        self.crs.is_separable()
    }

    /// The on-screen bearing (radians clockwise from up) of a vector with
    /// `east` and `north` components at latitude `lat`: Web Mercator is
    /// conformal, so only non-square pixels bend it; plate carrée also
    /// stretches east–west by 1/cos(lat).
    /// A PROJ CRS turns and stretches vectors differently everywhere:
    /// there the bearing comes from the local derivatives of the map's
    /// mesh at world pixel (`wx`, `wy`) (its grid north angle and scale).
    pub fn screen_bearing(&self, (wx, wy): (f64, f64), lat: f64, east: f64, north: f64) -> f64 {
        let stretch = match self.crs {
            MapCrs::WebMercator => 1.0,
            MapCrs::LonLat => 1.0 / lat.to_radians().cos().max(1e-6),
            MapCrs::Epsg(_) => return self.mesh_bearing(wx, wy, east, north),
        };
        let x = east * stretch / self.res.0;
        let y = north / self.res.1;
        x.atan2(y)
    }

    /// [`Self::screen_bearing`] in a PROJ CRS: the ground displacement
    /// (east, north) of one pixel right and one pixel down, from the mesh,
    /// inverted for the pixel displacement along the vector.
    fn mesh_bearing(&self, wx: f64, wy: f64, east: f64, north: f64) -> f64 {
        let ground = |dx: f64, dy: f64| {
            let (a, b) = (self.lonlat(wx - dx, wy - dy), self.lonlat(wx + dx, wy + dy));
            let dlon = (b.0 - a.0 + 540.0).rem_euclid(360.0) - 180.0;
            let coslat = ((a.1 + b.1) / 2.0).to_radians().cos();
            (dlon * coslat, b.1 - a.1)
        };
        // Columns: ground change per pixel right (x) and per pixel down (y).
        let (ex, nx) = ground(0.5, 0.0);
        let (ey, ny) = ground(0.0, 0.5);
        let det = ex * ny - ey * nx;
        if !det.is_finite() || det == 0.0 {
            return f64::NAN;
        }
        // Pixels (px, py) with ex·px + ey·py = east, nx·px + ny·py = north.
        let px = (east * ny - ey * north) / det;
        let py = (ex * north - east * nx) / det;
        px.atan2(-py)
    }

    /// The spacing nearest `spacing` that divides the world's width into a
    /// whole number of steps, so a lattice with it closes around the globe
    /// and symbols line up across the antimeridian too. When the whole
    /// world is narrower than `spacing` (a map of several worlds), the step
    /// is the smallest whole number of worlds not below `spacing`: still
    /// periodic, and never denser than asked.
    pub fn periodic_step(&self, spacing: f64) -> f64 {
        let world = match self.crs {
            MapCrs::WebMercator => 2.0 * MERCATOR_HALF / self.res.0,
            MapCrs::LonLat => 360.0 / self.res.0,
            // No world to close around.
            MapCrs::Epsg(_) => return spacing,
        };
        if world >= spacing {
            world / (world / spacing).round()
        } else {
            world * (spacing / world).ceil()
        }
    }

    /// Image pixel position of a world pixel position.
    pub fn to_local(&self, wx: f64, wy: f64) -> (f64, f64) {
        (wx - self.origin.0, wy - self.origin.1)
    }

    /// World pixel position of the image's top-left corner.
    pub fn origin(&self) -> (f64, f64) {
        self.origin
    }

    /// World positions `(k·step + offset, l·step + offset)` of a lattice
    /// fixed in world space, for every point within `margin` pixels of the
    /// image, row by row; an error naming the budget when there would be
    /// more than `max_points` (counted before anything is allocated).
    pub fn lattice(
        &self,
        step: f64,
        offset: f64,
        margin: f64,
        max_points: usize,
    ) -> Result<Vec<(f64, f64)>, RenderError> {
        let range = |origin: f64, len: usize| {
            let first = ((origin - margin - offset) / step).ceil();
            let last = ((origin + len as f64 + margin - offset) / step).floor();
            (first, last)
        };
        let (cols, rows) = (
            range(self.origin.0, self.width),
            range(self.origin.1, self.height),
        );
        let count = |(first, last): (f64, f64)| (last - first + 1.0).max(0.0);
        let total = count(cols) * count(rows);
        if !(step > 0.0 && total.is_finite() && total <= max_points as f64) {
            return Err(RenderError::Invalid(format!(
                "more than {max_points} symbols in one image: widen the symbol spacing or shrink the map"
            )));
        }
        let mut points = Vec::with_capacity(total as usize);
        for l in rows.0 as i64..=rows.1 as i64 {
            for k in cols.0 as i64..=cols.1 as i64 {
                points.push((k as f64 * step + offset, l as f64 * step + offset));
            }
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(z: u8, x: u32, y: u32, size: u32) -> Canvas {
        Canvas::for_tile(&TileFrame {
            tms: TileMatrixSetId::WebMercatorQuad,
            z,
            x,
            y,
            size,
        })
    }

    #[test]
    fn a_parent_tile_at_double_size_shares_world_pixels_with_its_children() {
        let parent = tile(3, 2, 1, 512);
        let child = tile(4, 5, 3, 256);
        let (a, b) = (parent.lonlat(1300.5, 700.5), child.lonlat(1300.5, 700.5));
        assert!((a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9);
        assert_eq!(child.to_local(1300.0, 768.0), (20.0, 0.0));
    }

    #[test]
    fn a_map_area_on_the_tile_grid_snaps_to_the_tile_origin() {
        let t = tile(4, 5, 3, 256);
        let (lon0, lat1) = t.lonlat(1280.0, 768.0);
        let (lon1, lat0) = t.lonlat(1792.0, 1280.0);
        let area = MapArea {
            crs: MapCrs::WebMercator,
            bbox: [
                protocol::tms::lon_to_mercator_x(lon0),
                protocol::tms::lat_to_mercator_y(lat0),
                protocol::tms::lon_to_mercator_x(lon1),
                protocol::tms::lat_to_mercator_y(lat1),
            ],
            width: 512,
            height: 512,
        };
        assert_eq!(Canvas::for_area(&area, None).origin(), (1280.0, 768.0));
    }

    #[test]
    fn periodic_steps_divide_the_world() {
        // z4: 4096 world px; 40 → 4096 / 102.
        let step = tile(4, 0, 0, 256).periodic_step(40.0);
        assert!((step - 4096.0 / 102.0).abs() < 1e-9);
        assert_eq!(tile(3, 0, 0, 512).periodic_step(40.0), step, "same scale");
        assert_eq!(tile(4, 0, 0, 256).periodic_step(64.0), 64.0);
    }

    #[test]
    fn a_map_of_many_worlds_keeps_symbols_apart_and_counts_them_first() {
        // 2e12 m across in 256 px: the world is 0.0026 px wide.
        let map = Canvas::for_area(
            &MapArea {
                crs: MapCrs::WebMercator,
                bbox: [-2e12, -2e12, 2e12, 2e12],
                width: 256,
                height: 256,
            },
            None,
        );
        let step = map.periodic_step(40.0);
        assert!(step >= 40.0, "{step}");
        let pts = map.lattice(step, 20.0, 30.0, 100).unwrap();
        assert!(pts.len() <= 64, "{}", pts.len());
        let err = tile(4, 5, 3, 256)
            .lattice(1.0, 0.0, 30.0, 1000)
            .unwrap_err();
        assert!(err.to_string().contains("1000 symbols"), "{err}");
    }

    #[test]
    fn lattice_covers_the_image_plus_margin() {
        let t = tile(4, 5, 3, 256);
        let pts = t.lattice(40.0, 20.0, 30.0, 1000).unwrap();
        // Columns: world x in [1250, 1566] → 1260..=1540, 8 points; same rows.
        let xs: Vec<f64> = pts
            .iter()
            .map(|p| p.0)
            .take_while(|&x| x < 1550.0)
            .collect();
        assert_eq!(xs.first(), Some(&1260.0));
        assert_eq!(xs.last(), Some(&1540.0));
        assert_eq!(pts.len(), 8 * 8);
        let (lon, lat) = t.lonlat(0.0, t.world_y_of_lat(10.0));
        assert!((lon + 180.0).abs() < 1e-9 && (lat - 10.0).abs() < 1e-9);
    }
}
