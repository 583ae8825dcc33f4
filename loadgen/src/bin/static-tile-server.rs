//! `static-tile-server FILE [--listen ADDR]`: answers every GET with FILE's
//! bytes from memory, with the headers a wxfarm tile carries.
//!
//! It is the *ceiling* for `make bench`: the same HTTP stack as wxfarm (axum
//! on a multi-threaded tokio runtime) with no routing, parsing, cache lookup
//! or rendering, so wxfarm's cache-hit throughput divided by this server's is
//! the share of the achievable rate that wxfarm reaches. Prints
//! `listening on http://ADDR` as its first stdout line.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use std::net::SocketAddr;

fn usage() -> ! {
    eprintln!("usage: static-tile-server FILE [--listen ADDR]   (default 127.0.0.1:0)");
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage()).parse()?,
            "-h" | "--help" => usage(),
            _ if file.is_none() => file = Some(a),
            _ => usage(),
        }
    }
    let file = file.unwrap_or_else(|| usage());
    let body = Bytes::from(std::fs::read(&file).map_err(|e| anyhow::anyhow!("{file}: {e}"))?);
    let etag = HeaderValue::from_str(&format!("\"{:x}\"", body.len()))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let tile = move || {
                let (body, etag) = (body.clone(), etag.clone());
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
                            (header::ETAG, etag),
                            (
                                header::CACHE_CONTROL,
                                HeaderValue::from_static("public, max-age=31536000, immutable"),
                            ),
                            (
                                header::HeaderName::from_static("x-cache"),
                                HeaderValue::from_static("L1"),
                            ),
                            (
                                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                                HeaderValue::from_static("*"),
                            ),
                        ],
                        body,
                    )
                        .into_response()
                }
            };
            let app = Router::new().fallback(tile);
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("listening on http://{}", listener.local_addr()?);
            axum::serve(listener, app).await?;
            Ok(())
        })
}
