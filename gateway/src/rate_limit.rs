//! Per-client request rate limits: a GCRA limiter (governor) keyed by the
//! client's IP. A client over its rate gets `429 Too Many Requests` with
//! `Retry-After` and an OWS exception report; health checks are exempt.
//! Idle clients are forgotten periodically, so memory stays bounded.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::ogc::{OgcError, OgcErrorCode};

/// Requests per second each client may make, with bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
    /// Proxies in front of the gateway that append to `X-Forwarded-For`:
    /// clients are keyed by the address the outermost of them saw, the
    /// `trusted_proxies`-th entry from the right. Entries left of it are
    /// whatever the client sent, so they are never used. 0: the peer
    /// address, and the header is ignored.
    pub trusted_proxies: u8,
}

/// The shared limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: u8,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("clients", &self.limiter.len())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter, plus a task forgetting idle clients every minute.
    pub fn new(config: RateLimitConfig) -> Self {
        let quota = Quota::per_second(config.per_second).allow_burst(config.burst);
        let limiter = Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            trusted_proxies: config.trusted_proxies,
        };
        let weak = Arc::downgrade(&limiter.limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(l) = weak.upgrade() else { return };
                l.retain_recent();
                l.shrink_to_fit();
            }
        });
        limiter
    }

    /// `Ok` if `client` may make a request now, else how long to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The address a request is counted against.
    pub(crate) fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        let hops = usize::from(self.trusted_proxies);
        let forwarded = (hops > 0)
            .then(|| headers.get("x-forwarded-for")?.to_str().ok())
            .flatten()
            .and_then(|v| {
                // Several headers or one comma list: the right-most entries
                // are the ones our proxies appended.
                let entries: Vec<&str> = v.split(',').map(str::trim).collect();
                let at = entries.len().checked_sub(hops)?;
                entries[at].parse().ok()
            });
        forwarded
            .or(peer.map(|p| p.ip()))
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Whether requests for `path` are never limited (health checks).
pub(crate) fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// Middleware: answers 429 for clients over their rate (a request the hit
/// memo's service admitted was counted there already).
pub async fn enforce(State(limiter): State<RateLimiter>, req: Request, next: Next) -> Response {
    let admitted = req
        .extensions()
        .get::<crate::memo_service::MemoPass>()
        .is_some_and(|p| p.admitted);
    if admitted || exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = limiter.client(req.headers(), peer);
    match limiter.check(client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            metrics::counter!("wxfarm_rate_limited_total").increment(1);
            let e = OgcError::new(
                OgcErrorCode::NoApplicableCode,
                None,
                format!("too many requests from {client}; retry later"),
            );
            let secs = (wait.as_secs_f64().ceil() as u64).max(1);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "text/xml".to_owned()),
                    (header::RETRY_AFTER, secs.to_string()),
                ],
                e.to_xml(),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(trust: u8) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
            trusted_proxies: trust,
        })
    }

    #[tokio::test]
    async fn each_client_gets_its_own_burst() {
        let l = limiter(0);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(l.check(b).is_ok(), "another client is not affected");
    }

    #[tokio::test]
    async fn forwarded_for_is_read_from_the_right_by_trusted_hops() {
        let mut h = HeaderMap::new();
        // The client sent "198.51.100.1" itself; proxy 1 appended the
        // client's real address, proxy 2 appended proxy 1's.
        h.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7, 10.0.0.1".parse().unwrap(),
        );
        let peer: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(limiter(2).client(&h, Some(peer)), ip("203.0.113.7"));
        assert_eq!(limiter(1).client(&h, Some(peer)), ip("10.0.0.1"));
        assert_eq!(limiter(0).client(&h, Some(peer)), peer.ip());
        // Fewer entries than hops: the header cannot be trusted.
        assert_eq!(limiter(4).client(&h, Some(peer)), peer.ip());
        // A forged left-most entry never changes the key.
        let mut forged = h.clone();
        forged.insert(
            "x-forwarded-for",
            "192.0.2.99, 203.0.113.7, 10.0.0.1".parse().unwrap(),
        );
        assert_eq!(limiter(2).client(&forged, Some(peer)), ip("203.0.113.7"));
    }
}
