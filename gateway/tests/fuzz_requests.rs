//! Fuzzing request parsing in-process: random WMTS, WMS, XYZ and legend
//! requests built from the parameters the gateway reads, with hostile
//! values (huge, negative, NaN, infinite, empty, repeated, non-ASCII,
//! escapes). Every answer must be a success or a 4xx/503 OGC exception
//! report (501 for an unsupported operation, as OWS says), never another
//! 5xx or a panic, and every job that
//! reaches the queue must be within the render budget
//! ([`protocol::Limits`]), since that is what a worker would allocate.
//!
//! A short run is part of `make test`; `WXFARM_FUZZ_ITERS=100000` runs
//! longer. A failure prints the request that caused it.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use protocol::{Limits, RenderError, RenderJob, RenderQueue};
use tower::ServiceExt;

/// Keeps every job and answers with a 1×1 PNG's worth of bytes.
#[derive(Default)]
struct Recorder {
    jobs: Mutex<Vec<RenderJob>>,
}

#[async_trait]
impl RenderQueue for Recorder {
    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError> {
        self.jobs.lock().unwrap().push(job);
        Ok(Bytes::from_static(b"\x89PNG"))
    }

    fn enqueue(&self, job: RenderJob) -> bool {
        self.jobs.lock().unwrap().push(job);
        true
    }
}

/// Random choices, reproducible from the seed.
struct Rng(fastrand::Rng);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.0.usize(..items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "256",
    "512",
    "4096",
    "65535",
    "100000",
    "4294967296",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "-inf",
    "0.0001",
    "1.5",
    "",
    "x",
    "%00",
    "9",
];

fn value(rng: &mut Rng) -> String {
    match rng.next() % 8 {
        0 => rng
            .pick(&[
                "gfs_TMP_2m",
                "mrms_REFL",
                "gfs_TMP_isbl",
                "nope",
                "../etc",
                "%2e%2e",
            ])
            .into(),
        1 => rng
            .pick(&[
                "gradient",
                "isolines",
                "filled_contours",
                "wind_barbs",
                "default",
                "",
            ])
            .into(),
        2 => rng
            .pick(&[
                "image/png",
                "image/jpeg",
                "text/xml",
                "image/png; mode=8bit",
            ])
            .into(),
        3 => rng
            .pick(&[
                "EPSG:3857",
                "EPSG:4326",
                "CRS:84",
                "EPSG:999999",
                "EPSG:3413",
                "EPSG:32633",
                "EPSG:3035",
                "urn:ogc:def:crs:EPSG::4978",
                "WebMercatorQuad",
                "WorldCRS84Quad",
            ])
            .into(),
        4 => {
            let n = |rng: &mut Rng| rng.pick(NUMBERS).to_owned();
            format!("{},{},{},{}", n(rng), n(rng), n(rng), n(rng))
        }
        5 => rng
            .pick(&[
                "2024-01-01T00:00:00Z",
                "current",
                "2024-13-45T99:00:00Z",
                "1900-01-01",
                "P1D",
            ])
            .into(),
        6 => "Z".repeat((rng.next() % 3000) as usize),
        _ => rng.pick(NUMBERS).into(),
    }
}

const PARAMS: &[&str] = &[
    "SERVICE",
    "REQUEST",
    "VERSION",
    "LAYER",
    "LAYERS",
    "QUERY_LAYERS",
    "STYLE",
    "STYLES",
    "TILEMATRIXSET",
    "TILEMATRIX",
    "TILEROW",
    "TILECOL",
    "FORMAT",
    "INFOFORMAT",
    "I",
    "J",
    "X",
    "Y",
    "CRS",
    "SRS",
    "BBOX",
    "WIDTH",
    "HEIGHT",
    "TIME",
    "DIM_FORECAST",
    "forecast",
    "ELEVATION",
    "COLORSCALERANGE",
    "NUMCOLORBANDS",
    "CONTOURINTERVAL",
    "SYMBOLSPACING",
    "PALETTE",
    "TRANSPARENT",
    "BGCOLOR",
    "tile_size",
    "run",
];

fn request(rng: &mut Rng) -> String {
    let path = match rng.next() % 6 {
        0 => "/wmts".to_owned(),
        1 => "/wms".to_owned(),
        2 => format!(
            "/tiles/{}/{}/{}/{}/{}.png",
            value(rng),
            value(rng),
            rng.pick(NUMBERS),
            rng.pick(NUMBERS),
            rng.pick(NUMBERS)
        ),
        3 => format!(
            "/wmts/1.0.0/{}/{}/{}/{}/{}/{}.png",
            value(rng),
            value(rng),
            value(rng),
            rng.pick(NUMBERS),
            rng.pick(NUMBERS),
            rng.pick(NUMBERS)
        ),
        4 => format!("/legend/{}/{}.png", value(rng), value(rng)),
        _ => "/wms".to_owned(),
    };
    let mut query: Vec<String> = Vec::new();
    if path == "/wms" || path == "/wmts" {
        let service = if path == "/wms" { "WMS" } else { "WMTS" };
        query.push(format!("SERVICE={service}"));
        query.push(format!(
            "REQUEST={}",
            rng.pick(&[
                "GetMap",
                "GetTile",
                "GetFeatureInfo",
                "GetCapabilities",
                "GetLegendGraphic",
                "x"
            ])
        ));
    }
    for _ in 0..rng.next() % 12 {
        let v = value(rng);
        let v: String = v
            .chars()
            .map(|c| if c == ' ' || c == '#' { '+' } else { c })
            .collect();
        query.push(format!("{}={v}", rng.pick(PARAMS)));
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[tokio::test]
async fn random_requests_get_answers_or_exceptions_and_queue_only_jobs_within_budget() {
    let iterations: usize = std::env::var("WXFARM_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let queue = Arc::new(Recorder::default());
    let state = common::state(queue.clone());
    let app = gateway::router(state);
    let limits = Limits::default();
    let mut rng = Rng(fastrand::Rng::with_seed(0x5eed_1234_abcd_0001));
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..iterations {
        let uri = request(&mut rng);
        let Ok(req) = Request::get(&uri).body(Body::empty()) else {
            continue; // not a valid URI at all: hyper would refuse it first
        };
        let res = app.clone().oneshot(req).await.expect("infallible");
        let status = res.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        let body = axum::body::to_bytes(res.into_body(), 1 << 26)
            .await
            .expect("body");
        assert!(
            // 501 is OWS's status for OperationNotSupported.
            status < 500 || status == 501 || status == 503,
            "{uri} -> {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 && status != 404 {
            assert!(
                String::from_utf8_lossy(&body).contains("ExceptionReport")
                    || String::from_utf8_lossy(&body).contains("ServiceException"),
                "{uri} -> {status} without an exception report"
            );
        }
        for job in queue.jobs.lock().unwrap().drain(..) {
            assert!(
                job.check(&limits).is_ok(),
                "{uri} queued an over-budget job: {:?}",
                job.check(&limits)
            );
        }
    }
    eprintln!("{iterations} requests: {statuses:?}");
    assert!(
        statuses.get(&200).is_some_and(|n| *n > 0),
        "some requests succeed: {statuses:?}"
    );
    assert!(
        statuses.get(&400).is_some_and(|n| *n > 0),
        "some are refused: {statuses:?}"
    );
}
