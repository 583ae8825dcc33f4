//! New-object notifications in the farm: the gateway's webhook
//! (`POST /admin/pull/notify`, admin token) reads S3 events, raw or in an
//! SNS envelope, with the parser and budget of `serve`'s
//! ([`crate::pull::notify`]) and forwards each named object over NATS as a
//! [`PullNotice`]; a scheduler running with `--follow` pulls each one of a
//! followed bucket at once, as `serve` does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use protocol::events::{MAX_NOTICE_BYTES, PullNotice};

use crate::pull::follow::{Following, Notified};
use crate::pull::notify;

/// How long the webhook waits for NATS to take its notices.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The gateway's webhook, behind `token`.
pub fn webhook(client: async_nats::Client, token: Arc<str>) -> axum::Router {
    axum::Router::new()
        .route(
            "/admin/pull/notify",
            axum::routing::post(forward).with_state(client),
        )
        // The budget holds before the body is read into memory.
        .layer(axum::extract::DefaultBodyLimit::max(
            notify::MAX_NOTIFICATION_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            token,
            gateway::admin::require_token,
        ))
}

/// `POST /admin/pull/notify` on a gateway: 202 with the number of objects
/// forwarded, 400 for a body that is not a notification (or names an
/// unacceptable object), 503 when NATS does not take them.
async fn forward(State(client): State<async_nats::Client>, body: axum::body::Bytes) -> Response {
    let notices: Vec<PullNotice> = match notify::objects(&body) {
        Ok(objects) => objects
            .into_iter()
            .map(|(bucket, key)| PullNotice::new(bucket, key))
            .collect(),
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let mut payloads = Vec::with_capacity(notices.len());
    for n in &notices {
        if let Err(e) = n.check() {
            return (
                StatusCode::BAD_REQUEST,
                format!("s3://{}/…: {e}\n", n.bucket),
            )
                .into_response();
        }
        match protocol::codec::encode(n) {
            Ok(p) => payloads.push(p),
            Err(e) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
            }
        }
    }
    let unavailable = |why: String| {
        tracing::warn!(error = %why, "pull notify: not forwarded");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("notices not forwarded: {why}\n"),
        )
            .into_response()
    };
    if client.connection_state() != async_nats::connection::State::Connected {
        return unavailable("NATS is unreachable".into());
    }
    for p in payloads {
        if let Err(e) = client
            .publish(farm::subjects::PULL_NOTIFY_SUBJECT, p.into())
            .await
        {
            return unavailable(e.to_string());
        }
    }
    match tokio::time::timeout(FLUSH_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return unavailable(e.to_string()),
        Err(_) => return unavailable("NATS did not take them in time".into()),
    }
    metrics::counter!("wxfarm_pull_notices_forwarded_total").increment(notices.len() as u64);
    (
        StatusCode::ACCEPTED,
        format!("accepted {} objects\n", notices.len()),
    )
        .into_response()
}

/// Pulls, in the scheduler, each object of a followed bucket that a
/// gateway's webhook names; until the subscription ends. Notices are
/// untrusted: oversized, undecodable, malformed ones and those of buckets
/// not followed are dropped with a warning.
pub async fn consume(client: async_nats::Client, following: Following) -> anyhow::Result<()> {
    let mut notices = client
        .subscribe(farm::subjects::PULL_NOTIFY_SUBJECT)
        .await?;
    tracing::info!(
        subject = farm::subjects::PULL_NOTIFY_SUBJECT,
        "taking pull notices"
    );
    while let Some(msg) = notices.next().await {
        let Some(notice) = accept(&msg.payload, &following) else {
            continue;
        };
        match following.pull_notified(&notice.bucket, &notice.key).await {
            Notified::Pulled(line) => tracing::info!(outcome = %line, "pull notice"),
            Notified::NotFollowed => {}
        }
    }
    Ok(())
}

/// The notice in `payload`, when it is one to pull.
fn accept(payload: &[u8], following: &Following) -> Option<PullNotice> {
    let refuse = |why: String| {
        metrics::counter!("wxfarm_pull_notices_refused_total").increment(1);
        tracing::warn!(error = %why, "pull notice refused");
        None
    };
    if payload.len() > MAX_NOTICE_BYTES {
        return refuse(format!("{} bytes, over {MAX_NOTICE_BYTES}", payload.len()));
    }
    let notice = match protocol::codec::decode::<PullNotice>(payload) {
        Ok(n) => n,
        Err(e) => return refuse(e.to_string()),
    };
    if let Err(e) = notice.check() {
        return refuse(e.to_string());
    }
    if !following.follows_bucket(&notice.bucket) {
        return refuse(format!("bucket {:?} is not followed", notice.bucket));
    }
    Some(notice)
}
