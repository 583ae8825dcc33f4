//! Geographic extents in tile terms: which tiles of a matrix cover a
//! lon/lat box, and the normalised WGS84 extent of a layer.
//!
//! Helpers `protocol::tms` lacks; they build only on its public functions
//! so both agree on where every tile is.

use protocol::catalog::LayerEntry;
use protocol::tms::{
    LonLatBox, MERCATOR_MAX_LAT, TileMatrixSetId, lat_to_mercator_y, lon_to_mercator_x,
};

/// An inclusive rectangle of tile indices in one tile matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    pub min_col: u32,
    pub max_col: u32,
    pub min_row: u32,
    pub max_row: u32,
}

impl TileRange {
    /// The whole matrix of `tms` at zoom `z`.
    pub fn full(tms: TileMatrixSetId, z: u8) -> Self {
        Self {
            min_col: 0,
            max_col: tms.matrix_width(z) - 1,
            min_row: 0,
            max_row: tms.matrix_height(z) - 1,
        }
    }

    /// Whether (col, row) lies inside the range.
    pub fn contains(&self, col: u32, row: u32) -> bool {
        (self.min_col..=self.max_col).contains(&col) && (self.min_row..=self.max_row).contains(&row)
    }
}

/// Fractional (column, row) of a lon/lat point in the matrix of `tms` at
/// zoom `z`; (0, 0) is the top-left corner. Latitudes beyond the set's
/// coverage (±85.05° for Web Mercator) are clamped onto its edge.
pub fn lonlat_to_tile_fraction(tms: TileMatrixSetId, z: u8, lon: f64, lat: f64) -> (f64, f64) {
    let lon = lon.clamp(-180.0, 180.0);
    let (x, y) = match tms {
        TileMatrixSetId::WebMercatorQuad => (
            lon_to_mercator_x(lon),
            lat_to_mercator_y(lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT)),
        ),
        TileMatrixSetId::WorldCRS84Quad => (lon, lat.clamp(-90.0, 90.0)),
    };
    let (left, top) = tms.top_left();
    let span = tms.tile_span(z);
    (snap((x - left) / span), snap((top - y) / span))
}

/// Rounds values within float noise of an integer onto it, so a box edge
/// lying exactly on a tile edge does not pull in the neighbouring tile.
fn snap(v: f64) -> f64 {
    let r = v.round();
    if (v - r).abs() < 1e-9 { r } else { v }
}

/// The tile (column, row) containing a lon/lat point at zoom `z`; points
/// on the far edges belong to the last column/row.
pub fn tile_at(tms: TileMatrixSetId, z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let (c, r) = lonlat_to_tile_fraction(tms, z, lon, lat);
    (
        clamp_index(c.floor(), tms.matrix_width(z)),
        clamp_index(r.floor(), tms.matrix_height(z)),
    )
}

fn clamp_index(v: f64, n: u32) -> u32 {
    // The float is already clamped to [0, n]; `as` saturates regardless.
    (v.max(0.0) as u32).min(n - 1)
}

/// The tiles of `tms` at zoom `z` that intersect `bbox` (west ≤ east, no
/// antimeridian crossing; see [`layer_wgs84_box`]). A box edge on a tile
/// edge excludes the tile beyond it; a degenerate box still yields the one
/// tile containing it.
pub fn tile_range(tms: TileMatrixSetId, z: u8, bbox: &LonLatBox) -> TileRange {
    let (c0, r0) = lonlat_to_tile_fraction(tms, z, bbox.west, bbox.north);
    let (c1, r1) = lonlat_to_tile_fraction(tms, z, bbox.east, bbox.south);
    let (w, h) = (tms.matrix_width(z), tms.matrix_height(z));
    let min_col = clamp_index(c0.floor(), w);
    let min_row = clamp_index(r0.floor(), h);
    // ceil − 1: the last tile whose interior the box reaches.
    let max_col = clamp_index(c1.ceil() - 1.0, w).max(min_col);
    let max_row = clamp_index(r1.ceil() - 1.0, h).max(min_row);
    TileRange {
        min_col,
        max_col,
        min_row,
        max_row,
    }
}

/// The layer's extent as an OWS `WGS84BoundingBox` wants it: longitudes in
/// [-180, 180] with west ≤ east, latitudes in [-90, 90].
///
/// GRIB grids often use 0..360 longitudes. A grid that wraps all the way
/// round (its span plus one column reaches 360°, e.g. 0..359.75 at 0.25°)
/// becomes -180..180; one wholly east of 180° is shifted by -360°; one
/// crossing the antimeridian is widened to -180..180, because neither the
/// box (for most clients) nor TileMatrixSetLimits can express a wrap and a
/// superset only costs a few empty tiles.
pub fn layer_wgs84_box(layer: &LayerEntry) -> LonLatBox {
    let b = layer.bbox;
    let south = b.south.clamp(-90.0, 90.0);
    let north = b.north.clamp(-90.0, 90.0);
    let full = LonLatBox {
        west: -180.0,
        south,
        east: 180.0,
        north,
    };
    let wraps = b.east - b.west >= 360.0
        || layer.fields.values().any(|f| {
            let g = &f.grid;
            let span = g.bbox.east - g.bbox.west;
            g.ni > 1 && span + span / f64::from(g.ni - 1) >= 360.0 - 1e-6
        });
    if wraps {
        return full;
    }
    let (west, east) = if b.west >= 180.0 {
        (b.west - 360.0, b.east - 360.0)
    } else if b.east <= -180.0 {
        (b.west + 360.0, b.east + 360.0)
    } else {
        (b.west, b.east)
    };
    if west < -180.0 || east > 180.0 {
        return full;
    }
    LonLatBox {
        west,
        south,
        east,
        north,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: TileMatrixSetId = TileMatrixSetId::WebMercatorQuad;
    const C: TileMatrixSetId = TileMatrixSetId::WorldCRS84Quad;

    fn bx(west: f64, south: f64, east: f64, north: f64) -> LonLatBox {
        LonLatBox {
            west,
            south,
            east,
            north,
        }
    }

    #[test]
    fn world_covers_every_tile() {
        for z in [0, 3, 18] {
            assert_eq!(
                tile_range(M, z, &bx(-180.0, -90.0, 180.0, 90.0)),
                TileRange::full(M, z)
            );
            assert_eq!(
                tile_range(C, z, &bx(-180.0, -90.0, 180.0, 90.0)),
                TileRange::full(C, z)
            );
        }
    }

    #[test]
    fn edges_on_tile_edges_exclude_the_neighbour() {
        // z1 Web Mercator: the north-east quadrant is exactly tile (1, 0).
        let r = tile_range(M, 1, &bx(0.0, 0.0, 180.0, 90.0));
        assert_eq!((r.min_col, r.max_col, r.min_row, r.max_row), (1, 1, 0, 0));
        // z0 CRS84: the western hemisphere is tile (0, 0).
        let r = tile_range(C, 0, &bx(-180.0, -90.0, 0.0, 90.0));
        assert_eq!((r.min_col, r.max_col), (0, 0));
    }

    #[test]
    fn tiles_found_contain_the_point() {
        for tms in TileMatrixSetId::ALL {
            for (lon, lat) in [(-97.5, 35.2), (139.7, -33.9), (0.1, 0.1)] {
                let (c, r) = tile_at(tms, 7, lon, lat);
                let b = tms.tile_lonlat_box(7, c, r);
                assert!(b.west <= lon && lon <= b.east && b.south <= lat && lat <= b.north);
            }
        }
    }

    #[test]
    fn degenerate_box_is_one_tile() {
        let r = tile_range(M, 5, &bx(10.0, 10.0, 10.0, 10.0));
        assert_eq!((r.max_col - r.min_col, r.max_row - r.min_row), (0, 0));
    }

    fn layer_with(bbox: LonLatBox, ni: u32) -> LayerEntry {
        use protocol::catalog::*;
        use protocol::style::{ColorMapName, Units};
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let info = LayerInfo {
            name: "l".into(),
            title: "l".into(),
            kind: LayerKind::Model,
            units: Units::Other,
            display_units: Units::Other,
            colormap: ColorMapName::Temperature,
            range: (0.0, 1.0),
            transparent_below: None,
            no_data_color: None,
            elevation_units: None,
            pair: None,
            expected_valid_times: Default::default(),
        };
        let field = FieldEntry {
            layer: "l".into(),
            parameter: Parameter {
                discipline: 0,
                category: 0,
                number: 0,
                short_name: "X".into(),
                long_name: "X".into(),
                units: "1".into(),
            },
            level: Level {
                type_code: 1,
                value: None,
                label: "surface".into(),
            },
            run: t,
            valid: t,
            elevation: None,
            grid: GridSummary {
                template: 0,
                ni,
                nj: 2,
                bbox,
            },
            source: FieldRef {
                object_key: "k".into(),
                offset: 0,
                length: 1,
                submessage: 0,
            },
        };
        let mut c = protocol::Catalog::default();
        c.insert(&info, field);
        c.layers.remove("l").unwrap()
    }

    #[test]
    fn layer_boxes_are_normalised_to_plus_minus_180() {
        let n = |b, ni| {
            let r = layer_wgs84_box(&layer_with(b, ni));
            (r.west, r.south, r.east, r.north)
        };
        // 0..359.75 at 0.25° wraps round the globe.
        assert_eq!(
            n(bx(0.0, -90.0, 359.75, 90.0), 1440),
            (-180.0, -90.0, 180.0, 90.0)
        );
        // Wholly east of 180°: shifted (HRRR-like box in 0..360 longitudes).
        assert_eq!(
            n(bx(230.0, 20.0, 300.0, 55.0), 1799),
            (-130.0, 20.0, -60.0, 55.0)
        );
        // Across the antimeridian: widened, never wrapped.
        assert_eq!(
            n(bx(170.0, -50.0, 190.0, -30.0), 81),
            (-180.0, -50.0, 180.0, -30.0)
        );
        // Already in range, and latitudes clamped.
        assert_eq!(
            n(bx(-10.0, -95.0, 10.0, 95.0), 21),
            (-10.0, -90.0, 10.0, 90.0)
        );
    }
}
