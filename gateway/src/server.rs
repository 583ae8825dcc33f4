//! The HTTP/1.1 listener in front of the router, with the edges a public
//! server needs and `axum::serve` does not set: a deadline for each
//! request's headers (which also closes idle keep-alive connections, since
//! hyper starts it as soon as it waits for the next request), a cap on open
//! connections and on header size, and graceful shutdown. In front of the
//! router, per connection, sits the hit memo's service
//! ([`crate::memo_service`]) when the app has a memo.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Limits of the HTTP edge.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLimits {
    /// Longest a client may take to send a request's headers, and longest
    /// an idle keep-alive connection stays open (slow-loris defence).
    pub header_timeout: Duration,
    /// Open connections at most; beyond them new ones wait in the kernel's
    /// accept queue rather than costing file descriptors and memory.
    pub max_connections: usize,
    /// Largest request head (request line and headers), bytes.
    pub max_header_bytes: usize,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 8192,
            max_header_bytes: 64 * 1024,
            drain: Duration::from_secs(10),
        }
    }
}

/// What [`serve`] serves: a router, and the hit memo in front of it
/// (none: every request is routed).
pub struct HttpApp {
    pub router: Router,
    pub memo: Option<crate::TileMemo>,
}

impl From<Router> for HttpApp {
    fn from(router: Router) -> Self {
        Self { router, memo: None }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests
/// in flight finish (up to [`ServerLimits::drain`]). Handlers see the
/// peer's address as `ConnectInfo<std::net::SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: impl Into<HttpApp>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let HttpApp { router, memo } = app.into();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off
                    // instead of spinning, keep serving open connections.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            crate::memo_service::MemoService::new(memo.clone(), router.clone(), Some(peer));
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain period; closing");
    }
    Ok(())
}
