//! HTTP behaviour in-process: the router driven with `oneshot`, a fake
//! render queue and a hand-built catalog. No processes, no ports: these
//! check what the gateway itself decides (caching, planning, errors).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use gateway::GatewayState;
use protocol::{RenderError, RenderJob, RenderQueue};
use tower::ServiceExt;

/// Answers every job with its cache key as the "image", and counts them;
/// layers named in `fail_with` fail with that error.
#[derive(Default)]
struct FakeQueue {
    renders: AtomicU64,
    jobs: std::sync::Mutex<Vec<RenderJob>>,
    fail_with: Option<RenderError>,
}

#[async_trait]
impl RenderQueue for FakeQueue {
    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError> {
        self.renders.fetch_add(1, Ordering::SeqCst);
        let key = job.key.cache_key();
        self.jobs.lock().unwrap().push(job);
        match &self.fail_with {
            Some(e) => Err(e.clone()),
            None => Ok(Bytes::from(key)),
        }
    }

    fn enqueue(&self, job: RenderJob) -> bool {
        self.jobs.lock().unwrap().push(job);
        true
    }
}

fn state(queue: Arc<FakeQueue>) -> GatewayState {
    common::state(queue)
}

async fn get(state: &GatewayState, uri: &str) -> (StatusCode, axum::http::HeaderMap, Bytes) {
    let res = gateway::router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap();
    (parts.status, parts.headers, bytes)
}

fn run0() -> String {
    common::r0().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test]
async fn a_tile_is_rendered_once_then_served_from_l1_with_the_planned_key() {
    let queue = Arc::new(FakeQueue::default());
    let s = state(queue.clone());
    let uri = format!(
        "/tiles/{}/gradient/2/1/1.png?run={}&forecast=3",
        common::MODEL,
        run0()
    );
    let (status, headers, body) = get(&s, &uri).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(headers["content-type"], "image/png");
    let key = String::from_utf8(body.to_vec()).unwrap();
    // The key the gateway planned: layer, style, tile, run and valid time.
    assert!(
        key.contains(
            ":gfs_TMP_2m:gradient::WebMercatorQuad:256:2/1/1:20250101T000000Z:20250101T030000Z:"
        ),
        "{key}"
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"),
        "a named run never changes"
    );

    let (_, headers, again) = get(&s, &uri).await;
    assert_eq!(headers["x-cache"], "L1");
    assert_eq!(again, body);
    assert_eq!(queue.renders.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_overlong_uri_is_a_414_exception_report() {
    let queue = Arc::new(FakeQueue::default());
    let s = state(queue.clone());
    let pad = "x".repeat(gateway::MAX_URI_BYTES);
    let (st, headers, body) = get(
        &s,
        &format!("/tiles/gfs_TMP_2m/gradient/1/0/0.png?pad={pad}"),
    )
    .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(st.as_u16(), 414, "{text}");
    assert_eq!(headers["content-type"], "application/xml");
    assert!(
        text.contains("ExceptionReport") && text.contains("16384 bytes"),
        "{text}"
    );
    // Just under the limit, the same tile renders.
    let fits = "x".repeat(gateway::MAX_URI_BYTES - 100);
    let (st, _, _) = get(
        &s,
        &format!("/tiles/gfs_TMP_2m/gradient/1/0/0.png?pad={fits}"),
    )
    .await;
    assert_eq!(st.as_u16(), 200);
    assert_eq!(queue.renders.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn request_errors_become_ogc_exceptions_without_rendering() {
    let queue = Arc::new(FakeQueue::default());
    let s = state(queue.clone());
    for (uri, status, code) in [
        (
            "/tiles/nope/gradient/1/0/0.png",
            404,
            "InvalidParameterValue",
        ),
        (
            "/tiles/gfs_TMP_2m/gradient/1/2/0.png",
            400,
            "TileOutOfRange",
        ),
        (
            "/tiles/gfs_TMP_2m/wind_barbs/1/0/0.png",
            400,
            "InvalidParameterValue",
        ),
        (
            "/tiles/gfs_TMP_2m/gradient/1/0/0.png?forecast=5",
            400,
            "InvalidParameterValue",
        ),
        (
            "/tiles/gfs_TMP_2m/gradient/1/0/0.png?SYMBOLSPACING=4",
            400,
            "InvalidParameterValue",
        ),
    ] {
        let (st, _, body) = get(&s, uri).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(st.as_u16(), status, "{uri}: {text}");
        assert!(text.contains(code), "{uri}: {text}");
    }
    assert_eq!(
        queue.renders.load(Ordering::SeqCst),
        0,
        "nothing reached the queue"
    );
}

#[tokio::test]
async fn an_overloaded_queue_is_a_503_with_retry_after() {
    let queue = Arc::new(FakeQueue {
        fail_with: Some(RenderError::Overloaded("full".into())),
        ..FakeQueue::default()
    });
    let s = state(queue);
    let (status, headers, body) = get(&s, "/tiles/gfs_TMP_2m/gradient/1/0/0.png").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers["retry-after"], "1");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("NoApplicableCode") && text.contains("server busy"),
        "{text}"
    );
}

async fn send(s: &GatewayState, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap) {
    let res = gateway::router(s.clone()).oneshot(request).await.unwrap();
    (res.status(), res.headers().clone())
}

#[tokio::test]
async fn every_public_endpoint_answers_pages_of_other_origins() {
    let s = state(Arc::new(FakeQueue::default()));
    for uri in [
        "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
        "/wms?SERVICE=WMS&REQUEST=GetCapabilities",
        "/api/layers",
        "/tiles/gfs_TMP_2m/gradient/1/0/0.png",
        "/legend/gfs_TMP_2m/gradient.png",
    ] {
        let request = Request::get(uri)
            .header("origin", "https://maps.example")
            .body(Body::empty())
            .unwrap();
        let (status, headers) = send(&s, request).await;
        assert!(status.is_success(), "{uri}: {status}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{uri}");
    }
    // A preflight, as a page sending a custom header makes.
    let preflight = Request::options("/tiles/gfs_TMP_2m/gradient/1/0/0.png")
        .header("origin", "https://maps.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-requested-with")
        .body(Body::empty())
        .unwrap();
    let (status, headers) = send(&s, preflight).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
}

#[tokio::test]
async fn cors_can_be_limited_to_named_origins() {
    let mut s = state(Arc::new(FakeQueue::default()));
    s.config = Arc::new(gateway::GatewayConfig {
        cors_origins: vec!["https://ours.example".into()],
        ..Default::default()
    });
    let get_from = |origin: &str| {
        Request::get("/api/layers")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let (_, headers) = send(&s, get_from("https://ours.example")).await;
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://ours.example"
    );
    let (status, headers) = send(&s, get_from("https://theirs.example")).await;
    assert!(status.is_success());
    assert!(!headers.contains_key("access-control-allow-origin"));
}
