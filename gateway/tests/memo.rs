//! The hit memo in front of the router: repeated L1 hits are answered
//! without routing, byte for byte as the router answers them, and never
//! after what they were planned from changed (catalogue, L1 entry, the
//! lookahead's step), while metrics, demand counts and the rate limit
//! still see every request.

mod common;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use gateway::memo_service::MemoService;
use gateway::{GatewayState, TileMemo};
use protocol::{RenderError, RenderJob, RenderQueue, TileSink};
use tower::ServiceExt;

/// Answers every job with its cache key as the "image", and counts them.
#[derive(Default)]
struct FakeQueue {
    renders: AtomicU64,
}

#[async_trait]
impl RenderQueue for FakeQueue {
    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError> {
        self.renders.fetch_add(1, Ordering::SeqCst);
        Ok(Bytes::from(job.key.cache_key()))
    }

    fn enqueue(&self, _job: RenderJob) -> bool {
        true
    }
}

struct Stack {
    state: GatewayState,
    queue: Arc<FakeQueue>,
    memo: TileMemo,
    demand: Arc<protocol::demand::DemandCounts>,
}

fn stack_with(tweak: impl FnOnce(&mut GatewayState)) -> Stack {
    let queue = Arc::new(FakeQueue::default());
    let mut state = common::state(queue.clone());
    let demand = Arc::new(protocol::demand::DemandCounts::new(1000));
    state.demand = Some(demand.clone());
    state.prefetch = Some(gateway::Prefetcher::new(gateway::PrefetchConfig {
        rings: 0,
        lookahead: 3,
    }));
    tweak(&mut state);
    // Swept by the tests themselves, at the points they check.
    let memo = TileMemo::unswept(&state);
    Stack {
        state,
        queue,
        memo,
        demand,
    }
}

fn stack() -> Stack {
    stack_with(|_| {})
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Stack {
    /// Through the memo's service, as `serve` runs it.
    async fn send(&self, req: Request<Body>) -> Answer {
        let peer: SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let service = MemoService::new(
            Some(self.memo.clone()),
            gateway::router(self.state.clone()),
            Some(peer),
        );
        answer(service.oneshot(req).await.unwrap()).await
    }

    /// Through the router alone (no memo): what the answer must equal.
    async fn routed(&self, req: Request<Body>) -> Answer {
        let res = gateway::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        answer(res).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Requests counted as demand since the last call (memo hits are
    /// counted at the sweep).
    fn demand_counted(&self) -> f64 {
        self.demand.drain().iter().map(|(_, c)| c).sum()
    }
}

async fn answer(res: axum::response::Response) -> Answer {
    let (parts, body) = res.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: axum::body::to_bytes(body, 1 << 24).await.unwrap(),
    }
}

const TILE: &str = "/tiles/gfs_TMP_2m/gradient/2/1/1.png?forecast=3";

#[tokio::test]
async fn a_repeated_hit_is_answered_from_the_memo_as_the_router_answers_it() {
    let s = stack();
    let miss = s.get(TILE).await;
    assert_eq!(miss.headers["x-cache"], "MISS");
    assert!(s.memo.is_empty(), "a miss is not stored");
    let hit = s.get(TILE).await;
    assert_eq!(hit.headers["x-cache"], "L1");
    assert_eq!(s.memo.len(), 1, "an L1 hit is stored");
    assert_eq!(s.demand_counted(), 2.0, "routed requests count at once");

    let memo_hit = s.get(TILE).await;
    assert_eq!(
        s.demand_counted(),
        0.0,
        "not routed: counted by the sweep, not the handler"
    );
    assert_eq!(memo_hit.status, StatusCode::OK);
    assert_eq!(memo_hit.headers, hit.headers, "the same header block");
    assert_eq!(memo_hit.body, hit.body);
    assert_eq!(s.queue.renders.load(Ordering::SeqCst), 1);
    s.memo.sweep().await;
    assert_eq!(s.demand_counted(), 1.0, "the memo hit counted as demand");
}

#[tokio::test]
async fn not_modified_and_head_match_the_routers_answers() {
    let s = stack();
    let first = s.get(TILE).await;
    s.get(TILE).await;
    let etag = first.headers[header::ETAG].clone();
    let conditional = || {
        Request::get(TILE)
            .header(
                header::IF_NONE_MATCH,
                format!("\"nope\", {}", etag.to_str().unwrap()),
            )
            .body(Body::empty())
            .unwrap()
    };
    let from_memo = s.send(conditional()).await;
    s.memo.sweep().await;
    assert_eq!(s.demand_counted(), 3.0, "two routed, one memo hit");
    let routed = s.routed(conditional()).await;
    assert_eq!(from_memo.status, StatusCode::NOT_MODIFIED);
    assert_eq!(routed.status, StatusCode::NOT_MODIFIED);
    assert_eq!(from_memo.headers, routed.headers);
    assert!(from_memo.body.is_empty());

    let head = || Request::head(TILE).body(Body::empty()).unwrap();
    let from_memo = s.send(head()).await;
    let routed = s.routed(head()).await;
    assert_eq!(from_memo.status, StatusCode::OK);
    assert_eq!(from_memo.headers, routed.headers);
    assert!(from_memo.body.is_empty() && routed.body.is_empty());
    assert_eq!(
        from_memo.headers[header::CONTENT_LENGTH],
        first.body.len().to_string().as_str()
    );
}

#[tokio::test]
async fn cors_answers_depend_on_the_origin_as_without_the_memo() {
    let s = stack_with(|st| {
        st.config = Arc::new(gateway::GatewayConfig {
            cors_origins: vec!["https://maps.example".into()],
            ..Default::default()
        });
    });
    let req = |origin: Option<&str>| {
        let mut r = Request::get(TILE);
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        r.body(Body::empty()).unwrap()
    };
    s.get(TILE).await; // the render
    for origin in [
        Some("https://maps.example"),
        Some("https://evil.example"),
        None,
    ] {
        s.send(req(origin)).await; // stored
        let from_memo = s.send(req(origin)).await;
        let routed = s.routed(req(origin)).await;
        assert_eq!(from_memo.headers["x-cache"], "L1");
        assert_eq!(from_memo.headers, routed.headers, "origin {origin:?}");
        let allowed = from_memo
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            allowed.as_deref(),
            origin.filter(|o| *o == "https://maps.example"),
            "origin {origin:?}"
        );
    }
    assert_eq!(s.memo.len(), 3, "one answer per origin");
}

#[tokio::test]
async fn a_new_catalogue_version_is_never_answered_from_the_memo() {
    let s = stack();
    let before = s.get(TILE).await;
    s.get(TILE).await;
    assert_eq!(s.memo.len(), 1);
    // A newer run with forecast hour 3: the same request now means it.
    let r2 = common::r1() + chrono::Duration::hours(6);
    s.state.catalog.update(|c| {
        let info = c.layer(common::MODEL).unwrap().info.clone();
        c.insert(
            &info,
            common::field(
                common::MODEL,
                r2,
                r2 + chrono::Duration::hours(3),
                None,
                common::GLOBAL_0_360,
                1440,
            ),
        );
    });
    let after = s.get(TILE).await;
    assert_eq!(after.headers["x-cache"], "MISS", "planned again: a new key");
    assert_ne!(after.body, before.body);
    assert!(
        String::from_utf8_lossy(&after.body).contains(&r2.format("%Y%m%dT%H%M%SZ").to_string()),
        "the new run's tile"
    );
    // Any new version, even one that changes nothing here, is re-planned.
    s.get(TILE).await; // stored again
    s.demand_counted();
    s.state.catalog.update(|_| {});
    s.get(TILE).await;
    assert_eq!(s.demand_counted(), 1.0, "routed (counted at once)");
}

#[tokio::test]
async fn an_answer_dies_with_its_l1_entry() {
    let s = stack();
    let first = s.get(TILE).await;
    s.get(TILE).await;
    assert_eq!(s.memo.len(), 1);
    // The L1 entry replaced (as by a re-render): the memo must not answer
    // with the old bytes.
    let key = String::from_utf8(first.body.to_vec()).unwrap();
    s.state
        .tiles
        .put(&key, Bytes::from_static(b"replaced"))
        .await;
    let after = s.get(TILE).await;
    assert_eq!(after.body, Bytes::from_static(b"replaced"));

    // And an entry past L1's time to live.
    let s = stack_with(|st| {
        st.tiles = gateway::TileCache::new(16 << 20, Duration::from_millis(300));
    });
    s.get(TILE).await;
    s.get(TILE).await;
    assert_eq!(s.memo.len(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = s.get(TILE).await;
    assert_eq!(
        after.headers["x-cache"], "MISS",
        "expired in L1: rendered again"
    );
    assert_eq!(s.queue.renders.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn stepping_time_goes_through_the_lookahead() {
    let s = stack();
    let at = |h: u32| format!("/tiles/gfs_TMP_2m/gradient/2/1/1.png?forecast={h}");
    for h in [0, 0, 3, 3] {
        s.get(&at(h)).await;
    }
    assert_eq!(s.memo.len(), 2);
    s.demand_counted();
    // The position was last asked at hour 3: hour 0 again is a step
    // (back) the lookahead must see, then hour 3 a step forward.
    s.get(&at(0)).await;
    assert_eq!(s.demand_counted(), 1.0, "a step is routed");
    s.get(&at(3)).await;
    assert_eq!(s.demand_counted(), 1.0, "a step is routed");
    s.get(&at(3)).await;
    assert_eq!(s.demand_counted(), 0.0, "the same step again: the memo");
}

#[tokio::test]
async fn clock_dependent_and_hinted_requests_are_not_stored() {
    let s = stack();
    // No forecast: the lead nearest now, which moves with the clock.
    let latest = "/tiles/gfs_TMP_2m/gradient/2/1/1.png";
    for _ in 0..3 {
        s.get(latest).await;
    }
    let animated = "/tiles/gfs_TMP_2m/gradient/2/1/1.png?forecast=3&animate=1";
    for _ in 0..3 {
        s.get(animated).await;
    }
    assert!(s.memo.is_empty());
    // A named observation time never moves.
    let obs = format!(
        "/tiles/{}/gradient/5/7/12.png?time={}",
        common::OBS,
        common::r1().format("%Y-%m-%dT%H:%M:%SZ")
    );
    s.get(&obs).await;
    s.get(&obs).await;
    assert_eq!(s.memo.len(), 1);
}

#[tokio::test]
async fn memo_hits_count_against_the_rate_limit_once() {
    let s = stack_with(|st| {
        st.rate_limit = Some(gateway::rate_limit::RateLimiter::new(
            gateway::rate_limit::RateLimitConfig {
                per_second: NonZeroU32::new(1).unwrap(),
                burst: NonZeroU32::new(4).unwrap(),
                trusted_proxies: 0,
            },
        ));
    });
    // Two routed requests (a miss, a hit that is stored), two memo hits:
    // the burst of four, each counted once.
    for _ in 0..4 {
        assert_eq!(s.get(TILE).await.status, StatusCode::OK);
    }
    let limited = s.get(TILE).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn an_overlong_uri_is_still_a_414() {
    let s = stack();
    let pad = "x".repeat(gateway::MAX_URI_BYTES);
    let res = s.get(&format!("{TILE}&pad={pad}")).await;
    assert_eq!(res.status.as_u16(), 414);
}

#[tokio::test]
async fn memo_hits_are_counted_in_the_tile_metrics() {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let s = stack();
    // A layer no other test here asks for, so the counts are this test's.
    let uri = format!(
        "/tiles/{}/gradient/2/1/1.png?forecast=1&elevation=500",
        common::LEVELLED
    );
    for _ in 0..5 {
        s.get(&uri).await;
    }
    assert_eq!(s.memo.len(), 1);
    let text = prometheus.render();
    let count = |tier: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("wxfarm_tile_requests_total{")
                    && l.contains(&format!("layer=\"{}\"", common::LEVELLED))
                    && l.contains(&format!("tier=\"{tier}\""))
                    && l.contains("status=\"200\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(|n| n.parse::<u64>().unwrap())
    };
    assert_eq!(count("miss"), Some(1), "{text}");
    assert_eq!(
        count("l1"),
        Some(4),
        "one routed hit, three memo hits\n{text}"
    );
}
