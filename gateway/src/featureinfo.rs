//! GetFeatureInfo: the value under a pixel, with units, valid time, run and
//! the grid point it came from; over a `forecast` or `time` range, a series.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use protocol::TileMatrixSetId;
use protocol::catalog::{DimensionQuery, FieldEntry, FieldId, LayerEntry};
use serde::Serialize;

use crate::ogc::OgcError;
use crate::params::{Kvp, dimensions, parse_time, parse_u32, tile_matrix, tile_matrix_set};
use crate::state::GatewayState;

/// Longest series answered in one request.
const MAX_SERIES: usize = 500;

/// Response formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoFormat {
    Json,
    Html,
}

impl InfoFormat {
    pub fn parse(s: &str) -> Result<Self, OgcError> {
        match s {
            "application/json" | "json" => Ok(Self::Json),
            "text/html" | "html" => Ok(Self::Html),
            _ => Err(OgcError::invalid_parameter(
                "infoformat",
                format!("unsupported info format {s:?} (application/json, text/html)"),
            )),
        }
    }
}

/// One point of a series.
#[derive(Debug, Serialize)]
pub struct InfoValue {
    pub valid: DateTime<Utc>,
    /// Lead time of a model field; absent for observations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_hours: Option<f64>,
    /// In the layer's display units; `null` where there is no data.
    pub value: Option<f32>,
    /// For wind layers: the direction the wind blows from, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction_deg: Option<f32>,
}

/// A GetFeatureInfo answer.
#[derive(Debug, Serialize)]
pub struct FeatureInfo {
    pub layer: String,
    pub title: String,
    pub units: &'static str,
    pub lon: f64,
    pub lat: f64,
    /// The grid point nearest the requested location.
    pub grid_lon: f64,
    pub grid_lat: f64,
    /// The model run; absent for observations (they have no run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation: Option<String>,
    pub values: Vec<InfoValue>,
}

/// Answers feature info at (lon, lat) for the request's dimensions, where
/// `forecast` or `time` may be a range (`a/b`) or a list (`a,b,c`).
pub async fn feature_info(
    state: &GatewayState,
    layer_name: &str,
    lon: f64,
    lat: f64,
    kvp: &Kvp,
    format: InfoFormat,
) -> Result<Response, OgcError> {
    let catalog = state.catalog.snapshot();
    let layer = catalog
        .layer(layer_name)
        .ok_or_else(|| OgcError::unknown_layer(layer_name))?;
    let fields = select_fields(layer, kvp)?;
    let pair = layer.info.pair.as_ref().and_then(|p| catalog.layer(p));
    let mut refs = Vec::new();
    for f in &fields {
        refs.push(f.source.clone());
        if let Some(v_layer) = pair {
            let id = FieldId {
                run: f.run,
                valid: f.valid,
                elevation: f.elevation.clone(),
            };
            let v = v_layer.fields.get(&id).ok_or_else(|| {
                OgcError::invalid_parameter("time", "no v component for this time")
            })?;
            refs.push(v.source.clone());
        }
    }
    let samples = state
        .queue
        .sample(refs, lon, lat)
        .await
        .map_err(|e| match e {
            protocol::RenderError::Overloaded(_) | protocol::RenderError::Timeout(_) => {
                OgcError::server_busy(std::time::Duration::from_secs(1))
            }
            other => {
                // The details name internal objects: log them, tell less.
                tracing::warn!(layer = %layer.info.name, error = %other, "feature info failed");
                OgcError::internal("the layer's source data could not be read")
            }
        })?;
    let (a, b) = layer
        .info
        .units
        .conversion_to(layer.info.display_units)
        .unwrap_or((1.0, 0.0));
    let per_field = if pair.is_some() { 2 } else { 1 };
    let model = layer.info.kind == protocol::catalog::LayerKind::Model;
    let values = fields
        .iter()
        .zip(samples.chunks(per_field))
        .map(|(f, s)| {
            let (value, direction_deg) = match s {
                [u, v] => match (u.value, v.value) {
                    (Some(u), Some(v)) => (
                        Some(u.hypot(v) * a + b),
                        Some((270.0 - v.atan2(u).to_degrees()).rem_euclid(360.0)),
                    ),
                    _ => (None, None),
                },
                [x, ..] => (x.value.map(|x| x * a + b), None),
                [] => (None, None),
            };
            InfoValue {
                valid: f.valid,
                forecast_hours: model.then(|| (f.valid - f.run).num_seconds() as f64 / 3600.0),
                value,
                direction_deg,
            }
        })
        .collect();
    let first = fields
        .first()
        .ok_or_else(|| OgcError::invalid_parameter("time", "no data for these dimensions"))?;
    let nearest = samples.first();
    let info = FeatureInfo {
        layer: layer.info.name.clone(),
        title: layer.info.title.clone(),
        units: layer.info.display_units.symbol(),
        lon,
        lat,
        grid_lon: nearest.map_or(lon, |s| s.grid_lon),
        grid_lat: nearest.map_or(lat, |s| s.grid_lat),
        run: model.then_some(first.run),
        elevation: first.elevation.clone(),
        values,
    };
    Ok(match format {
        InfoFormat::Json => Json(info).into_response(),
        InfoFormat::Html => Html(html(&info)).into_response(),
    })
}

/// The fields a request names: one, or a series over `forecast`/`time`.
fn select_fields<'a>(layer: &'a LayerEntry, kvp: &Kvp) -> Result<Vec<&'a FieldEntry>, OgcError> {
    let series = |name: &str| kvp.get(name).filter(|v| v.contains('/') || v.contains(','));
    let now = Utc::now();
    let (Some(spec), dim) = (
        series("forecast").or_else(|| series("time")),
        if series("forecast").is_some() {
            "forecast"
        } else {
            "time"
        },
    ) else {
        return Ok(vec![layer.resolve(&dimensions(kvp)?, now)?]);
    };
    // Everything but the ranged dimension resolves as usual.
    let base: DimensionQuery = dimensions(&kvp.without(dim))?;
    let run = match base.run {
        Some(r) => r,
        None => {
            layer
                .resolve(
                    &DimensionQuery {
                        elevation: base.elevation.clone(),
                        ..Default::default()
                    },
                    now,
                )?
                .run
        }
    };
    let in_scope = |f: &&FieldEntry| {
        f.elevation
            == base
                .elevation
                .clone()
                .or_else(|| layer.elevations().first().cloned())
    };
    let mut fields: Vec<&FieldEntry> = if dim == "forecast" {
        let hours = |f: &FieldEntry| (f.valid - f.run).num_seconds() as f64 / 3600.0;
        let wanted = parse_range(spec, dim, |s| {
            s.trim().parse::<f64>().map_err(|_| {
                OgcError::invalid_parameter(dim, format!("forecast must be hours, got {s:?}"))
            })
        })?;
        layer
            .fields
            .values()
            .filter(|f| f.run == run)
            .filter(in_scope)
            .filter(|f| wanted.contains(hours(f)))
            .collect()
    } else {
        let wanted = parse_range(spec, dim, |s| parse_time(dim, s.trim()))?;
        layer
            .fields
            .values()
            .filter(|f| {
                layer.info.kind == protocol::catalog::LayerKind::Observation || f.run == run
            })
            .filter(in_scope)
            .filter(|f| wanted.contains(f.valid))
            .collect()
    };
    fields.sort_by_key(|f| f.valid);
    fields.dedup_by_key(|f| f.valid);
    if fields.is_empty() {
        return Err(OgcError::invalid_parameter(
            dim,
            format!("no data for {dim}={spec}"),
        ));
    }
    fields.truncate(MAX_SERIES);
    Ok(fields)
}

enum Range<T> {
    Between(T, T),
    OneOf(Vec<T>),
}

impl<T: PartialOrd + PartialEq> Range<T> {
    fn contains(&self, v: T) -> bool {
        match self {
            Range::Between(a, b) => *a <= v && v <= *b,
            Range::OneOf(list) => list.contains(&v),
        }
    }
}

fn parse_range<T>(
    spec: &str,
    dim: &str,
    parse: impl Fn(&str) -> Result<T, OgcError>,
) -> Result<Range<T>, OgcError> {
    if let Some((a, b)) = spec.split_once('/') {
        // ISO 8601 intervals may carry a third part (the step); we use all values.
        let b = b.split('/').next().unwrap_or(b);
        Ok(Range::Between(parse(a)?, parse(b)?))
    } else {
        let items: Result<Vec<T>, _> = spec.split(',').map(parse).collect();
        let items = items?;
        if items.is_empty() {
            return Err(OgcError::invalid_parameter(dim, "empty list"));
        }
        Ok(Range::OneOf(items))
    }
}

fn html(info: &FeatureInfo) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    for v in &info.values {
        let value = v
            .value
            .map_or("no data".to_owned(), |x| format!("{x:.2} {}", info.units));
        let dir = v
            .direction_deg
            .map_or(String::new(), |d| format!(" from {d:.0}°"));
        let lead = v
            .forecast_hours
            .map_or(String::new(), |h| format!("<td>+{h} h</td>"));
        rows.push_str(&format!(
            "<tr><td>{}</td>{lead}<td>{}{}</td></tr>\n",
            v.valid.format("%Y-%m-%d %H:%MZ"),
            esc(&value),
            dir
        ));
    }
    // Observations have no run and no lead time.
    let (run, lead_header) = match info.run {
        Some(r) => (
            format!("; run {}", r.format("%Y-%m-%d %H:%MZ")),
            "<th>lead</th>",
        ),
        None => (String::new(), ""),
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n<h3>{title}</h3>\n<p>{lat:.4}°, {lon:.4}° (grid point {glat:.4}°, {glon:.4}°){run}</p>\n<table><tr><th>valid</th>{lead_header}<th>value</th></tr>\n{rows}</table></body></html>\n",
        title = esc(&info.title),
        lat = info.lat,
        lon = info.lon,
        glat = info.grid_lat,
        glon = info.grid_lon,
    )
}

/// The geographic position of pixel (i, j) of a tile.
fn pixel_lonlat(
    tms: TileMatrixSetId,
    z: u32,
    col: u32,
    row: u32,
    i: u32,
    j: u32,
    size: u32,
) -> Result<(f64, f64), OgcError> {
    let z = u8::try_from(z)
        .ok()
        .filter(|&z| z <= protocol::tms::MAX_ZOOM)
        .ok_or_else(|| {
            OgcError::tile_out_of_range("tilematrix", format!("TileMatrix {z} does not exist"))
        })?;
    if col >= tms.matrix_width(z) {
        return Err(OgcError::tile_out_of_range(
            "tilecol",
            format!("TileCol {col} is outside the matrix"),
        ));
    }
    if row >= tms.matrix_height(z) {
        return Err(OgcError::tile_out_of_range(
            "tilerow",
            format!("TileRow {row} is outside the matrix"),
        ));
    }
    if i >= size {
        return Err(OgcError::point_out_of_range(
            "i",
            format!("I {i} is outside 0..{size}"),
        ));
    }
    if j >= size {
        return Err(OgcError::point_out_of_range(
            "j",
            format!("J {j} is outside 0..{size}"),
        ));
    }
    Ok((
        tms.pixel_lons(z, col, size)[i as usize],
        tms.pixel_lats(z, row, size)[j as usize],
    ))
}

/// WMTS KVP `REQUEST=GetFeatureInfo`.
pub async fn wmts_kvp(state: &GatewayState, kvp: &Kvp) -> Result<Response, OgcError> {
    let layer = kvp.require("layer")?.to_owned();
    kvp.require("style")?;
    let tms = tile_matrix_set(kvp.require("tilematrixset")?)?;
    let z = tile_matrix(kvp.require("tilematrix")?)?;
    let (row, col) = (kvp.require_u32("tilerow")?, kvp.require_u32("tilecol")?);
    let (j, i) = (kvp.require_u32("j")?, kvp.require_u32("i")?);
    let format = InfoFormat::parse(kvp.require("infoformat")?)?;
    let (lon, lat) = pixel_lonlat(tms, z, col, row, i, j, 256)?;
    feature_info(state, &layer, lon, lat, kvp, format).await
}

/// Path segments of the REST feature-info template.
type InfoPath = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// `GET /wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}/{j}/{i}.json|html`
pub async fn wmts_rest(
    State(state): State<GatewayState>,
    Path((layer, _style, tms, z, row, col, j, file)): Path<InfoPath>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, OgcError> {
    let kvp = Kvp::new(raw);
    let tms = tile_matrix_set(&tms)?;
    let (i, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| OgcError::invalid_parameter("infoformat", "missing .json or .html"))?;
    let format = InfoFormat::parse(ext)?;
    let z: u32 = z.parse().map_err(|_| {
        OgcError::invalid_parameter("tilematrix", format!("unknown TileMatrix {z:?}"))
    })?;
    let (lon, lat) = pixel_lonlat(
        tms,
        z,
        parse_u32("tilecol", &col)?,
        parse_u32("tilerow", &row)?,
        parse_u32("i", i)?,
        parse_u32("j", &j)?,
        256,
    )?;
    feature_info(&state, &layer, lon, lat, &kvp, format).await
}
