//! Work budgets: what one render job may ask for, checked before anything
//! is allocated. The gateway checks WMS boxes with [`MapArea::check`] (its
//! parameter parsing bounds tiles), and every worker checks every job it
//! receives with [`RenderJob::check`], because a job on the queue may not
//! come from a gateway at all.

use crate::style::StyleKind;
use crate::tms::{MAX_ZOOM, MERCATOR_HALF_EXTENT};
use crate::{MapArea, MapCrs, RenderJob, job::JOB_VERSION};

/// Bounds on one render job.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Widest and tallest WMS map, pixels.
    pub max_map_side: u32,
    /// Tile sides a job may ask for, pixels.
    pub tile_sizes: &'static [u32],
    /// Closest and farthest wind symbol spacing, output pixels.
    pub symbol_spacing: (u16, u16),
    /// Most colour bands.
    pub max_bands: u16,
    /// Longest layer, style or style-parameter string, bytes.
    pub max_name_len: usize,
    /// Longest source message a job may name, bytes.
    pub max_message_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_map_side: 4096,
            tile_sizes: &[256, 512],
            symbol_spacing: (16, 256),
            max_bands: 250,
            max_name_len: 1024,
            max_message_bytes: 512 << 20,
        }
    }
}

/// A job over its budget, or malformed; the message names the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
#[non_exhaustive]
pub struct LimitError {
    /// The request parameter at fault (`bbox`, `width`, `tilesize`, …).
    pub param: &'static str,
    pub reason: String,
}

impl LimitError {
    fn new(param: &'static str, reason: impl Into<String>) -> Self {
        Self {
            param,
            reason: reason.into(),
        }
    }
}

/// Most bytes decoding one source field may allocate (packed integers,
/// quality flags and the decoded f32 values), checked against the sizes a
/// file declares before any of it is read: a few hundred bytes of NetCDF
/// header or zlib chunks can claim gigabytes.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// How far outside its CRS's world a map may reach, in world widths on
/// either side: clients that wrap the antimeridian ask for boxes a little
/// past ±180°, nobody needs the fifth copy of the globe.
const WORLDS_AROUND: f64 = 2.0;
/// How many world widths (or heights) one map may span.
const MAX_WORLDS_SPANNED: f64 = 2.0;

/// Output pixels between the nodes of a map's PROJ transform grid
/// ([`MapCrs::Epsg`]): the exact transform runs at the nodes, pixels in
/// between are interpolated.
pub const TRANSFORM_STEP_PX: u32 = 16;
/// The widest margin around a map its transform grid covers, pixels:
/// isolines trace whole 128 px label cells around the image plus a node.
pub const TRANSFORM_MARGIN_PX: u32 = 144;
/// Most PROJ transforms one map may cost (a 4096 px square map with the
/// widest margin needs 75,625).
pub const MAX_TRANSFORM_NODES: u64 = 100_000;
/// Largest absolute coordinate of an [`MapCrs::Epsg`] box, in its units
/// (metres, feet or degrees): a million kilometres is past any CRS's world.
const MAX_PROJECTED_COORD: f64 = 1e9;

impl MapArea {
    /// Checks the map's size and box: finite, ordered, within
    /// [`WORLDS_AROUND`] worlds of the CRS's world and at most
    /// [`MAX_WORLDS_SPANNED`] worlds wide and tall.
    pub fn check(&self, max_side: u32) -> Result<(), LimitError> {
        for (param, side) in [("width", self.width), ("height", self.height)] {
            if !(1..=max_side).contains(&side) {
                return Err(LimitError::new(param, format!("must be 1..{max_side}")));
            }
        }
        let [x0, y0, x1, y1] = self.bbox;
        if !self.bbox.iter().all(|v| v.is_finite()) {
            return Err(LimitError::new(
                "bbox",
                "every BBOX value must be a finite number",
            ));
        }
        if !(x0 < x1 && y0 < y1) {
            return Err(LimitError::new(
                "bbox",
                "BBOX minimum must be below its maximum",
            ));
        }
        let (half_w, half_h, unit) = match self.crs {
            MapCrs::WebMercator => (MERCATOR_HALF_EXTENT, MERCATOR_HALF_EXTENT, "m"),
            MapCrs::LonLat => (180.0, 90.0, "°"),
            MapCrs::Epsg(_) => return self.check_projected(),
        };
        let (reach_x, reach_y) = (
            half_w * (1.0 + 2.0 * WORLDS_AROUND),
            half_h * (1.0 + 2.0 * WORLDS_AROUND),
        );
        if [x0, x1].iter().any(|x| x.abs() > reach_x) || [y0, y1].iter().any(|y| y.abs() > reach_y)
        {
            return Err(LimitError::new(
                "bbox",
                format!(
                    "BBOX reaches beyond ±{reach_x} {unit} east-west or ±{reach_y} {unit} north-south"
                ),
            ));
        }
        if x1 - x0 > 2.0 * half_w * MAX_WORLDS_SPANNED
            || y1 - y0 > 2.0 * half_h * MAX_WORLDS_SPANNED
        {
            return Err(LimitError::new(
                "bbox",
                format!("BBOX spans more than {MAX_WORLDS_SPANNED} times the world"),
            ));
        }
        Ok(())
    }
}

impl MapArea {
    /// Nodes of the PROJ transform grid of this map with `margin` pixels
    /// around it: one every [`TRANSFORM_STEP_PX`] plus the far edges.
    pub fn transform_nodes(&self, margin: u32) -> u64 {
        let nodes = |side: u32| {
            (u64::from(side) + 2 * u64::from(margin)).div_ceil(u64::from(TRANSFORM_STEP_PX)) + 1
        };
        nodes(self.width) * nodes(self.height)
    }

    /// The box of an [`MapCrs::Epsg`] map (size already checked): bounded
    /// coordinates and PROJ calls within [`MAX_TRANSFORM_NODES`]. Whether
    /// PROJ knows the code is the renderer's to say.
    fn check_projected(&self) -> Result<(), LimitError> {
        if self.bbox.iter().any(|v| v.abs() > MAX_PROJECTED_COORD) {
            return Err(LimitError::new(
                "bbox",
                format!("BBOX values must be within ±{MAX_PROJECTED_COORD}"),
            ));
        }
        let nodes = self.transform_nodes(TRANSFORM_MARGIN_PX);
        if nodes > MAX_TRANSFORM_NODES {
            return Err(LimitError::new(
                "width",
                format!("the map needs {nodes} projections, more than {MAX_TRANSFORM_NODES}"),
            ));
        }
        Ok(())
    }
}

impl RenderJob {
    /// Checks every field that sizes the work against `limits`: image
    /// size, tile address, map box, symbol spacing, bands, contour
    /// interval, the number of sources and the lengths of names.
    pub fn check(&self, limits: &Limits) -> Result<(), LimitError> {
        if self.version != JOB_VERSION {
            return Err(LimitError::new(
                "version",
                format!("job version {} is not {JOB_VERSION}", self.version),
            ));
        }
        let key = &self.key;
        for (param, s) in [
            ("layer", &key.layer),
            ("style", &key.style),
            ("style_params", &key.style_params),
        ] {
            if s.len() > limits.max_name_len {
                return Err(LimitError::new(
                    param,
                    format!("longer than {} bytes", limits.max_name_len),
                ));
            }
        }
        match &self.area {
            Some(area) => area.check(limits.max_map_side)?,
            None => {
                if !limits.tile_sizes.contains(&key.tile_size) {
                    return Err(LimitError::new(
                        "tilesize",
                        format!("tiles are {:?} px", limits.tile_sizes),
                    ));
                }
                if key.z > MAX_ZOOM || !key.tms.contains(key.z, key.x, key.y) {
                    return Err(LimitError::new(
                        "tilematrix",
                        format!(
                            "no tile {}/{}/{} in {}",
                            key.z,
                            key.x,
                            key.y,
                            key.tms.as_str()
                        ),
                    ));
                }
            }
        }
        let wanted = match self.style.kind {
            StyleKind::WindBarbs | StyleKind::WindArrows => 2,
            _ => 1,
        };
        if !(wanted..=2).contains(&self.sources.len()) {
            return Err(LimitError::new(
                "sources",
                format!(
                    "{} draws from {wanted} or 2 fields, not {}",
                    self.style.kind.name(),
                    self.sources.len()
                ),
            ));
        }
        for f in &self.sources {
            if f.length > limits.max_message_bytes {
                return Err(LimitError::new(
                    "sources",
                    format!("a message longer than {} bytes", limits.max_message_bytes),
                ));
            }
            if f.object_key.starts_with('/') || f.object_key.split(['/', '\\']).any(|s| s == "..") {
                return Err(LimitError::new(
                    "sources",
                    "object keys are relative, without `..`",
                ));
            }
        }
        self.check_style(limits)
    }

    fn check_style(&self, limits: &Limits) -> Result<(), LimitError> {
        let style = &self.style;
        let (lo, hi) = limits.symbol_spacing;
        if !(lo..=hi).contains(&style.symbol_spacing) {
            return Err(LimitError::new(
                "symbolspacing",
                format!("must be {lo}..{hi} px"),
            ));
        }
        if let Some(n) = style.bands
            && !(2..=limits.max_bands).contains(&n)
        {
            return Err(LimitError::new(
                "numcolorbands",
                format!("must be 2..{}", limits.max_bands),
            ));
        }
        if !(style.range.0.is_finite() && style.range.1.is_finite()) {
            return Err(LimitError::new("colorscalerange", "must be finite"));
        }
        if let Some(i) = style.contour_interval
            && !(i.is_finite() && i > 0.0)
        {
            return Err(LimitError::new(
                "contourinterval",
                "must be a positive number",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::{ColorMapName, Units};
    use crate::{ImageFormat, Priority, StyleSpec, TileKey, TileMatrixSetId};
    use chrono::{TimeZone, Utc};

    fn job(kind: StyleKind, sources: usize) -> RenderJob {
        let run = Utc.with_ymd_and_hms(2025, 1, 2, 12, 0, 0).unwrap();
        let key = TileKey {
            layer: "gfs_WIND_10m".into(),
            style: kind.name().into(),
            style_params: String::new(),
            tms: TileMatrixSetId::WebMercatorQuad,
            z: 3,
            x: 4,
            y: 2,
            tile_size: 256,
            run,
            valid: run,
            elevation: None,
            format: ImageFormat::Png,
        };
        let field = crate::FieldRef {
            object_key: "gfs.grib2".into(),
            offset: 0,
            length: 10,
            submessage: 0,
        };
        let style = StyleSpec::new(
            kind,
            ColorMapName::Wind,
            (0.0, 50.0),
            Units::MetresPerSecond,
            Units::Knots,
        );
        RenderJob::new(key, vec![field; sources], style, Priority::Interactive)
    }

    fn area(crs: MapCrs, bbox: [f64; 4], side: u32) -> MapArea {
        MapArea {
            crs,
            bbox,
            width: side,
            height: side,
        }
    }

    #[test]
    fn a_gateway_shaped_job_passes() {
        assert_eq!(
            job(StyleKind::WindBarbs, 2).check(&Limits::default()),
            Ok(())
        );
        assert_eq!(
            job(StyleKind::Gradient, 1).check(&Limits::default()),
            Ok(())
        );
    }

    #[test]
    fn forged_sizes_and_addresses_are_refused() {
        let limits = Limits::default();
        let mut j = job(StyleKind::WindBarbs, 2);
        j.key.tile_size = 100_000;
        assert_eq!(j.check(&limits).unwrap_err().param, "tilesize");
        let mut j = job(StyleKind::Gradient, 1);
        j.key.z = 40;
        assert_eq!(j.check(&limits).unwrap_err().param, "tilematrix");
        let mut j = job(StyleKind::Gradient, 1);
        j.key.x = 8;
        assert_eq!(j.check(&limits).unwrap_err().param, "tilematrix");
        assert_eq!(
            job(StyleKind::WindBarbs, 1)
                .check(&limits)
                .unwrap_err()
                .param,
            "sources"
        );
        let mut j = job(StyleKind::WindBarbs, 2);
        j.style.symbol_spacing = 1;
        assert_eq!(j.check(&limits).unwrap_err().param, "symbolspacing");
        let mut j = job(StyleKind::Isolines, 1);
        j.style.contour_interval = Some(0.0);
        assert_eq!(j.check(&limits).unwrap_err().param, "contourinterval");
        let mut j = job(StyleKind::Gradient, 1);
        j.key.style_params = "x".repeat(5000);
        assert_eq!(j.check(&limits).unwrap_err().param, "style_params");
        let mut j = job(StyleKind::Gradient, 1);
        j.area = Some(area(MapCrs::LonLat, [-10.0, -10.0, 10.0, 10.0], 5000));
        assert_eq!(j.check(&limits).unwrap_err().param, "width");
        let mut j = job(StyleKind::Gradient, 1);
        j.sources[0].object_key = "data/../../etc/passwd".into();
        assert_eq!(j.check(&limits).unwrap_err().param, "sources");
        let mut j = job(StyleKind::Gradient, 1);
        j.sources[0].length = 40 << 30;
        assert_eq!(j.check(&limits).unwrap_err().param, "sources");
    }

    #[test]
    fn boxes_must_be_finite_ordered_and_near_the_world() {
        let bad = [
            area(MapCrs::WebMercator, [-2e12, -2e12, 2e12, 2e12], 256),
            area(MapCrs::LonLat, [-1e6, -80.0, 1e6, 80.0], 256),
            area(MapCrs::LonLat, [-360_000.0, -80.0, 360_000.0, 80.0], 256),
            area(MapCrs::LonLat, [f64::NEG_INFINITY, -80.0, 10.0, 80.0], 256),
            area(MapCrs::LonLat, [f64::NAN, -80.0, 10.0, 80.0], 256),
            area(MapCrs::LonLat, [10.0, -80.0, 10.0, 80.0], 256),
            // Within reach but three worlds wide.
            area(MapCrs::LonLat, [-540.0, -80.0, 540.0, 80.0], 256),
        ];
        for a in bad {
            assert_eq!(a.check(4096).unwrap_err().param, "bbox", "{a:?}");
        }
        let good = [
            area(
                MapCrs::WebMercator,
                [
                    -MERCATOR_HALF_EXTENT,
                    -MERCATOR_HALF_EXTENT,
                    MERCATOR_HALF_EXTENT,
                    MERCATOR_HALF_EXTENT,
                ],
                256,
            ),
            // Across the antimeridian, as wrapping clients ask.
            area(MapCrs::LonLat, [170.0, -10.0, 190.0, 10.0], 256),
            area(MapCrs::LonLat, [-360.0, -90.0, 360.0, 90.0], 512),
        ];
        for a in good {
            assert_eq!(a.check(4096), Ok(()), "{a:?}");
        }
    }

    #[test]
    fn projected_boxes_are_bounded_and_their_projections_counted() {
        let polar = [-4.0e6, -4.0e6, 4.0e6, 4.0e6];
        assert_eq!(area(MapCrs::Epsg(3413), polar, 4096).check(4096), Ok(()));
        for bbox in [
            [-2e9, 0.0, 1.0, 1.0],
            [f64::NAN, 0.0, 1.0, 1.0],
            [1.0, 0.0, 1.0, 1.0],
        ] {
            let a = area(MapCrs::Epsg(3413), bbox, 256);
            assert_eq!(a.check(4096).unwrap_err().param, "bbox", "{a:?}");
        }
        // A server configured for larger maps still stops at the PROJ budget.
        let huge = area(MapCrs::Epsg(3413), polar, 6000);
        assert!(huge.transform_nodes(TRANSFORM_MARGIN_PX) > MAX_TRANSFORM_NODES);
        assert_eq!(huge.check(8192).unwrap_err().param, "width");
        // A job carrying such a map crosses the wire intact.
        let mut j = job(StyleKind::Gradient, 1);
        j.area = Some(area(MapCrs::Epsg(32633), [1.0, 2.0, 3.0, 4.0], 64));
        let back: RenderJob = crate::codec::decode(&crate::codec::encode(&j).unwrap()).unwrap();
        assert_eq!(back, j);
        // 4096 px with the widest margin: (4384 / 16 + 1)² nodes.
        assert_eq!(
            area(MapCrs::Epsg(3413), polar, 4096).transform_nodes(TRANSFORM_MARGIN_PX),
            275 * 275
        );
    }
}
