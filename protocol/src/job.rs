//! Render jobs: what a worker needs to draw one tile, self-contained so a
//! worker never consults the catalog.

use serde::{Deserialize, Serialize};

use crate::{FieldRef, StyleSpec, TileKey};

/// Wire-format version of [`RenderJob`]; bumped on incompatible changes.
pub const JOB_VERSION: u16 = 1;

/// Scheduling class. Workers always drain `Interactive` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    /// A user is waiting.
    Interactive,
    /// Neighbours and next frames of what users look at.
    Prefetch,
    /// Low zooms of newly ingested data.
    Warm,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Self::Interactive, Self::Prefetch, Self::Warm];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::Prefetch => "prefetch",
            Self::Warm => "warm",
        }
    }
}

/// One tile to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderJob {
    pub version: u16,
    pub key: TileKey,
    /// The fields to draw (one for scalar styles).
    pub sources: Vec<FieldRef>,
    pub style: StyleSpec,
    pub priority: Priority,
    /// Draw this map instead of the key's tile (WMS GetMap). The key's
    /// `style_params` then carry [`MapArea::canonical`], so maps cache apart.
    #[serde(default)]
    pub area: Option<MapArea>,
}

/// The CRS of a [`MapArea`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MapCrs {
    /// EPSG:3857, metres.
    WebMercator,
    /// Longitude/latitude degrees (EPSG:4326 and CRS:84 after axis-order
    /// normalisation).
    LonLat,
    /// Any other EPSG CRS, drawn through PROJ (`render::crs`). The box is in
    /// the CRS's units and always easting (or longitude) first, whatever
    /// the CRS's authority axis order: the gateway swaps northing-first
    /// boxes on the way in.
    Epsg(u32),
}

impl MapCrs {
    /// Whether every pixel column has one longitude and every row one
    /// latitude (the closed-form CRSs of the tile matrix sets).
    pub fn is_separable(self) -> bool {
        !matches!(self, Self::Epsg(_))
    }
}

/// An arbitrary map: a box in a CRS, drawn `width`×`height` pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapArea {
    pub crs: MapCrs,
    /// min x, min y, max x, max y (x = easting or longitude).
    pub bbox: [f64; 4],
    pub width: u32,
    pub height: u32,
}

impl MapArea {
    /// CRS coordinates of image position (`u`, `v`), in pixels from the
    /// top-left corner (pixel centres are at half pixels).
    pub fn crs_xy(&self, u: f64, v: f64) -> (f64, f64) {
        let [x0, y0, x1, y1] = self.bbox;
        (
            x0 + u * (x1 - x0) / f64::from(self.width.max(1)),
            y1 - v * (y1 - y0) / f64::from(self.height.max(1)),
        )
    }

    /// Longitudes of the pixel column centres; NaN for an
    /// [`MapCrs::Epsg`] map, whose columns have no single longitude (see
    /// `render::crs::Mesh`).
    pub fn pixel_lons(&self) -> Vec<f64> {
        let [x0, _, x1, _] = self.bbox;
        (0..self.width)
            .map(|c| {
                let x = x0 + (f64::from(c) + 0.5) * (x1 - x0) / f64::from(self.width);
                match self.crs {
                    MapCrs::WebMercator => crate::tms::mercator_x_to_lon(x),
                    MapCrs::LonLat => x,
                    MapCrs::Epsg(_) => f64::NAN,
                }
            })
            .collect()
    }

    /// Latitudes of the pixel row centres, top to bottom; NaN for an
    /// [`MapCrs::Epsg`] map.
    pub fn pixel_lats(&self) -> Vec<f64> {
        let [_, y0, _, y1] = self.bbox;
        (0..self.height)
            .map(|r| {
                let y = y1 - (f64::from(r) + 0.5) * (y1 - y0) / f64::from(self.height);
                match self.crs {
                    MapCrs::WebMercator => crate::tms::mercator_y_to_lat(y),
                    MapCrs::LonLat => y,
                    MapCrs::Epsg(_) => f64::NAN,
                }
            })
            .collect()
    }

    /// A stable text form for cache keys.
    pub fn canonical(&self) -> String {
        let [a, b, c, d] = self.bbox;
        format!(
            "map={:?};bbox={a},{b},{c},{d};size={}x{}",
            self.crs, self.width, self.height
        )
    }
}

impl RenderJob {
    pub fn new(key: TileKey, sources: Vec<FieldRef>, style: StyleSpec, priority: Priority) -> Self {
        Self {
            version: JOB_VERSION,
            key,
            sources,
            style,
            priority,
            area: None,
        }
    }
}

/// Why a render did not produce a tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RenderError {
    /// The source data could not be fetched or decoded.
    #[error("source data unusable: {0}")]
    Data(String),
    /// The request cannot be drawn (e.g. a style the data does not allow).
    #[error("cannot render: {0}")]
    Invalid(String),
    /// The queue is full or the render farm is unreachable; retry later.
    #[error("render capacity exhausted: {0}")]
    Overloaded(String),
    /// No result arrived within the deadline.
    #[error("render timed out after {0} ms")]
    Timeout(u64),
    /// Unexpected failure inside the renderer.
    #[error("internal render failure: {0}")]
    Internal(String),
    /// Stopped at a stage boundary because nobody waits for the result
    /// any more (see [`crate::Cancel`]).
    #[error("render cancelled: nobody waits for it")]
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Map pixel centres against Web Mercator's closed form (`lat =
    /// atan(sinh(y / R))`, `lon = x / R` in radians, R = 6378137 m), not
    /// against the code's own inverse projection.
    #[test]
    fn map_pixel_centres_match_the_closed_form() {
        const R: f64 = 6_378_137.0;
        let area = MapArea {
            crs: MapCrs::WebMercator,
            bbox: [-1.0e6, 2.0e6, 3.0e6, 6.0e6],
            width: 400,
            height: 200,
        };
        let (lons, lats) = (area.pixel_lons(), area.pixel_lats());
        for c in [0usize, 1, 199, 399] {
            let x = -1.0e6 + (c as f64 + 0.5) * 4.0e6 / 400.0;
            assert!((lons[c] - (x / R).to_degrees()).abs() < 1e-9, "column {c}");
        }
        for r in [0usize, 1, 100, 199] {
            let y = 6.0e6 - (r as f64 + 0.5) * 4.0e6 / 200.0;
            let lat = (y / R).sinh().atan().to_degrees();
            assert!(
                (lats[r] - lat).abs() < 1e-9,
                "row {r}: {} vs {lat}",
                lats[r]
            );
        }
    }
}
