//! The router, the map viewer and the layer list it reads.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;

use crate::handlers;
use crate::state::GatewayState;

/// Longest request URI answered; longer ones get a 414 ExceptionReport.
/// (A request head over the HTTP edge's buffer, `ServerLimits::
/// max_header_bytes`, is refused by the HTTP layer before it gets here.)
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// All gateway routes, behind the per-client rate limit when one is set,
/// and the URI length check in front of everything.
pub fn router(state: GatewayState) -> Router {
    let limit = state.rate_limit.clone();
    let routes = routes(state);
    let routes = match limit {
        Some(limiter) => routes.layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::rate_limit::enforce,
        )),
        None => routes,
    };
    routes.layer(axum::middleware::from_fn(reject_long_uris))
}

async fn reject_long_uris(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let uri = request.uri();
    let length = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if length > MAX_URI_BYTES {
        return crate::ogc::OgcError::uri_too_long(MAX_URI_BYTES).into_response();
    }
    next.run(request).await
}

fn routes(state: GatewayState) -> Router {
    let admin = state.config.admin_token.clone().map(|token| {
        Router::new()
            .route("/admin/warm", axum::routing::post(crate::admin::warm))
            .route(
                "/admin/warm/estimate",
                axum::routing::post(crate::admin::estimate),
            )
            .route("/admin/stats", get(crate::admin::stats))
            .route_layer(axum::middleware::from_fn_with_state(
                token,
                crate::admin::require_token,
            ))
    });
    let router = Router::new()
        .route("/", get(viewer))
        .route("/assets/leaflet.js", get(leaflet_js))
        .route("/assets/leaflet.css", get(leaflet_css))
        .route("/assets/countries-50m.json", get(countries))
        .route("/assets/topojson-client.min.js", get(topojson_client))
        .route("/api/layers", get(layers))
        .route("/wmts", get(handlers::wmts_kvp))
        .route("/wms", get(crate::wms::wms))
        .route(
            "/wmts/1.0.0/WMTSCapabilities.xml",
            get(handlers::wmts_capabilities_rest),
        )
        .route(
            "/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{file}",
            get(handlers::wmts_rest),
        )
        .route(
            "/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}/{j}/{file}",
            get(crate::featureinfo::wmts_rest),
        )
        .route("/tiles/{layer}/{style}/{z}/{x}/{file}", get(handlers::xyz))
        .route("/legend/{layer}/{file}", get(handlers::legend))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .fallback(handlers::not_found);
    let router = match cors(&state.config.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    };
    // The admin API is for tools, not pages: no CORS.
    match admin {
        Some(admin) => router.merge(admin),
        None => router,
    }
    .with_state(state)
}

/// CORS for every public endpoint (tiles, capabilities, maps, legends,
/// feature info, the layer list), preflight included, so map pages on other
/// origins can use the server; `None` when no origin is allowed.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        let list: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
        if list.is_empty() {
            return None;
        }
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::HEAD])
            .allow_headers(Any)
            .expose_headers([
                header::ETAG,
                header::CACHE_CONTROL,
                HeaderName::from_static("x-cache"),
            ])
            .max_age(std::time::Duration::from_secs(86_400)),
    )
}

async fn viewer() -> Html<&'static str> {
    Html(include_str!("../assets/viewer.html"))
}

async fn leaflet_js() -> Response {
    static_asset(
        "text/javascript",
        include_str!("../assets/leaflet/leaflet.js"),
    )
}

async fn leaflet_css() -> Response {
    static_asset("text/css", include_str!("../assets/leaflet/leaflet.css"))
}

/// Natural Earth 1:50m countries (TopoJSON): the viewer's offline basemap.
async fn countries() -> Response {
    static_asset(
        "application/json",
        include_str!("../assets/basemap/countries-50m.json"),
    )
}

async fn topojson_client() -> Response {
    static_asset(
        "text/javascript",
        include_str!("../assets/basemap/topojson-client.min.js"),
    )
}

fn static_asset(mime: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// One layer as the viewer needs it.
#[derive(Debug, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub title: String,
    pub kind: protocol::catalog::LayerKind,
    pub units: &'static str,
    /// Style names, the default first.
    pub styles: Vec<&'static str>,
    /// The run requests without `run` default to: the newest complete one.
    pub latest_run: Option<String>,
    /// Lead hours of that run.
    pub forecasts: Vec<f64>,
    /// Every run, oldest first: its valid-time count and whether it is
    /// complete or still arriving.
    pub runs: Vec<RunSummary>,
    /// Valid times (observation layers).
    pub times: Vec<String>,
    pub elevations: Vec<String>,
    pub bbox: [f64; 4],
    /// Values below this (display units) are drawn clear, e.g. radar "no
    /// echo" under 5 dBZ: the viewer says so instead of a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transparent_below: Option<f32>,
}

/// One run of a layer in `/api/layers`.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub run: String,
    pub valid_times: usize,
    /// The run's lead times in hours (models only).
    pub forecasts: Vec<f64>,
    pub state: protocol::catalog::RunState,
}

async fn layers(State(state): State<GatewayState>) -> Json<Vec<LayerSummary>> {
    let catalog = state.catalog.snapshot();
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let list = catalog
        .layers
        .values()
        .map(|l| {
            let latest = l.default_run();
            LayerSummary {
                name: l.info.name.clone(),
                title: l.info.title.clone(),
                kind: l.info.kind,
                units: l.info.display_units.symbol(),
                styles: protocol::style::StyleKind::offered_for(
                    l.info.pair.is_some(),
                    l.info.colormap,
                )
                .iter()
                .map(|k| k.name())
                .collect(),
                latest_run: latest.map(iso),
                forecasts: latest
                    .map(|r| {
                        l.valid_times(r)
                            .into_iter()
                            .map(|v| (v - r).num_minutes() as f64 / 60.0)
                            .collect()
                    })
                    .unwrap_or_default(),
                runs: l
                    .run_status()
                    .into_iter()
                    .map(|r| RunSummary {
                        run: iso(r.run),
                        valid_times: r.valid_times,
                        forecasts: match l.info.kind {
                            protocol::catalog::LayerKind::Model => l
                                .valid_times(r.run)
                                .into_iter()
                                .map(|v| (v - r.run).num_minutes() as f64 / 60.0)
                                .collect(),
                            protocol::catalog::LayerKind::Observation => Vec::new(),
                        },
                        state: r.state,
                    })
                    .collect(),
                times: l.all_valid_times().into_iter().map(iso).collect(),
                elevations: l.elevations(),
                bbox: [l.bbox.west, l.bbox.south, l.bbox.east, l.bbox.north],
                transparent_below: l.info.transparent_below,
            }
        })
        .collect();
    Json(list)
}
