//! Serving one tile: resolve the request against the catalog, look in L1,
//! render through the queue on a miss (one render per key), and answer
//! with cache validators.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use protocol::catalog::{DimensionQuery, LayerInfo};
use protocol::style::{DEFAULT_SYMBOL_SPACING, StyleKind, Units};
use protocol::{
    FieldEntry, ImageFormat, Priority, RenderError, RenderJob, StyleSpec, TileKey, TileMatrixSetId,
};

use tracing::Instrument;

use crate::ogc::OgcError;
use crate::params::StyleParams;
use crate::state::GatewayState;

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

/// Where a tile came from, for the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTier {
    L1,
    L2,
    Miss,
}

impl CacheTier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::L1 => "L1",
            Self::L2 => "L2",
            Self::Miss => "MISS",
        }
    }
}

/// A tile ready to send.
#[derive(Debug, Clone)]
pub struct TileResponse {
    pub bytes: Bytes,
    pub format: ImageFormat,
    pub etag: String,
    pub tier: CacheTier,
    /// The run was named in the request, so the bytes never change.
    pub immutable: bool,
}

/// Builds the resolved key and job for a request.
pub fn plan(state: &GatewayState, req: &TileRequest) -> Result<(RenderJob, bool), OgcError> {
    plan_in(&state.catalog.snapshot(), req)
}

/// [`plan`] against a given catalog version. The scheduler uses it for
/// warming, so warmed tiles carry exactly the keys gateways will ask for.
pub fn plan_in(
    catalog: &protocol::Catalog,
    req: &TileRequest,
) -> Result<(RenderJob, bool), OgcError> {
    let z = u8::try_from(req.z)
        .ok()
        .filter(|&z| z <= protocol::tms::MAX_ZOOM)
        .ok_or_else(|| {
            OgcError::tile_out_of_range(
                "tilematrix",
                format!("TileMatrix {} does not exist", req.z),
            )
        })?;
    if req.x >= req.tms.matrix_width(z) {
        return Err(OgcError::tile_out_of_range(
            "tilecol",
            format!(
                "TileCol {} is outside 0..{}",
                req.x,
                req.tms.matrix_width(z)
            ),
        ));
    }
    if req.y >= req.tms.matrix_height(z) {
        return Err(OgcError::tile_out_of_range(
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
        .ok_or_else(|| OgcError::unknown_layer(&req.layer))?;
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
        let id = protocol::catalog::FieldId {
            run: field.run,
            valid: field.valid,
            elevation: field.elevation.clone(),
        };
        let v = catalog
            .layer(pair)
            .and_then(|l| l.fields.get(&id))
            .ok_or_else(|| {
                OgcError::invalid_parameter(
                    "time",
                    format!("{} has no v component for this time", req.layer),
                )
            })?;
        sources.push(v.source.clone());
    }
    let immutable = req.dims.run.is_some()
        || layer.info.kind == protocol::catalog::LayerKind::Observation && req.dims.time.is_some();
    Ok((
        RenderJob::new(key, sources, style, Priority::Interactive),
        immutable,
    ))
}

/// The layer's default style bent by the request's options.
pub fn style_spec(info: &LayerInfo, style: &str, p: &StyleParams) -> Result<StyleSpec, OgcError> {
    let offered = StyleKind::offered(info.pair.is_some());
    let kind = StyleKind::parse(style)
        .filter(|k| offered.contains(k))
        .ok_or_else(|| {
            let names: Vec<&str> = offered.iter().map(|k| k.name()).collect();
            OgcError::invalid_parameter(
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
            return Err(OgcError::invalid_parameter(
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
        contour_interval: p.contour_interval,
        color_by_speed: p.color_by_speed,
        symbol_spacing: p.symbol_spacing.unwrap_or(DEFAULT_SYMBOL_SPACING),
    })
}

/// Serves a tile: L1, else L2, else one render through the queue. The L2
/// lookup and the render run inside L1's single-flight, so concurrent
/// requests for one key cost one lookup and at most one render.
pub async fn get_tile(state: &GatewayState, req: &TileRequest) -> Result<TileResponse, OgcError> {
    let (job, immutable) = plan(state, req)?;
    render_planned(state, job, immutable).await
}

/// Serves a planned job through L1, L2 and the queue (see [`get_tile`]).
pub async fn render_planned(
    state: &GatewayState,
    job: RenderJob,
    immutable: bool,
) -> Result<TileResponse, OgcError> {
    let key = job.key.cache_key();
    let etag = etag_of(&key);
    let format = job.key.format;
    let queue = state.queue.clone();
    let timeout = state.config.render_timeout;
    let l2 = state.l2.clone();
    let lookup_key = key.clone();
    let from_l2 = Arc::new(AtomicBool::new(false));
    let from_l2_in = from_l2.clone();
    let (bytes, loaded) = state
        .tiles
        .get_or_render(key, async move {
            // Spans only on an L1 miss: the hit path stays span-free.
            let k = &job.key;
            let span = tracing::info_span!("tile", layer = %k.layer, style = %k.style, z = k.z, x = k.x, y = k.y);
            async move {
                if let Some(l2) = &l2 {
                    match l2.get(&lookup_key).await {
                        Ok(Some(bytes)) => {
                            from_l2_in.store(true, Ordering::Relaxed);
                            return Ok(bytes);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "L2 unavailable, rendering without it")
                        }
                    }
                }
                let result = render_with_deadline(queue, job, timeout)
                    .instrument(tracing::info_span!("render via queue"))
                    .await;
                if let Err(e @ (RenderError::Data(_) | RenderError::Internal(_))) = &result {
                    tracing::warn!(error = %e, "tile failed");
                }
                result
            }
            .instrument(span)
            .await
        })
        .await
        .map_err(|e| render_error(&e))?;
    let tier = match (loaded, from_l2.load(Ordering::Relaxed)) {
        (false, _) => CacheTier::L1,
        (true, true) => CacheTier::L2,
        (true, false) => CacheTier::Miss,
    };
    Ok(TileResponse {
        bytes,
        format,
        etag,
        tier,
        immutable,
    })
}

async fn render_with_deadline(
    queue: Arc<dyn protocol::RenderQueue>,
    job: RenderJob,
    timeout: Duration,
) -> Result<Bytes, RenderError> {
    match tokio::time::timeout(timeout, queue.render(job)).await {
        Ok(r) => r,
        Err(_) => Err(RenderError::Timeout(timeout.as_millis() as u64)),
    }
}

fn render_error(e: &RenderError) -> OgcError {
    match e {
        RenderError::Overloaded(_) | RenderError::Timeout(_) => {
            OgcError::server_busy(Duration::from_secs(1))
        }
        RenderError::Invalid(m) => OgcError::invalid_parameter("style", m.clone()),
        RenderError::Data(_) => OgcError::internal("the layer's source data could not be read"),
        RenderError::Internal(_) => OgcError::internal("rendering failed"),
    }
}

/// A strong validator: the key determines the bytes (it carries the render
/// version), so hashing the key is as good as hashing the image.
pub fn etag_of(cache_key: &str) -> String {
    let mut h = DefaultHasher::new();
    cache_key.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}
