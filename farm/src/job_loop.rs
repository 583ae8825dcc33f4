//! The worker's side of the queue: pull jobs by priority, render, store in
//! L2, ack, publish the result.
//!
//! A slot is taken *before* a job is fetched, and then the highest priority
//! with a waiting job wins (interactive, prefetch, warm: a no-wait fetch on
//! each in turn). Fetching ahead would hold jobs whose ack timers run while
//! they wait, and would let a warm job take a slot an interactive one
//! arrives for. With nothing waiting, the worker long-polls the interactive
//! consumer for `idle_wait`, so a user's job starts at once and lower
//! priorities are looked at again within `idle_wait`.
//!
//! Order per job: L2 put, ack, then publish the result. Acking before
//! publishing is what lets a gateway whose publish was a duplicate tell a
//! finished job (gone from the stream, result already sent) from a pending
//! one (its result is still to come).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use bytes::Bytes;
use futures::StreamExt;
use protocol::Renderer;
use protocol::{Cancel, RenderError, RenderJob, TileStore, codec};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::signing::{self, SigningKey};
use crate::wire::JobResult;
use crate::{FarmConfig, FarmError, subjects, topology};

/// How a worker pulls and retries jobs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Concurrent renders.
    pub slots: usize,
    /// Deliveries after which a failing job is terminated; must match the
    /// consumers' `max_deliver`.
    pub max_deliver: i64,
    /// Long-poll on the interactive consumer when every queue is empty.
    pub idle_wait: Duration,
    /// Pause before retrying a render that failed with a retryable error.
    pub retry_delay: Duration,
    /// Interval of "still working" signals during a render, so a slow but
    /// live render is not handed to another worker (keep below ack_wait).
    pub progress_interval: Duration,
    /// Longest a single render may take: past it the gateway has answered
    /// 503 already, so the render is cancelled and the job terminated.
    pub render_timeout: Duration,
    /// Jobs must carry its signature; results are signed with it.
    pub signing_key: Option<SigningKey>,
}

impl WorkerOptions {
    /// Options matching `config`'s consumers, with `slots` renders.
    pub fn from_config(config: &FarmConfig, slots: usize) -> Self {
        Self {
            slots: slots.max(1),
            max_deliver: config.max_deliver,
            idle_wait: Duration::from_millis(250),
            retry_delay: Duration::from_millis(500),
            progress_interval: config.ack_wait / 2,
            render_timeout: config.render_deadline,
            signing_key: config.signing_key.clone(),
        }
    }
}

/// Counters of what a worker did, for metrics and tests.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Jobs rendered successfully.
    pub rendered: AtomicU64,
    /// Render attempts that failed.
    pub failed: AtomicU64,
    /// Jobs given up on (terminal error or out of deliveries).
    pub terminated: AtomicU64,
    /// Renders retried after a retryable failure.
    pub retried: AtomicU64,
    /// Jobs answered from L2 without rendering.
    pub l2_hits: AtomicU64,
    /// Messages that were not decodable jobs.
    pub bad_jobs: AtomicU64,
    /// Messages dropped for a missing or wrong signature.
    pub forged: AtomicU64,
    /// Renders cancelled at their deadline.
    pub cancelled: AtomicU64,
}

/// Runs a worker until the task is dropped or NATS lookups fail at
/// start-up. Aborting the task aborts its renders too (their jobs are then
/// redelivered after `ack_wait`). Call [`topology::ensure_topology`] first.
pub async fn run_worker(
    js: jetstream::Context,
    renderer: Arc<dyn Renderer>,
    l2: Option<Arc<dyn TileStore>>,
    opts: WorkerOptions,
    stats: Arc<WorkerStats>,
) -> Result<(), FarmError> {
    let stream = js
        .get_stream(subjects::JOB_STREAM)
        .await
        .map_err(|e| FarmError::nats("get job stream", e))?;
    let consumers = topology::consumers(&stream).await?;
    let ctx = Arc::new(JobContext {
        client: js.client(),
        signing_key: opts.signing_key.clone(),
        renderer,
        l2,
        opts,
        stats,
    });
    let slots = Arc::new(Semaphore::new(ctx.opts.slots));
    // Owning the render tasks here means dropping this future ends them.
    let mut tasks = JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        while tasks.try_join_next().is_some() {}
        match next_job(&consumers, ctx.opts.idle_wait).await {
            Ok(Some(msg)) => {
                let ctx = ctx.clone();
                // The render joins the trace of the request that queued it.
                let span = tracing::info_span!(
                    "render job",
                    otel.kind = "consumer",
                    messaging.system = "nats",
                    messaging.operation.type = "process",
                    messaging.destination.name = %msg.subject,
                    subject = %msg.subject,
                );
                crate::trace_context::continue_in(&span, msg.headers.as_ref());
                tasks.spawn(
                    async move {
                        ctx.handle(msg).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "fetching jobs failed; retrying");
                tokio::time::sleep(ctx.opts.retry_delay).await;
            }
        }
    }
}

/// The next job by priority, or `None` after `idle_wait` without one.
async fn next_job(
    consumers: &[PullConsumer; 3],
    idle_wait: Duration,
) -> Result<Option<jetstream::Message>, FarmError> {
    // Bounds each request so a connection lost mid-fetch cannot hang us.
    let guard = idle_wait + Duration::from_secs(2);
    for c in consumers {
        let batch = c.fetch().max_messages(1).messages();
        if let Some(msg) = first(guard, batch).await? {
            return Ok(Some(msg));
        }
    }
    let batch = consumers[0]
        .batch()
        .max_messages(1)
        .expires(idle_wait)
        .messages();
    first(guard, batch).await
}

async fn first<E: std::fmt::Display>(
    guard: Duration,
    batch: impl Future<Output = Result<jetstream::consumer::pull::Batch, E>>,
) -> Result<Option<jetstream::Message>, FarmError> {
    let fetch = async {
        let mut batch = batch.await.map_err(|e| FarmError::nats("fetch", e))?;
        match batch.next().await {
            Some(Ok(msg)) => Ok(Some(msg)),
            Some(Err(e)) => Err(FarmError::nats("fetch", e)),
            None => Ok(None),
        }
    };
    tokio::time::timeout(guard, fetch)
        .await
        .map_err(|_| FarmError::Nats("fetch: no answer".into()))?
}

struct JobContext {
    client: async_nats::Client,
    signing_key: Option<SigningKey>,
    renderer: Arc<dyn Renderer>,
    l2: Option<Arc<dyn TileStore>>,
    opts: WorkerOptions,
    stats: Arc<WorkerStats>,
}

/// How long a render past its deadline gets to reach a stage boundary
/// and stop before its slot is given back regardless.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Errors that another attempt cannot fix. A render that outlived its
/// deadline would do so again (and its waiter has gone): retrying it would
/// only spend more slots on it.
fn is_terminal(e: &RenderError) -> bool {
    matches!(
        e,
        RenderError::Data(_)
            | RenderError::Invalid(_)
            | RenderError::Timeout(_)
            | RenderError::Cancelled
    )
}

impl JobContext {
    async fn handle(&self, msg: jetstream::Message) {
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        if !signing::accepts(
            self.signing_key.as_ref(),
            msg.headers.as_ref(),
            &msg.payload,
        ) {
            // Not from a farm process: drop it without rendering or
            // answering (an answer would be a result for a forger's key).
            self.stats.forged.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(subject = %msg.subject, "unsigned or forged job terminated");
            self.settle(&msg, AckKind::Term).await;
            return;
        }
        let job: RenderJob = match codec::decode(&msg.payload) {
            Ok(job) => job,
            Err(e) => {
                self.stats.bad_jobs.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subject = %msg.subject, error = %e, "undecodable job terminated");
                self.settle(&msg, AckKind::Term).await;
                // Whoever waits for it learns now rather than at the deadline.
                let key = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(subjects::KEY_HEADER));
                if let Some(key) = key {
                    let err = RenderError::Invalid(format!("undecodable job: {e}"));
                    self.publish_result(key.as_str(), Err(err)).await;
                }
                return;
            }
        };
        let key = job.key.cache_key();
        // Retryable failures are retried here, in place, counting the
        // deliveries JetStream already made (crashed workers). Naks would
        // hand the job to any worker, but nats-server 2.9 was seen to
        // strand a job nak'ed twice, never redelivering it.
        let mut attempt = delivered;
        let outcome = loop {
            match self.produce(&msg, &job, &key).await {
                Err(e) if !is_terminal(&e) && attempt < self.opts.max_deliver => {
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%key, attempt, error = %e, "render failed; retrying");
                    tokio::time::sleep(self.opts.retry_delay).await;
                    // Restart the ack timer so the retry is not redelivered
                    // elsewhere meanwhile.
                    self.settle(&msg, AckKind::Progress).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match outcome {
            Ok(bytes) => {
                self.settle(&msg, AckKind::Ack).await;
                self.publish_result(&key, Ok(bytes)).await;
            }
            Err(e) => {
                self.stats.terminated.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%key, attempt, error = %e, "job given up");
                self.settle(&msg, AckKind::Term).await;
                self.publish_result(&key, Err(e)).await;
            }
        }
    }

    /// The tile from L2 when an earlier job stored it, else rendered (and
    /// stored).
    async fn produce(
        &self,
        msg: &jetstream::Message,
        job: &RenderJob,
        key: &str,
    ) -> Result<Bytes, RenderError> {
        if let Some(l2) = &self.l2
            && let Ok(Some(bytes)) = l2.get(key).await
        {
            self.stats.l2_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(bytes);
        }
        let result = self.render_keeping_alive(msg, job).await;
        match &result {
            Ok(bytes) => {
                self.stats.rendered.fetch_add(1, Ordering::Relaxed);
                if let Some(l2) = &self.l2 {
                    l2.put(key, bytes.clone()).await;
                }
            }
            Err(_) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Renders, telling JetStream the job is in progress every
    /// `progress_interval` so it is not redelivered while we work.
    async fn render_keeping_alive(
        &self,
        msg: &jetstream::Message,
        job: &RenderJob,
    ) -> Result<Bytes, RenderError> {
        let cancel = Cancel::new();
        let render = self.renderer.render(job, &cancel);
        tokio::pin!(render);
        let deadline = tokio::time::sleep(self.opts.render_timeout);
        tokio::pin!(deadline);
        let period = self.opts.progress_interval.max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                r = &mut render => return r,
                () = &mut deadline => {
                    // Nobody waits any more: stop at the next stage boundary
                    // and keep the slot until the render has let go of it.
                    cancel.cancel();
                    let _ = tokio::time::timeout(CANCEL_GRACE, render).await;
                    self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
                    return Err(RenderError::Timeout(self.opts.render_timeout.as_millis() as u64));
                }
                _ = ticks.tick() => {
                    if let Err(e) = msg.ack_with(AckKind::Progress).await {
                        tracing::debug!(error = %e, "progress signal failed");
                    }
                }
            }
        }
    }

    /// Acks, terminates or signals progress; waits for the server's confirmation of
    /// acks and terminations (see the module docs for why).
    async fn settle(&self, msg: &jetstream::Message, kind: AckKind) {
        let r = match kind {
            AckKind::Ack | AckKind::Term => msg.double_ack_with(kind).await,
            _ => msg.ack_with(kind).await,
        };
        if let Err(e) = r {
            // The job will be redelivered after ack_wait; L2 has the tile.
            tracing::warn!(subject = %msg.subject, error = %e, "ack failed");
        }
    }

    async fn publish_result(&self, key: &str, result: Result<Bytes, RenderError>) {
        // Headroom for the key, the envelope and headers.
        let limit = self
            .client
            .server_info()
            .max_payload
            .saturating_sub(8 << 10);
        let message = match result {
            // Too big for NATS: the tile is in L2 already (stored before
            // the ack), so send a reference to it.
            Ok(bytes) if bytes.len() > limit => match &self.l2 {
                Some(_) => JobResult::in_l2(key.to_owned()),
                None => JobResult::new(
                    key.to_owned(),
                    Err(RenderError::Invalid(format!(
                        "the image is {} bytes, more than the farm's {limit}-byte messages carry without L2 (Redis)",
                        bytes.len()
                    ))),
                ),
            },
            other => JobResult::new(key.to_owned(), other),
        };
        let payload = match codec::encode(&message) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(%key, error = %e, "result not encodable");
                return;
            }
        };
        let headers = signing::signed_headers(self.signing_key.as_ref(), &payload);
        if let Err(e) = self
            .client
            .publish_with_headers(subjects::result_subject(key), headers, payload.into())
            .await
        {
            tracing::warn!(%key, error = %e, "result not published");
        }
    }
}
