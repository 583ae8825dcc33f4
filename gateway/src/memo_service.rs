//! The service in front of the router: answers repeated tile requests from
//! the hit memo ([`crate::memo`]) before any routing, and passes the rest
//! on, storing the L1 hits the handlers offer on their way back.
//!
//! It keeps what the router's outer layers do for every request: a URI
//! over [`crate::MAX_URI_BYTES`] and a client over its rate are left to
//! the router (414 and 429 answers are its own), and a request it admitted
//! is marked ([`MemoPass`]) so the router's rate limiter does not count it
//! twice. It also gives handlers the peer address (`ConnectInfo`), as
//! `into_make_service_with_connect_info` did.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use futures::future::{BoxFuture, Either};
use tower_service::Service;

use crate::memo::{MAX_TARGET_BYTES, MemoFill, TileMemo};

/// Set on the requests the memo service passes on: whether it counted
/// the request against the client's rate already, and whether a tile
/// handler should offer its L1 hit for storing ([`MemoFill`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoPass {
    pub(crate) admitted: bool,
    pub(crate) fill: bool,
}

impl MemoPass {
    /// Whether the handler should offer its answer to the memo.
    pub fn wants_fill(&self) -> bool {
        self.fill
    }
}

/// The per-connection service: the memo (none: off) and the connection's
/// peer in front of the router. A tower service (for tests and layers)
/// and a hyper one: hyper calls it by reference, so a memo hit clones
/// nothing (the tower adapter clones the service for every request).
#[derive(Clone)]
pub struct MemoService<S> {
    front: Front,
    inner: S,
}

#[derive(Clone)]
struct Front {
    memo: Option<TileMemo>,
    peer: Option<SocketAddr>,
}

impl<S> MemoService<S> {
    /// `inner` behind `memo` (pass-through when none), for a connection
    /// from `peer`.
    pub fn new(memo: Option<TileMemo>, inner: S, peer: Option<SocketAddr>) -> Self {
        Self {
            front: Front { memo, peer },
            inner,
        }
    }
}

type Answer = Either<
    std::future::Ready<Result<Response, Infallible>>,
    BoxFuture<'static, Result<Response, Infallible>>,
>;

impl<S, B> Service<Request<B>> for MemoService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Answer {
        self.front.route(req, |r| self.inner.call(r))
    }
}

/// For hyper: the inner service must be always ready, as axum's `Router`
/// is (it is cloned and called for each request that is not a memo hit).
impl<S, B> hyper::service::Service<Request<B>> for MemoService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, req: Request<B>) -> Answer {
        self.front.route(req, |r| self.inner.clone().call(r))
    }
}

type OwnedKey = (String, Option<HeaderValue>, u64);

impl Front {
    /// Answers `req` from the memo, or passes it on through `call`.
    fn route<B, F>(&self, req: Request<B>, call: impl FnOnce(Request<B>) -> F) -> Answer
    where
        F: std::future::Future<Output = Result<Response, Infallible>> + Send + 'static,
    {
        let Some(memo) = &self.memo else {
            return self.pass(req, MemoPass::default(), call, None);
        };
        let started = Instant::now();
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        if target.len() > crate::MAX_URI_BYTES {
            // The router's 414 (and its rate limiter, behind it).
            return self.pass(req, MemoPass::default(), call, None);
        }
        let mut pass = MemoPass::default();
        if let Some(limiter) = memo.rate_limit()
            && !crate::rate_limit::exempt(req.uri().path())
        {
            let client = limiter.client(req.headers(), self.peer);
            if limiter.check(client).is_err() {
                // The router's limiter answers (it fails again, counting
                // nothing more).
                return self.pass(req, MemoPass::default(), call, None);
            }
            pass.admitted = true;
        }
        let (get, head) = (req.method() == Method::GET, req.method() == Method::HEAD);
        let headers = req.headers();
        let origin = headers.get(header::ORIGIN);
        let usable = (get || head)
            && !headers.contains_key("x-wxfarm-animate")
            && target.len() + origin.map_or(0, HeaderValue::len) <= MAX_TARGET_BYTES;
        if !usable {
            return self.pass(req, pass, call, None);
        }
        let key = memo.key(target, origin);
        if let Some(answer) = memo.answer(&key, head, headers.get(header::IF_NONE_MATCH), started) {
            return Either::Left(std::future::ready(Ok(answer)));
        }
        if !get {
            return self.pass(req, pass, call, None);
        }
        pass.fill = true;
        let owned = (key.target.to_owned(), key.origin.cloned(), key.hash);
        let memo = memo.clone();
        self.pass(req, pass, call, Some((memo, owned)))
    }

    /// Passes `req` on (marked with `pass` when it says anything), and
    /// stores the answer when `fill` is given and a handler offered it.
    fn pass<B, F>(
        &self,
        mut req: Request<B>,
        pass: MemoPass,
        call: impl FnOnce(Request<B>) -> F,
        fill: Option<(TileMemo, OwnedKey)>,
    ) -> Answer
    where
        F: std::future::Future<Output = Result<Response, Infallible>> + Send + 'static,
    {
        if pass.admitted || pass.fill {
            req.extensions_mut().insert(pass);
        }
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        let future = call(req);
        let Some((memo, (target, origin, hash))) = fill else {
            return Either::Right(Box::pin(future));
        };
        Either::Right(Box::pin(async move {
            let mut response = future.await?;
            if response.status() == StatusCode::OK
                && let Some(fill) = response.extensions_mut().remove::<MemoFill>()
            {
                let key = crate::memo::MemoKey {
                    target: &target,
                    origin: origin.as_ref(),
                    hash,
                };
                memo.store(&key, response.headers(), fill);
            }
            Ok(response)
        }))
    }
}
