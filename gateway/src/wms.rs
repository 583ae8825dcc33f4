//! WMS 1.3.0: GetCapabilities, GetMap (any bbox in EPSG:3857, EPSG:4326 with
//! its latitude-first axis order, CRS:84, or any EPSG CRS through PROJ: see
//! [`crate::wms_crs`]), GetFeatureInfo and GetLegendGraphic — on the
//! renderer, caches and queue the tiles use. GetMap and GetFeatureInfo also
//! answer WMS 1.1.1 (`SRS`, x first; `X`/`Y`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use protocol::catalog::LayerKind;
use protocol::style::StyleKind;
use protocol::{ImageFormat, MapArea, MapCrs, TileMatrixSetId};

use crate::featureinfo::{InfoFormat, feature_info};
use crate::handlers::{base_url, legend_png};
use crate::ogc::xml::XmlWriter;
use crate::ogc::{OgcError, OgcErrorCode, layer_dimensions};
use crate::params::{Kvp, dimensions, parse_u32, style_params};
use crate::state::GatewayState;
use crate::tiles::{TileRequest, plan_tile, render_planned};
use crate::wms_crs::{self, RequestedCrs};

/// A WMS 1.3.0 service exception (its own format, not OWS's).
#[derive(Debug)]
pub struct WmsError {
    code: String,
    locator: Option<String>,
    message: String,
    status: StatusCode,
    retry_after: Option<u64>,
}

impl From<OgcError> for WmsError {
    /// Tile-side errors in WMS vocabulary: a bad layer is `LayerNotDefined`,
    /// a bad dimension `InvalidDimensionValue`, and so on.
    fn from(e: OgcError) -> Self {
        let locator = e.locator.clone();
        let code = match (e.code, locator.as_deref()) {
            (OgcErrorCode::InvalidParameterValue, Some("layer")) => "LayerNotDefined",
            (OgcErrorCode::InvalidParameterValue, Some("style")) => "StyleNotDefined",
            (
                OgcErrorCode::InvalidParameterValue,
                Some("time" | "run" | "forecast" | "elevation"),
            ) => "InvalidDimensionValue",
            (OgcErrorCode::InvalidParameterValue, Some("format")) => "InvalidFormat",
            (OgcErrorCode::PointIJOutOfRange, _) => "InvalidPoint",
            (code, _) => code.as_str(),
        };
        Self {
            code: code.to_owned(),
            locator,
            message: e.message.clone(),
            status: e.status(),
            retry_after: e.retry_after_secs(),
        }
    }
}

impl WmsError {
    fn new(code: &str, locator: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            locator: Some(locator.to_owned()),
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            retry_after: None,
        }
    }
}

impl IntoResponse for WmsError {
    fn into_response(self) -> Response {
        let mut w = XmlWriter::new();
        w.start(
            "ServiceExceptionReport",
            &[
                ("version", "1.3.0"),
                ("xmlns", "http://www.opengis.net/ogc"),
            ],
        );
        let mut attrs = vec![("code", self.code.as_str())];
        if let Some(l) = &self.locator {
            attrs.push(("locator", l.as_str()));
        }
        w.text("ServiceException", &attrs, &self.message).end();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/xml")],
            w.finish(),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        response
    }
}

/// `GET /wms?SERVICE=WMS&REQUEST=…`
pub async fn wms(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, WmsError> {
    let kvp = Kvp::new(raw);
    if let Some(s) = kvp
        .get("service")
        .filter(|s| !s.eq_ignore_ascii_case("WMS"))
    {
        return Err(WmsError::new(
            "InvalidParameterValue",
            "service",
            format!("unsupported service {s:?}"),
        ));
    }
    let request = kvp.require("request")?;
    match request.to_ascii_lowercase().as_str() {
        "getcapabilities" => Ok(capabilities(&state, &headers)),
        "getmap" => get_map(&state, &kvp).await,
        "getfeatureinfo" => get_feature_info(&state, &kvp).await,
        "getlegendgraphic" => {
            let layer = kvp.require("layer")?;
            let style = kvp.get("style").unwrap_or("gradient");
            Ok(legend_png(&state, layer, style, &kvp)?)
        }
        other => Err(WmsError::new(
            "OperationNotSupported",
            "request",
            format!("operation {other} is not supported"),
        )),
    }
}

/// The map a GetMap-style request describes: layer, style and area.
struct MapRequest {
    layer: String,
    style: String,
    area: MapArea,
}

async fn map_request(kvp: &Kvp, max_side: u32) -> Result<MapRequest, WmsError> {
    // 1.1.1 is accepted for maps and feature info: `SRS`, always x first.
    let v111 = match kvp.get("version") {
        None | Some("1.3.0") => false,
        Some("1.1.1") => true,
        Some(v) => {
            return Err(WmsError::new(
                "InvalidParameterValue",
                "version",
                format!("WMS 1.3.0 (and 1.1.1 GetMap) is served, not {v}"),
            ));
        }
    };
    let layers = kvp.require("layers")?;
    if layers.contains(',') {
        return Err(WmsError::new(
            "InvalidParameterValue",
            "layers",
            "one layer per request",
        ));
    }
    let style = match kvp.get("styles") {
        None | Some("default") => "gradient".to_owned(),
        Some(s) => s.to_owned(),
    };
    let (crs_param, crs_code) = if v111 {
        ("srs", "InvalidSRS")
    } else {
        ("crs", "InvalidCRS")
    };
    let crs_text = kvp.require(crs_param)?;
    let bbox: Vec<f64> = kvp
        .require("bbox")?
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| WmsError::new("InvalidParameterValue", "bbox", "BBOX must be four numbers"))?;
    let [a, b, c, d] = bbox[..] else {
        return Err(WmsError::new(
            "InvalidParameterValue",
            "bbox",
            "BBOX must be four numbers",
        ));
    };
    let invalid = |why: &str| {
        WmsError::new(
            crs_code,
            crs_param,
            format!("{} {crs_text} is not served{why}", crs_param.to_uppercase()),
        )
    };
    let (crs, swap) = match wms_crs::parse(crs_text, !v111) {
        Some(RequestedCrs::Fixed { crs, swap }) => (crs, swap),
        Some(RequestedCrs::Epsg(code)) => {
            let northing_first = wms_crs::resolve(code)
                .await
                .map_err(|e| invalid(&format!(": {e}")))?;
            (MapCrs::Epsg(code), northing_first && !v111)
        }
        None => return Err(invalid(" (EPSG codes and CRS:84 are)")),
    };
    // A MapArea is always x (easting or longitude) first.
    let bbox = if swap { [b, a, d, c] } else { [a, b, c, d] };
    let side = |name: &str| parse_u32(name, kvp.require(name)?);
    let area = MapArea {
        crs,
        bbox,
        width: side("width")?,
        height: side("height")?,
    };
    // The same bounds every worker applies to the job.
    area.check(max_side)
        .map_err(|e| WmsError::new("InvalidParameterValue", e.param, e.reason))?;
    Ok(MapRequest {
        layer: layers.to_owned(),
        style,
        area,
    })
}

/// WMS dimensions: `TIME` is the valid time, `DIM_REFERENCE_TIME` the run.
fn wms_dimensions(kvp: &Kvp) -> Kvp {
    match kvp.get("dim_reference_time") {
        Some(run) if kvp.get("run").is_none() => kvp.with("run", run),
        _ => kvp.clone(),
    }
}

async fn get_map(state: &GatewayState, kvp: &Kvp) -> Result<Response, WmsError> {
    let m = map_request(kvp, state.config.max_map_side).await?;
    let format = kvp.require("format")?;
    let format = ImageFormat::parse(format).ok_or_else(|| {
        WmsError::new(
            "InvalidFormat",
            "format",
            format!("unsupported format {format:?}"),
        )
    })?;
    let kvp = wms_dimensions(kvp);
    let mut params = style_params(&kvp)?;
    params.map_area = Some(m.area.canonical());
    let req = TileRequest {
        layer: m.layer,
        style: m.style,
        tms: TileMatrixSetId::WebMercatorQuad,
        z: 0,
        x: 0,
        y: 0,
        tile_size: m.area.width.max(m.area.height),
        format,
        dims: dimensions(&kvp)?,
        style_params: params,
    };
    let (mut job, _) = plan_tile(&state.catalog.snapshot(), &req).map_err(OgcError::from)?;
    job.area = Some(m.area);
    let tile = render_planned(state, &job, false).await?;
    Ok((
        [
            (header::CONTENT_TYPE, tile.format.mime()),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        [(
            header::HeaderName::from_static("x-cache"),
            tile.tier.as_str(),
        )],
        tile.bytes,
    )
        .into_response())
}

async fn get_feature_info(state: &GatewayState, kvp: &Kvp) -> Result<Response, WmsError> {
    let m = map_request(
        &kvp.with(
            "layers",
            kvp.get("query_layers")
                .or(kvp.get("layers"))
                .unwrap_or_default(),
        ),
        state.config.max_map_side,
    )
    .await?;
    let format = InfoFormat::parse(kvp.get("info_format").unwrap_or("application/json"))?;
    // WMS 1.1.1 names the pixel X and Y.
    let (ni, nj) = if kvp.get("version") == Some("1.1.1") {
        ("x", "y")
    } else {
        ("i", "j")
    };
    let (i, j) = (
        parse_u32(ni, kvp.require(ni)?)?,
        parse_u32(nj, kvp.require(nj)?)?,
    );
    if i >= m.area.width || j >= m.area.height {
        return Err(WmsError::new(
            "InvalidPoint",
            "i",
            format!(
                "({i}, {j}) is outside the {}×{} map",
                m.area.width, m.area.height
            ),
        ));
    }
    let (lon, lat) = match m.area.crs {
        MapCrs::Epsg(code) => {
            let (x, y) = m.area.crs_xy(f64::from(i) + 0.5, f64::from(j) + 0.5);
            wms_crs::to_lonlat(code, x, y).await.ok_or_else(|| {
                WmsError::new("InvalidPoint", "i", "the point is outside the CRS's domain")
            })?
        }
        _ => (
            m.area.pixel_lons()[i as usize],
            m.area.pixel_lats()[j as usize],
        ),
    };
    Ok(feature_info(state, &m.layer, lon, lat, &wms_dimensions(kvp), format).await?)
}

fn capabilities(state: &GatewayState, headers: &HeaderMap) -> Response {
    let base = base_url(state, headers);
    let catalog = state.catalog.snapshot();
    let now = Utc::now();
    let url = format!("{base}/wms?");
    let mut w = XmlWriter::new();
    w.start(
        "WMS_Capabilities",
        &[
            ("version", "1.3.0"),
            ("xmlns", "http://www.opengis.net/wms"),
            ("xmlns:xlink", "http://www.w3.org/1999/xlink"),
            ("xmlns:sld", "http://www.opengis.net/sld"),
        ],
    );
    w.start("Service", &[])
        .text("Name", &[], "WMS")
        .text("Title", &[], "wxfarm")
        .text(
            "Abstract",
            &[],
            "Weather data from GRIB2 model and radar fields",
        );
    w.empty(
        "OnlineResource",
        &[("xlink:type", "simple"), ("xlink:href", &url)],
    );
    let side = state.config.max_map_side.to_string();
    w.text("MaxWidth", &[], &side)
        .text("MaxHeight", &[], &side)
        .end();
    w.start("Capability", &[]).start("Request", &[]);
    for (op, formats) in [
        ("GetCapabilities", &["text/xml"][..]),
        ("GetMap", &["image/png"]),
        ("GetFeatureInfo", &["application/json", "text/html"]),
        ("sld:GetLegendGraphic", &["image/png"]),
    ] {
        let tag: &'static str = match op {
            "GetCapabilities" => "GetCapabilities",
            "GetMap" => "GetMap",
            "GetFeatureInfo" => "GetFeatureInfo",
            _ => "sld:GetLegendGraphic",
        };
        w.start(tag, &[]);
        for f in formats {
            w.text("Format", &[], f);
        }
        w.start("DCPType", &[])
            .start("HTTP", &[])
            .start("Get", &[])
            .empty(
                "OnlineResource",
                &[("xlink:type", "simple"), ("xlink:href", &url)],
            )
            .end()
            .end()
            .end()
            .end();
    }
    w.end();
    w.start("Exception", &[]).text("Format", &[], "XML").end();
    w.start("Layer", &[]).text("Title", &[], "wxfarm layers");
    for crs in wms_crs::advertised() {
        w.text("CRS", &[], &crs);
    }
    for layer in catalog.layers.values() {
        let b = crate::ogc::grid::layer_wgs84_box(layer);
        w.start("Layer", &[("queryable", "1")])
            .text("Name", &[], &layer.info.name)
            .text("Title", &[], &layer.info.title);
        w.start("EX_GeographicBoundingBox", &[])
            .text("westBoundLongitude", &[], &b.west.to_string())
            .text("eastBoundLongitude", &[], &b.east.to_string())
            .text("southBoundLatitude", &[], &b.south.to_string())
            .text("northBoundLatitude", &[], &b.north.to_string())
            .end();
        let (w_, s_, e_, n_) = (
            b.west.to_string(),
            b.south.to_string(),
            b.east.to_string(),
            b.north.to_string(),
        );
        w.empty(
            "BoundingBox",
            &[
                ("CRS", "CRS:84"),
                ("minx", &w_),
                ("miny", &s_),
                ("maxx", &e_),
                ("maxy", &n_),
            ],
        );
        w.empty(
            "BoundingBox",
            &[
                ("CRS", "EPSG:4326"),
                ("minx", &s_),
                ("miny", &w_),
                ("maxx", &n_),
                ("maxy", &e_),
            ],
        );
        for d in layer_dimensions(layer, now) {
            let (name, units) = match (d.identifier, layer.info.kind) {
                ("run", _) => ("reference_time", "ISO8601"),
                ("forecast", LayerKind::Model) => continue, // expressed as `time` below
                ("time", _) => ("time", "ISO8601"),
                (other, _) => (other, d.uom.as_deref().unwrap_or("")),
            };
            w.text(
                "Dimension",
                &[("name", name), ("units", units), ("default", &d.default)],
                &d.values.join(","),
            );
        }
        if layer.info.kind == LayerKind::Model {
            // Valid times of the run a request without DIM_REFERENCE_TIME gets.
            if let Ok(f) = layer.resolve(&Default::default(), now) {
                let times: Vec<String> = layer
                    .valid_times(f.run)
                    .into_iter()
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .collect();
                w.text(
                    "Dimension",
                    &[
                        ("name", "time"),
                        ("units", "ISO8601"),
                        ("default", &f.valid.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                    ],
                    &times.join(","),
                );
            }
        }
        for &kind in StyleKind::offered_for(layer.info.pair.is_some(), layer.info.colormap) {
            let legend = format!(
                "{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER={}&STYLE={}&FORMAT=image/png",
                layer.info.name,
                kind.name()
            );
            w.start("Style", &[])
                .text("Name", &[], kind.name())
                .text("Title", &[], kind.title());
            w.start("LegendURL", &[("width", "320"), ("height", "64")])
                .text("Format", &[], "image/png")
                .empty(
                    "OnlineResource",
                    &[("xlink:type", "simple"), ("xlink:href", &legend)],
                )
                .end();
            w.end();
        }
        w.end();
    }
    w.end().end().end();
    ([(header::CONTENT_TYPE, "text/xml")], w.finish()).into_response()
}
