//! One OpenTelemetry SERVER span per HTTP request, following the HTTP
//! semantic conventions (method, route, path, status; error status on 5xx),
//! and a child of the client's `traceparent` when it sends one, so a
//! browser's or proxy's trace continues through the gateway, the queue and
//! the worker. Installed only when traces are exported: the cache-hit path
//! stays span-free otherwise.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::Extractor;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The middleware (see the module docs).
pub async fn server_span(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = route_of(request.uri().path());
    let span = tracing::info_span!(
        "HTTP request",
        otel.kind = "server",
        otel.name = Empty,
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = Empty,
        url.path = %request.uri().path(),
        http.response.status_code = Empty,
        wxfarm.cache_tier = Empty,
    );
    span.record("http.route", route);
    span.record("otel.name", format!("{method} {route}"));
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(request.headers())));
    // Fails only without the OpenTelemetry layer: then there is no trace.
    let _ = span.set_parent(parent);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    // L1, L2 or MISS for tiles (the X-Cache header).
    if let Some(tier) = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
    {
        span.record("wxfarm.cache_tier", tier);
    }
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}

/// The route template of `path` (low cardinality, as the conventions ask):
/// the gateway's routes, with their variable parts as placeholders.
fn route_of(path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["tiles", _, _, _, _, _] => "/tiles/{layer}/{style}/{z}/{x}/{file}",
        ["wmts", "1.0.0", "WMTSCapabilities.xml"] => "/wmts/1.0.0/WMTSCapabilities.xml",
        ["wmts", "1.0.0", _, _, _, _, _, _] => "/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{file}",
        ["wmts", "1.0.0", _, _, _, _, _, _, _, _] => {
            "/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}/{j}/{file}"
        }
        ["wmts"] => "/wmts",
        ["wms"] => "/wms",
        ["legend", _, _] => "/legend/{layer}/{file}",
        ["api", "layers"] => "/api/layers",
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        ["admin", ..] => "/admin/*",
        ["assets", ..] => "/assets/*",
        [""] => "/",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_are_templates() {
        assert_eq!(
            super::route_of("/tiles/gfs_TMP_2m/gradient/3/2/1.png"),
            "/tiles/{layer}/{style}/{z}/{x}/{file}"
        );
        assert_eq!(super::route_of("/wms"), "/wms");
        assert_eq!(super::route_of("/"), "/");
        assert_eq!(super::route_of("/nope/x"), "other");
    }
}
