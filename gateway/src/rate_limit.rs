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
    /// Key clients by the first `X-Forwarded-For` address (only behind a
    /// proxy that sets it; otherwise clients could pick their own key).
    pub trust_forwarded_for: bool,
}

/// The shared limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    trust_forwarded_for: bool,
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
            trust_forwarded_for: config.trust_forwarded_for,
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
    fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| headers.get("x-forwarded-for")?.to_str().ok())
            .flatten()
            .and_then(|v| v.split(',').next()?.trim().parse().ok());
        forwarded
            .or(peer.map(|p| p.ip()))
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Middleware: answers 429 for clients over their rate.
pub async fn enforce(State(limiter): State<RateLimiter>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
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

    fn limiter(trust: bool) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
            trust_forwarded_for: trust,
        })
    }

    #[tokio::test]
    async fn each_client_gets_its_own_burst() {
        let l = limiter(false);
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
    async fn forwarded_for_is_used_only_when_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        let peer: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        assert_eq!(
            limiter(true).client(&h, Some(peer)),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limiter(false).client(&h, Some(peer)), peer.ip());
    }
}
