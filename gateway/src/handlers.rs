//! HTTP handlers: WMTS (KVP and REST), XYZ, capabilities, health.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, Query, RawPathParams, RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use protocol::{ImageFormat, TileMatrixSetId};

use crate::memo_service::MemoPass;
use crate::ogc::{OgcError, wmts_capabilities};
use crate::params::{Kvp, dimensions, parse_u32, style_params, tile_matrix, tile_matrix_set};
use crate::state::GatewayState;
use crate::tiles::{TileHints, TileRequest, TileResponse, get_tile_offering};

/// `GET /wmts?SERVICE=WMTS&REQUEST=...`
pub async fn wmts_kvp(
    State(state): State<GatewayState>,
    pass: Option<Extension<MemoPass>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, OgcError> {
    let kvp = Kvp::from_query(query.as_deref());
    match kvp.get("service") {
        Some(s) if s.eq_ignore_ascii_case("WMTS") => {}
        Some(s) => {
            return Err(OgcError::invalid_parameter(
                "service",
                format!("unsupported service {s:?}"),
            ));
        }
        None => return Err(OgcError::missing_parameter("service")),
    }
    let request = kvp.require("request")?;
    if request.eq_ignore_ascii_case("GetCapabilities") {
        return Ok(capabilities_response(&state, &headers));
    }
    if request.eq_ignore_ascii_case("GetFeatureInfo") {
        return crate::featureinfo::wmts_kvp(&state, &kvp).await;
    }
    if !request.eq_ignore_ascii_case("GetTile") {
        return Err(OgcError::operation_not_supported(request));
    }
    if let Some(v) = kvp.get("version").filter(|v| *v != "1.0.0") {
        return Err(OgcError::invalid_parameter(
            "version",
            format!("unsupported version {v:?}"),
        ));
    }
    // Required parameters are checked in the order the spec lists them.
    let layer = kvp.require("layer")?.to_owned();
    let style = style_or_default(kvp.require("style")?);
    let tms = tile_matrix_set(kvp.require("tilematrixset")?)?;
    let format_name = kvp.require("format")?;
    let format = ImageFormat::parse(format_name).ok_or_else(|| {
        OgcError::invalid_parameter("format", format!("unsupported format {format_name:?}"))
    })?;
    let z = tile_matrix(kvp.require("tilematrix")?)?;
    let y = kvp.require_u32("tilerow")?;
    let x = kvp.require_u32("tilecol")?;
    let req = tile_request(&state, &kvp, (layer, style, tms), (z, x, y), format)?;
    let hints = tile_hints(&kvp, &headers)?;
    Ok(tile_response(&state, &headers, &req, hints, offers(pass)).await)
}

/// `GET /wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}.png`
pub async fn wmts_rest(
    State(state): State<GatewayState>,
    pass: Option<Extension<MemoPass>>,
    headers: HeaderMap,
    path: RawPathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, OgcError> {
    let kvp = Kvp::from_query(query.as_deref());
    let [layer, style, tms, z, row, file] = path_parts(&path)?;
    let tms = tile_matrix_set(tms)?;
    let (col, format) = split_extension(file, "tilecol")?;
    let z = tile_matrix(z)?;
    let y = parse_u32("tilerow", row)?;
    let x = parse_u32("tilecol", col)?;
    let req = tile_request(
        &state,
        &kvp,
        (layer.to_owned(), style_or_default(style), tms),
        (z, x, y),
        format,
    )?;
    let hints = tile_hints(&kvp, &headers)?;
    Ok(tile_response(&state, &headers, &req, hints, offers(pass)).await)
}

/// `GET /tiles/{layer}/{style}/{z}/{x}/{y}.png` (Web Mercator, XYZ order).
pub async fn xyz(
    State(state): State<GatewayState>,
    pass: Option<Extension<MemoPass>>,
    headers: HeaderMap,
    path: RawPathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, OgcError> {
    let kvp = Kvp::from_query(query.as_deref());
    let [layer, style, z, x, file] = path_parts(&path)?;
    let (y, format) = split_extension(file, "y")?;
    let (z, x, y) = (parse_u32("z", z)?, parse_u32("x", x)?, parse_u32("y", y)?);
    let req = tile_request(
        &state,
        &kvp,
        (
            layer.to_owned(),
            style_or_default(style),
            TileMatrixSetId::WebMercatorQuad,
        ),
        (z, x, y),
        format,
    )?;
    let hints = tile_hints(&kvp, &headers)?;
    Ok(tile_response(&state, &headers, &req, hints, offers(pass)).await)
}

/// `GET /wmts/1.0.0/WMTSCapabilities.xml`
pub async fn wmts_capabilities_rest(
    State(state): State<GatewayState>,
    headers: HeaderMap,
) -> Response {
    capabilities_response(&state, &headers)
}

/// A path no route matched.
pub async fn not_found(uri: Uri) -> Response {
    let mut e = OgcError::invalid_parameter("path", format!("no resource at {}", uri.path()))
        .into_response();
    *e.status_mut() = StatusCode::NOT_FOUND;
    e
}

fn capabilities_response(state: &GatewayState, headers: &HeaderMap) -> Response {
    let base = base_url(state, headers);
    let xml = wmts_capabilities(&state.catalog.snapshot(), &base, Utc::now());
    (
        [
            (header::CONTENT_TYPE, "application/xml"),
            (header::CACHE_CONTROL, "public, max-age=30"),
        ],
        xml,
    )
        .into_response()
}

/// The URL clients reach us at: configured, or from the request's Host.
pub fn base_url(state: &GatewayState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost:8080");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Whether the hit memo's service asks for this request's answer.
fn offers(pass: Option<Extension<MemoPass>>) -> bool {
    pass.is_some_and(|Extension(p)| p.wants_fill())
}

async fn tile_response(
    state: &GatewayState,
    headers: &HeaderMap,
    req: &TileRequest,
    hints: TileHints,
    offer: bool,
) -> Response {
    let started = std::time::Instant::now();
    let (response, tier) = match get_tile_offering(state, req, hints, offer).await {
        Ok((tile, fill)) => {
            let tier = tile.tier.metric_label();
            let mut response = tile_ok(state, headers, tile);
            // A 200 only: a 304 answers one client's validator.
            if let Some(fill) = fill
                && response.status() == StatusCode::OK
            {
                response.extensions_mut().insert(fill);
            }
            (response, tier)
        }
        Err(e) => (e.into_response(), "none"),
    };
    // Series per layer, bounded by the catalogue: a name the catalog does
    // not know (a client's typo) counts as "none".
    let layer = if tier != "none" || state.catalog.snapshot().layers.contains_key(&req.layer) {
        req.layer.as_str()
    } else {
        "none"
    };
    crate::tile_metrics::record(layer, tier, response.status().as_u16(), started.elapsed());
    response
}

fn tile_ok(state: &GatewayState, headers: &HeaderMap, tile: TileResponse) -> Response {
    let cache_control = if tile.immutable {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        state.config.latest_cache_control.header()
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| crate::memo::etag_matches(v, &tile.etag));
    let common = [
        (header::ETAG, tile.etag),
        (header::CACHE_CONTROL, cache_control),
        (
            header::HeaderName::from_static("x-cache"),
            HeaderValue::from_static(tile.tier.as_str()),
        ),
    ];
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, tile.format.mime())],
        tile.bytes,
    )
        .into_response()
}

/// The values of a route's path parameters, in the route's order.
fn path_parts<const N: usize>(path: &RawPathParams) -> Result<[&str; N], OgcError> {
    let mut parts = [""; N];
    let mut values = path.iter().map(|(_, v)| v);
    for part in &mut parts {
        *part = values
            .next()
            .ok_or_else(|| OgcError::internal("route parameters missing"))?;
    }
    Ok(parts)
}

/// What the client says it will ask next: `ANIMATE=1` (or the header
/// `X-Wxfarm-Animate: 1`) marks a tile of a playing animation, so the
/// next steps are queued from its first frame on.
fn tile_hints(kvp: &Kvp, headers: &HeaderMap) -> Result<TileHints, OgcError> {
    let header = headers
        .get("x-wxfarm-animate")
        .and_then(|v| v.to_str().ok());
    let animating = match kvp.get("animate").or(header) {
        None => false,
        Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => true,
        Some(v) if v == "0" || v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(OgcError::invalid_parameter(
                "animate",
                format!("animate must be 1 or 0, got {v:?}"),
            ));
        }
    };
    Ok(TileHints { animating })
}

/// A tile request from its path (or KVP) parts plus the query's size,
/// dimensions and style options.
fn tile_request(
    state: &GatewayState,
    kvp: &Kvp,
    (layer, style, tms): (String, String, TileMatrixSetId),
    (z, x, y): (u32, u32, u32),
    format: ImageFormat,
) -> Result<TileRequest, OgcError> {
    Ok(TileRequest {
        layer,
        style,
        tms,
        z,
        x,
        y,
        tile_size: tile_size(state, kvp)?,
        format,
        dims: dimensions(kvp)?,
        style_params: style_params(kvp)?,
    })
}

fn style_or_default(s: &str) -> String {
    if s.is_empty() || s.eq_ignore_ascii_case("default") {
        "gradient".to_owned()
    } else {
        s.to_owned()
    }
}

fn split_extension<'a>(file: &'a str, locator: &str) -> Result<(&'a str, ImageFormat), OgcError> {
    let (stem, ext) = file.rsplit_once('.').ok_or_else(|| {
        OgcError::invalid_parameter("format", format!("{file:?} lacks a format extension"))
    })?;
    let format = ImageFormat::parse(ext).ok_or_else(|| {
        OgcError::invalid_parameter("format", format!("unsupported format {ext:?}"))
    })?;
    if stem.is_empty() {
        return Err(OgcError::missing_parameter(locator));
    }
    Ok((stem, format))
}

fn tile_size(state: &GatewayState, kvp: &Kvp) -> Result<u32, OgcError> {
    match kvp.get("tilesize") {
        None => Ok(256),
        Some(v) => {
            let n = parse_u32("tilesize", v)?;
            if n == 256 || n == 512 && state.config.max_tile_size >= 512 {
                Ok(n)
            } else {
                Err(OgcError::invalid_parameter(
                    "tilesize",
                    format!(
                        "tile size must be 256 or 512 (at most {}), got {n}",
                        state.config.max_tile_size
                    ),
                ))
            }
        }
    }
}

/// `GET /healthz`
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when renders can be queued (the farm's NATS is
/// connected), else 503 naming why. Redis is not required: without it the
/// gateway serves from L1 and the queue.
pub async fn readyz(State(state): State<GatewayState>) -> Response {
    match state.queue.ready() {
        Ok(()) => "ready".into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// `GET /legend/{layer}/{style}.png?COLORSCALERANGE=…&UNITS=…&WIDTH=&HEIGHT=`:
/// the colour bar of exactly the ramp tiles with the same options use.
pub async fn legend(
    State(state): State<GatewayState>,
    Path((layer, file)): Path<(String, String)>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, OgcError> {
    let kvp = Kvp::new(raw);
    let (style, _) = split_extension(&file, "style")?;
    legend_png(&state, &layer, style, &kvp)
}

/// The legend PNG for a layer, style and request options.
pub fn legend_png(
    state: &GatewayState,
    layer: &str,
    style: &str,
    kvp: &Kvp,
) -> Result<Response, OgcError> {
    let catalog = state.catalog.snapshot();
    let entry = catalog
        .layer(layer)
        .ok_or_else(|| OgcError::unknown_layer(layer))?;
    let spec =
        crate::tiles::style_spec(&entry.info, &style_or_default(style), &style_params(kvp)?)?;
    let size = |name: &str, default: u32| -> Result<u32, OgcError> {
        let v = kvp
            .get(name)
            .map(|v| parse_u32(name, v))
            .transpose()?
            .unwrap_or(default);
        if (32..=2048).contains(&v) {
            Ok(v)
        } else {
            Err(OgcError::invalid_parameter(
                name,
                format!("{name} must be 32..2048"),
            ))
        }
    };
    let png = render::legend_png(
        &spec,
        &entry.info.title,
        size("width", 320)?,
        size("height", 64)?,
    )
    .map_err(|e| OgcError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        png,
    )
        .into_response())
}
