//! `serve --follow gfs,mrms`: polls each followed source every interval for
//! a newer run (models: the source's default fields and hours) or the
//! newest objects (observations), pulls what is missing, publishes and
//! warms it like any new file, and applies the source's retention. The
//! farm's `scheduler --follow` runs the same loop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use object_store::ObjectStore;
use scheduler::Scheduler;

use super::engine::{Puller, Want};
use super::retention::{self, Keep};
use super::{FetchArgs, sources::Sources};

/// Keeping a store current from the providers.
#[derive(Args, Debug, Clone)]
pub struct FollowArgs {
    /// Sources to keep current, comma-separated (e.g. `gfs,mrms`): their
    /// newest run or objects are pulled every --follow-interval, with the
    /// fields, hours and retention of the sources catalogue.
    #[arg(long, env = "WXFARM_FOLLOW", value_delimiter = ',')]
    pub follow: Vec<String>,
    /// Seconds between polls of the followed sources.
    #[arg(long, env = "WXFARM_FOLLOW_INTERVAL", default_value_t = 300)]
    pub follow_interval: u64,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// One followed source.
struct Followed {
    puller: Puller,
    want: Want,
    keep: Keep,
}

/// Notified objects pulled at once by the webhook; past that it answers
/// 503 with `Retry-After` (S3 event senders retry, and the poll catches up),
/// so a burst of notifications cannot start unbounded pulls.
pub const MAX_NOTIFIED_PULLS: usize = 2;

/// Seconds a notifier is asked to wait when every pull slot is taken.
const NOTIFY_RETRY_AFTER_SECS: u64 = 5;

/// The followed sources of a running follow loop: what notifications (the
/// webhook of `serve`, the farm's notices) are pulled with.
#[derive(Clone)]
pub struct Following(Arc<Vec<Followed>>, Arc<tokio::sync::Semaphore>);

/// What became of one notified object.
pub enum Notified {
    /// A followed source reads the bucket: the pull's outcome, as a line.
    Pulled(String),
    /// No followed source reads the bucket.
    NotFollowed,
}

impl Following {
    /// Whether a followed source reads `bucket`.
    pub fn follows_bucket(&self, bucket: &str) -> bool {
        self.0.iter().any(|f| f.puller.bucket.name == bucket)
    }

    /// Pulls `key` of `bucket` at once, as the poll would (ingested,
    /// published and warmed through the scheduler).
    pub async fn pull_notified(&self, bucket: &str, key: &str) -> Notified {
        let Some(f) = self.0.iter().find(|f| f.puller.bucket.name == bucket) else {
            return Notified::NotFollowed;
        };
        let pulled: futures::future::BoxFuture<'_, _> =
            Box::pin(f.puller.pull_object(key, &f.want));
        Notified::Pulled(match pulled.await {
            Ok(s) => {
                metrics::counter!("wxfarm_pull_messages_total", "source" => f.puller.source.name.clone())
                    .increment(s.messages_pulled as u64);
                format!(
                    "s3://{bucket}/{key}: pulled {} messages, {} already present, {} failed",
                    s.messages_pulled,
                    s.messages_skipped,
                    s.failures.len()
                )
            }
            Err(e) => format!("s3://{bucket}/{key}: {e:#}"),
        })
    }

    /// The notification webhook (`POST /admin/pull/notify`) behind `token`.
    pub fn webhook(self, token: Arc<str>) -> axum::Router {
        axum::Router::new()
            .route(
                "/admin/pull/notify",
                axum::routing::post(notified).with_state(self),
            )
            // The budget holds before the body is read into memory.
            .layer(axum::extract::DefaultBodyLimit::max(
                super::notify::MAX_NOTIFICATION_BYTES,
            ))
            .layer(axum::middleware::from_fn_with_state(
                token,
                gateway::admin::require_token,
            ))
    }
}

/// Starts the follow loop in the background, when sources are followed;
/// returns the notification webhook (`POST /admin/pull/notify`, behind
/// `admin_token`), when there is a token.
pub fn spawn(
    args: &FollowArgs,
    scheduler: Arc<Scheduler>,
    store: Arc<dyn ObjectStore>,
    admin_token: Option<Arc<str>>,
) -> Result<axum::Router> {
    Ok(match (start(args, scheduler, store)?, admin_token) {
        (Some(following), Some(token)) => following.webhook(token),
        _ => axum::Router::new(),
    })
}

/// Starts the follow loop in the background, when sources are followed;
/// returns what notifications are pulled with.
pub fn start(
    args: &FollowArgs,
    scheduler: Arc<Scheduler>,
    store: Arc<dyn ObjectStore>,
) -> Result<Option<Following>> {
    if args.follow.is_empty() {
        return Ok(None);
    }
    let sources = Sources::load(args.fetch.sources.as_deref())?;
    let mut followed = Vec::new();
    for name in &args.follow {
        let source = sources.get(name)?;
        let count = source.follow_count.unwrap_or(1);
        let want = super::want_of(source, "latest", None, None, count, &[])?;
        let mut puller =
            args.fetch
                .puller(source, scheduler.ingestor().clone(), store.clone(), false)?;
        puller.scheduler = Some(scheduler.clone());
        followed.push(Followed {
            puller,
            want,
            keep: Keep::of(source),
        });
    }
    let followed = Arc::new(followed);
    describe_metrics();
    let every = Duration::from_secs(args.follow_interval.max(1));
    tracing::info!(sources = ?args.follow, every = ?every, "following");
    let looping = followed.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for f in looping.iter() {
                poll(&f.puller, &f.want, &f.keep, &scheduler, &store).await;
            }
        }
    });
    Ok(Some(Following(
        followed,
        Arc::new(tokio::sync::Semaphore::new(MAX_NOTIFIED_PULLS)),
    )))
}

/// `POST /admin/pull/notify`: an S3 event (raw or SNS); pulls each named
/// object of a followed source's bucket. 200 with what was pulled, 400 for
/// a notification that is not one, 404 when it names no followed bucket,
/// 503 with `Retry-After` while [`MAX_NOTIFIED_PULLS`] notifications are
/// being pulled.
async fn notified(
    axum::extract::State(following): axum::extract::State<Following>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let objects = match super::notify::objects(&body) {
        Ok(o) => o,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let Ok(_slot) = following.1.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, NOTIFY_RETRY_AFTER_SECS.to_string())],
            format!("{MAX_NOTIFIED_PULLS} notifications are being pulled; retry later\n"),
        )
            .into_response();
    };
    let mut lines = Vec::new();
    let mut matched = false;
    for (bucket, key) in objects {
        match following.pull_notified(&bucket, &key).await {
            Notified::Pulled(line) => {
                matched = true;
                lines.push(line);
            }
            Notified::NotFollowed => lines.push(format!(
                "s3://{bucket}/{key}: no followed source reads this bucket"
            )),
        }
    }
    let status = if matched {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (status, lines.join("\n") + "\n").into_response()
}

fn describe_metrics() {
    metrics::describe_counter!(
        "wxfarm_pull_messages_total",
        "GRIB messages (or whole objects) pulled from followed sources, by source."
    );
    metrics::describe_counter!(
        "wxfarm_pull_retries_total",
        "Reads of a source bucket retried (errors, truncated bodies)."
    );
    metrics::describe_counter!(
        "wxfarm_pull_retention_deleted_total",
        "Objects deleted by the retention of followed sources."
    );
}

async fn poll(
    puller: &Puller,
    want: &Want,
    keep: &Keep,
    scheduler: &Scheduler,
    store: &Arc<dyn ObjectStore>,
) {
    let name = &puller.source.name;
    let pulled: futures::future::BoxFuture<'_, _> = Box::pin(puller.pull(want));
    match pulled.await {
        Ok(s) => {
            metrics::counter!("wxfarm_pull_messages_total", "source" => name.clone())
                .increment(s.messages_pulled as u64);
            if s.messages_pulled > 0 || !s.failures.is_empty() {
                tracing::info!(
                    source = %name,
                    run = ?s.run,
                    pulled = s.messages_pulled,
                    present = s.messages_skipped,
                    bytes = s.bytes,
                    failures = ?s.failures,
                    "follow: pulled"
                );
            }
        }
        Err(e) => {
            tracing::warn!(source = %name, error = %format!("{e:#}"), "follow: nothing pulled")
        }
    }
    let trim: futures::future::BoxFuture<'_, _> = Box::pin(retention::apply(
        scheduler.ingestor().catalog(),
        store,
        keep,
    ));
    let changed = trim.await;
    if !changed.is_empty() {
        // Gateways of a farm see the catalog only as published.
        scheduler.publish(&changed).await;
    }
}
