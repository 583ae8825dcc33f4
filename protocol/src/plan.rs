//! Tile planning: a parsed request ([`TileRequest`]) resolved against the
//! catalog into the [`RenderJob`] that draws it. Shared by gateways (every
//! request) and the scheduler (warming), so both compute the same keys.

use chrono::Utc;

use crate::catalog::{DimensionQuery, LayerInfo, ResolveError};
use crate::style::{DEFAULT_SYMBOL_SPACING, Rgba, StyleKind, Units};
use crate::{FieldEntry, ImageFormat, Priority, RenderJob, StyleSpec, TileKey, TileMatrixSetId};

/// A tile request after URL parsing, before catalog resolution.
#[derive(Debug, Clone)]
pub struct TileRequest {
    pub layer: String,
    pub style: String,
    pub tms: TileMatrixSetId,
    pub z: u32,
    pub x: u32,
    pub y: u32,
    pub tile_size: u32,
    pub format: ImageFormat,
    pub dims: DimensionQuery,
    pub style_params: StyleParams,
}

/// Per-request ramp options.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StyleParams {
    pub range: Option<(f32, f32)>,
    pub bands: Option<u16>,
    pub units: Option<Units>,
    pub above_max: Option<Rgba>,
    pub below_min: Option<Rgba>,
    /// Colour of missing points (`NODATACOLOR`), overriding the layer's.
    pub no_data: Option<Rgba>,
    /// Contour spacing in display units (`CONTOURINTERVAL`).
    pub contour_interval: Option<f32>,
    /// Colour wind symbols by speed (`COLORBYSPEED=true`).
    pub color_by_speed: bool,
    /// Pixels between wind symbols (`SYMBOLSPACING`, 16..=256).
    pub symbol_spacing: Option<u16>,
    /// A WMS map's area in canonical form: maps cache apart from tiles.
    pub map_area: Option<String>,
}

impl StyleParams {
    /// Canonical text for cache keys; empty when all defaults.
    pub fn canonical(&self) -> String {
        let mut parts = Vec::new();
        if let Some((a, b)) = self.range {
            parts.push(format!("range={a},{b}"));
        }
        if let Some(n) = self.bands {
            parts.push(format!("bands={n}"));
        }
        if let Some(u) = self.units {
            parts.push(format!("units={u:?}"));
        }
        let hex = |c: Rgba| format!("{:02x}{:02x}{:02x}{:02x}", c[0], c[1], c[2], c[3]);
        if let Some(c) = self.above_max {
            parts.push(format!("above={}", hex(c)));
        }
        if let Some(c) = self.below_min {
            parts.push(format!("below={}", hex(c)));
        }
        if let Some(c) = self.no_data {
            parts.push(format!("nodata={}", hex(c)));
        }
        if let Some(step) = self.contour_interval {
            parts.push(format!("interval={step}"));
        }
        if self.color_by_speed {
            parts.push("byspeed".to_owned());
        }
        if let Some(n) = self.symbol_spacing {
            parts.push(format!("spacing={n}"));
        }
        if let Some(a) = &self.map_area {
            parts.push(a.clone());
        }
        parts.join(";")
    }
}

/// Why a request cannot be planned; the gateway maps each to its OGC
/// exception.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The tile address is outside the tile matrix set.
    #[error("{message}")]
    TileOutOfRange {
        param: &'static str,
        message: String,
    },
    /// No such layer.
    #[error("unknown layer {0}")]
    UnknownLayer(String),
    /// A parameter names something the layer does not have.
    #[error("{message}")]
    InvalidParameter {
        param: &'static str,
        message: String,
    },
    /// The dimensions do not resolve to a field.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

impl PlanError {
    fn out_of_range(param: &'static str, message: String) -> Self {
        Self::TileOutOfRange { param, message }
    }

    fn invalid(param: &'static str, message: String) -> Self {
        Self::InvalidParameter { param, message }
    }
}

/// The key and job of `req` against `catalog` (and whether the tile can
/// never change: its run or observation time was named). Gateways plan
/// every request with it and the scheduler its warming, so warmed tiles
/// carry exactly the keys gateways will ask for.
pub fn plan_tile(
    catalog: &crate::Catalog,
    req: &TileRequest,
) -> Result<(RenderJob, bool), PlanError> {
    let z = u8::try_from(req.z)
        .ok()
        .filter(|&z| z <= crate::tms::MAX_ZOOM)
        .ok_or_else(|| {
            PlanError::out_of_range("tilematrix", format!("TileMatrix {} does not exist", req.z))
        })?;
    if req.x >= req.tms.matrix_width(z) {
        return Err(PlanError::out_of_range(
            "tilecol",
            format!(
                "TileCol {} is outside 0..{}",
                req.x,
                req.tms.matrix_width(z)
            ),
        ));
    }
    if req.y >= req.tms.matrix_height(z) {
        return Err(PlanError::out_of_range(
            "tilerow",
            format!(
                "TileRow {} is outside 0..{}",
                req.y,
                req.tms.matrix_height(z)
            ),
        ));
    }
    let layer = catalog
        .layer(&req.layer)
        .ok_or_else(|| PlanError::UnknownLayer(req.layer.clone()))?;
    let field: &FieldEntry = layer.resolve(&req.dims, Utc::now())?;
    let style = style_spec(&layer.info, &req.style, &req.style_params)?;
    let key = TileKey {
        layer: req.layer.clone(),
        style: req.style.clone(),
        style_params: req.style_params.canonical(),
        tms: req.tms,
        z,
        x: req.x,
        y: req.y,
        tile_size: req.tile_size,
        run: field.run,
        valid: field.valid,
        elevation: field.elevation.clone(),
        format: req.format,
    };
    let mut sources = vec![field.source.clone()];
    if let Some(pair) = &layer.info.pair {
        // The v component of the same run, time and level.
        let id = crate::catalog::FieldId {
            run: field.run,
            valid: field.valid,
            elevation: field.elevation.clone(),
        };
        let v = catalog
            .layer(pair)
            .and_then(|l| l.fields.get(&id))
            .ok_or_else(|| {
                PlanError::invalid(
                    "time",
                    format!("{} has no v component for this time", req.layer),
                )
            })?;
        sources.push(v.source.clone());
    }
    let immutable = req.dims.run.is_some()
        || layer.info.kind == crate::catalog::LayerKind::Observation && req.dims.time.is_some();
    Ok((
        RenderJob::new(key, sources, style, Priority::Interactive),
        immutable,
    ))
}

/// The layer's default style bent by the request's options.
pub fn style_spec(info: &LayerInfo, style: &str, p: &StyleParams) -> Result<StyleSpec, PlanError> {
    let offered = StyleKind::offered_for(info.pair.is_some(), info.colormap);
    let kind = StyleKind::parse(style)
        .filter(|k| offered.contains(k))
        .ok_or_else(|| {
            let names: Vec<&str> = offered.iter().map(|k| k.name()).collect();
            PlanError::invalid(
                "style",
                format!(
                    "layer {} has no style {style:?} (it offers: {})",
                    info.name,
                    names.join(", ")
                ),
            )
        })?;
    let display_units = match p.units {
        Some(u) if info.units.conversion_to(u).is_none() => {
            return Err(PlanError::invalid(
                "units",
                format!("cannot convert {} to {}", info.units.symbol(), u.symbol()),
            ));
        }
        Some(u) => u,
        None => info.display_units,
    };
    // The layer's defaults are in its display units: carry them over.
    let (a, b) = info
        .display_units
        .conversion_to(display_units)
        .unwrap_or((1.0, 0.0));
    let range = p
        .range
        .unwrap_or((info.range.0 * a + b, info.range.1 * a + b));
    let transparent_below = info.transparent_below.map(|t| t * a + b);
    Ok(StyleSpec {
        kind,
        colormap: info.colormap,
        range,
        data_units: info.units,
        display_units: if info.units == Units::Other {
            Units::Other
        } else {
            display_units
        },
        bands: p.bands,
        above_max: p.above_max,
        below_min: p.below_min,
        transparent_below,
        no_data: p.no_data.or(info.no_data_color),
        contour_interval: p.contour_interval,
        color_by_speed: p.color_by_speed,
        symbol_spacing: p.symbol_spacing.unwrap_or(DEFAULT_SYMBOL_SPACING),
    })
}
