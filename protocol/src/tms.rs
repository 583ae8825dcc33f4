//! The two OGC tile matrix sets wxfarm serves (OGC 17-083r4 definitions).

use serde::{Deserialize, Serialize};

/// Half the side of the Web Mercator square, metres (π · 6378137).
pub const MERCATOR_HALF_EXTENT: f64 = 20_037_508.342_789_244;
/// The latitude at which Web Mercator's square ends, degrees.
pub const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_6;
/// OGC's standardised rendering pixel size, metres.
const PIXEL_SIZE_M: f64 = 0.00028;
/// Metres per degree on the WGS84 equator, as OGC uses for CRS84 scale.
const METRES_PER_DEGREE: f64 = 2.0 * std::f64::consts::PI * 6_378_137.0 / 360.0;

/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 18;

/// A tile matrix set identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum TileMatrixSetId {
    /// EPSG:3857, one 256 px tile at z0.
    WebMercatorQuad,
    /// EPSG:4326 (lon/lat), two tiles side by side at z0.
    WorldCRS84Quad,
}

/// A rectangle in geographic degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLatBox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl TileMatrixSetId {
    pub const ALL: [TileMatrixSetId; 2] = [Self::WebMercatorQuad, Self::WorldCRS84Quad];

    /// The identifier used in capabilities and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebMercatorQuad => "WebMercatorQuad",
            Self::WorldCRS84Quad => "WorldCRS84Quad",
        }
    }

    /// Parses an identifier, accepting the common aliases clients send.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "WebMercatorQuad" | "GoogleMapsCompatible" | "EPSG:3857" | "EPSG:900913" => {
                Some(Self::WebMercatorQuad)
            }
            "WorldCRS84Quad" | "EPSG:4326" | "CRS84" => Some(Self::WorldCRS84Quad),
            _ => None,
        }
    }

    /// The CRS URN used in capabilities.
    pub fn crs_urn(self) -> &'static str {
        match self {
            Self::WebMercatorQuad => "urn:ogc:def:crs:EPSG::3857",
            Self::WorldCRS84Quad => "urn:ogc:def:crs:OGC:1.3:CRS84",
        }
    }

    /// Number of tile columns at zoom `z`.
    pub fn matrix_width(self, z: u8) -> u32 {
        match self {
            Self::WebMercatorQuad => 1 << z,
            Self::WorldCRS84Quad => 2 << z,
        }
    }

    /// Number of tile rows at zoom `z`.
    pub fn matrix_height(self, z: u8) -> u32 {
        1 << z
    }

    /// Whether (z, x, y) addresses a tile of this set.
    pub fn contains(self, z: u8, x: u32, y: u32) -> bool {
        z <= MAX_ZOOM && x < self.matrix_width(z) && y < self.matrix_height(z)
    }

    /// Top-left corner of the matrix in CRS units, in the axis order the
    /// capabilities document uses (3857: x, y; CRS84: lon, lat).
    pub fn top_left(self) -> (f64, f64) {
        match self {
            Self::WebMercatorQuad => (-MERCATOR_HALF_EXTENT, MERCATOR_HALF_EXTENT),
            Self::WorldCRS84Quad => (-180.0, 90.0),
        }
    }

    /// Size of one tile at zoom `z` in CRS units.
    pub fn tile_span(self, z: u8) -> f64 {
        match self {
            Self::WebMercatorQuad => 2.0 * MERCATOR_HALF_EXTENT / f64::from(1u32 << z),
            Self::WorldCRS84Quad => 180.0 / f64::from(1u32 << z),
        }
    }

    /// OGC scale denominator of zoom `z` for `tile_size` pixel tiles.
    pub fn scale_denominator(self, z: u8, tile_size: u32) -> f64 {
        let units_per_pixel = self.tile_span(z) / f64::from(tile_size);
        match self {
            Self::WebMercatorQuad => units_per_pixel / PIXEL_SIZE_M,
            Self::WorldCRS84Quad => units_per_pixel * METRES_PER_DEGREE / PIXEL_SIZE_M,
        }
    }

    /// Geographic longitudes of the centres of `size` pixel columns of
    /// column `x` at zoom `z` (tiles are `size` pixels wide).
    pub fn pixel_lons(self, z: u8, x: u32, size: u32) -> Vec<f64> {
        let span = self.tile_span(z);
        let x0 = self.top_left().0 + f64::from(x) * span;
        (0..size)
            .map(|p| {
                let v = x0 + (f64::from(p) + 0.5) * span / f64::from(size);
                match self {
                    Self::WebMercatorQuad => mercator_x_to_lon(v),
                    Self::WorldCRS84Quad => v,
                }
            })
            .collect()
    }

    /// Geographic latitudes of the centres of `size` pixel rows of row `y`
    /// at zoom `z`, top to bottom.
    pub fn pixel_lats(self, z: u8, y: u32, size: u32) -> Vec<f64> {
        let span = self.tile_span(z);
        let y0 = self.top_left().1 - f64::from(y) * span;
        (0..size)
            .map(|p| {
                let v = y0 - (f64::from(p) + 0.5) * span / f64::from(size);
                match self {
                    Self::WebMercatorQuad => mercator_y_to_lat(v),
                    Self::WorldCRS84Quad => v,
                }
            })
            .collect()
    }

    /// The geographic box of tile (z, x, y).
    pub fn tile_lonlat_box(self, z: u8, x: u32, y: u32) -> LonLatBox {
        let span = self.tile_span(z);
        let (left, top) = self.top_left();
        let (x0, x1) = (left + f64::from(x) * span, left + f64::from(x + 1) * span);
        let (y0, y1) = (top - f64::from(y + 1) * span, top - f64::from(y) * span);
        match self {
            Self::WebMercatorQuad => LonLatBox {
                west: mercator_x_to_lon(x0),
                east: mercator_x_to_lon(x1),
                south: mercator_y_to_lat(y0),
                north: mercator_y_to_lat(y1),
            },
            Self::WorldCRS84Quad => LonLatBox {
                west: x0,
                east: x1,
                south: y0,
                north: y1,
            },
        }
    }
}

/// Web Mercator x (metres) to longitude (degrees).
pub fn mercator_x_to_lon(x: f64) -> f64 {
    x / MERCATOR_HALF_EXTENT * 180.0
}

/// Web Mercator y (metres) to latitude (degrees).
pub fn mercator_y_to_lat(y: f64) -> f64 {
    let r = MERCATOR_HALF_EXTENT / std::f64::consts::PI;
    (2.0 * (y / r).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees()
}

/// Longitude (degrees) to Web Mercator x (metres).
pub fn lon_to_mercator_x(lon: f64) -> f64 {
    lon / 180.0 * MERCATOR_HALF_EXTENT
}

/// Latitude (degrees) to Web Mercator y (metres), clamped to the square.
pub fn lat_to_mercator_y(lat: f64) -> f64 {
    let r = MERCATOR_HALF_EXTENT / std::f64::consts::PI;
    let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT).to_radians();
    r * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mercator_round_trip_and_square_edge() {
        for lat in [-80.0, -10.5, 0.0, 33.3, 85.0] {
            assert!((mercator_y_to_lat(lat_to_mercator_y(lat)) - lat).abs() < 1e-9);
        }
        assert!((mercator_y_to_lat(MERCATOR_HALF_EXTENT) - MERCATOR_MAX_LAT).abs() < 1e-9);
    }

    #[test]
    fn matrix_sizes_and_bounds() {
        let m = TileMatrixSetId::WebMercatorQuad;
        assert_eq!((m.matrix_width(3), m.matrix_height(3)), (8, 8));
        assert!(m.contains(3, 7, 7) && !m.contains(3, 8, 0) && !m.contains(19, 0, 0));
        let c = TileMatrixSetId::WorldCRS84Quad;
        assert_eq!((c.matrix_width(0), c.matrix_height(0)), (2, 1));
        let b = c.tile_lonlat_box(0, 1, 0);
        assert_eq!(
            (b.west, b.east, b.south, b.north),
            (0.0, 180.0, -90.0, 90.0)
        );
    }

    #[test]
    fn scale_denominators_match_ogc_tables() {
        // OGC 17-083r4 Annex D: WebMercatorQuad z0 = 559082264.0287178,
        // WorldCRS84Quad z0 = 279541132.0143589.
        let m = TileMatrixSetId::WebMercatorQuad.scale_denominator(0, 256);
        assert!((m - 559_082_264.028_717_8).abs() < 1e-3, "{m}");
        let c = TileMatrixSetId::WorldCRS84Quad.scale_denominator(0, 256);
        assert!((c - 279_541_132.014_358_9).abs() < 1e-3, "{c}");
    }

    #[test]
    fn pixel_centres_are_inside_the_tile() {
        let m = TileMatrixSetId::WebMercatorQuad;
        let lons = m.pixel_lons(1, 1, 256);
        assert!(lons[0] > 0.0 && lons[255] < 180.0 && lons.windows(2).all(|w| w[0] < w[1]));
        let lats = m.pixel_lats(1, 0, 256);
        assert!(lats[0] < MERCATOR_MAX_LAT && lats[255] > 0.0);
    }

    /// Pixel centres against the slippy-map formulas written out here
    /// (OSM wiki: `lat = atan(sinh(π (1 − 2 t)))`, `lon = 360 t − 180`
    /// with `t` the pixel centre's fraction of the world), not against
    /// the inverse projection the code uses.
    #[test]
    fn pixel_centres_match_the_closed_form_slippy_map_formulas() {
        use std::f64::consts::PI;
        for (z, x, y, size) in [(0u8, 0u32, 0u32, 256u32), (3, 5, 2, 256), (7, 100, 37, 512)] {
            let world = f64::from(size) * 2f64.powi(i32::from(z));
            let lats = TileMatrixSetId::WebMercatorQuad.pixel_lats(z, y, size);
            let lons = TileMatrixSetId::WebMercatorQuad.pixel_lons(z, x, size);
            for p in [0, 1, size / 2, size - 1] {
                let ty = (f64::from(y * size + p) + 0.5) / world;
                let lat = (PI * (1.0 - 2.0 * ty)).sinh().atan().to_degrees();
                let tx = (f64::from(x * size + p) + 0.5) / world;
                let lon = 360.0 * tx - 180.0;
                assert!(
                    (lats[p as usize] - lat).abs() < 1e-9,
                    "z{z} row {p}: {} vs {lat}",
                    lats[p as usize]
                );
                assert!((lons[p as usize] - lon).abs() < 1e-9, "z{z} col {p}");
            }
        }
        // CRS84: two 180° tiles at z0; pixel p of tile (z, x, y) is at
        // lon = −180 + (x·size + p + ½)·180/(size·2^z), lat likewise from 90.
        let (z, x, y, size) = (2u8, 5u32, 3u32, 256u32);
        let deg = 180.0 / (f64::from(size) * 4.0);
        let lons = TileMatrixSetId::WorldCRS84Quad.pixel_lons(z, x, size);
        let lats = TileMatrixSetId::WorldCRS84Quad.pixel_lats(z, y, size);
        for p in [0u32, 128, 255] {
            let lon = -180.0 + (f64::from(x * size + p) + 0.5) * deg;
            let lat = 90.0 - (f64::from(y * size + p) + 0.5) * deg;
            assert!((lons[p as usize] - lon).abs() < 1e-9 && (lats[p as usize] - lat).abs() < 1e-9);
        }
    }
}
