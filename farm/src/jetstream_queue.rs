//! [`JetStreamQueue`]: the gateway's [`RenderQueue`] over NATS JetStream.
//!
//! A request for a key that is not already in flight in this gateway starts
//! one *flight*: subscribe to the key's result subject, publish the job
//! (`Nats-Msg-Id` = priority + key, so JetStream drops the same job from
//! other gateways), then wait for the result until the deadline. Later
//! requests for the same key join the flight's waiters. Flights run as
//! their own tasks, so a client that hangs up does not cancel the
//! subscription other waiters depend on.
//!
//! Duplicates: JetStream remembers message ids for the whole duplicate
//! window, even after the job was rendered and removed. A publish that
//! comes back `duplicate` therefore checks whether the original job is
//! still in the stream; if it is gone, its result was already published
//! (workers ack before they publish the result), so the job is published
//! again under a fresh id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use protocol::{RenderError, RenderJob, RenderQueue, TileStore, codec};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

use crate::wire::JobResult;
use crate::{FarmConfig, FarmError, signing, subjects, topology};

type Reply = oneshot::Sender<Result<Bytes, RenderError>>;

/// Counters of what the queue did, for metrics and tests.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Jobs accepted by JetStream as new.
    pub published: AtomicU64,
    /// Publishes JetStream dropped as duplicates of a pending job.
    pub duplicates: AtomicU64,
    /// Duplicates of an already finished job, published again.
    pub republished: AtomicU64,
    /// Requests refused with `Overloaded` (too many waiters, NATS down,
    /// stream full).
    pub overloaded: AtomicU64,
    /// Requests that got no result before the deadline.
    pub timed_out: AtomicU64,
    /// Fire-and-forget jobs dropped or refused.
    pub enqueue_dropped: AtomicU64,
    /// Results dropped for a missing or wrong signature.
    pub forged: AtomicU64,
}

#[derive(Default)]
struct Waiters {
    by_key: HashMap<String, Vec<Reply>>,
    count: usize,
}

struct Inner {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: stream::Stream,
    config: FarmConfig,
    waiters: Mutex<Waiters>,
    enqueue_slots: Arc<Semaphore>,
    runtime: tokio::runtime::Handle,
    stats: QueueStats,
    /// Where workers leave results too large for a NATS message.
    l2: std::sync::OnceLock<Arc<dyn TileStore>>,
    /// When a worker was last seen pulling or holding interactive jobs.
    worker_seen: Mutex<Option<Instant>>,
    /// Starts the worker watch once, on the first readiness check.
    watching: std::sync::Once,
}

/// How often the queue looks for live workers, and how long one counts as
/// live after it was last seen.
const WORKER_CHECK: Duration = Duration::from_secs(1);
const WORKER_GRACE: Duration = Duration::from_secs(10);

/// [`RenderQueue`] backed by the `WXFARM_JOBS` stream. Cheap to clone.
#[derive(Clone)]
pub struct JetStreamQueue {
    inner: Arc<Inner>,
}

impl JetStreamQueue {
    /// Creates the stream and consumers if needed and returns the queue.
    /// Must be called inside a Tokio runtime (fire-and-forget publishes are
    /// spawned on it).
    pub async fn new(client: async_nats::Client, config: FarmConfig) -> Result<Self, FarmError> {
        let js = topology::jetstream(client.clone(), config.publish_timeout);
        let stream = topology::ensure_topology(&js, &config).await?;
        let queue = Self {
            inner: Arc::new(Inner {
                client,
                js,
                stream,
                enqueue_slots: Arc::new(Semaphore::new(config.max_enqueue_inflight.max(1))),
                config,
                waiters: Mutex::new(Waiters::default()),
                runtime: tokio::runtime::Handle::current(),
                stats: QueueStats::default(),
                l2: std::sync::OnceLock::new(),
                worker_seen: Mutex::new(None),
                watching: std::sync::Once::new(),
            }),
        };
        Ok(queue)
    }

    /// Keeps [`Inner::worker_seen`] current from the interactive consumer's
    /// state: a worker is live while it waits on the consumer (long poll)
    /// or holds unacknowledged jobs. (A signed result also counts, see
    /// `fly`.) Started by the first readiness check, so only gateways
    /// (whose `/readyz` asks) poll; the task ends with the queue.
    fn watch_workers(inner: &Arc<Inner>) {
        let weak = Arc::downgrade(inner);
        let consumer = subjects::consumer_name(protocol::Priority::Interactive);
        inner.runtime.spawn(async move {
            let mut tick = tokio::time::interval(WORKER_CHECK);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let info = inner
                    .stream
                    .get_consumer::<async_nats::jetstream::consumer::pull::Config>(&consumer)
                    .await
                    .map(|c| c.cached_info().clone());
                if let Ok(info) = info
                    && (info.num_waiting > 0 || info.num_ack_pending > 0)
                {
                    *inner.worker_seen.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Instant::now());
                }
            }
        });
    }

    /// Reads results that workers left in `l2` (images larger than a NATS
    /// message). Set once; later calls change nothing.
    pub fn with_l2(self, l2: Option<Arc<dyn TileStore>>) -> Self {
        if let Some(l2) = l2 {
            let _ = self.inner.l2.set(l2);
        }
        self
    }

    /// What the queue did so far.
    pub fn stats(&self) -> &QueueStats {
        &self.inner.stats
    }

    /// Requests currently waiting for a result.
    pub fn waiting(&self) -> usize {
        self.inner.lock().count
    }
}

#[async_trait]
impl RenderQueue for JetStreamQueue {
    async fn sample(
        &self,
        fields: Vec<protocol::FieldRef>,
        lon: f64,
        lat: f64,
    ) -> Result<Vec<protocol::PointSample>, RenderError> {
        self.inner.check_connected()?;
        crate::point_query::request(
            &self.inner.client,
            self.inner.config.signing_key.as_ref(),
            fields,
            lon,
            lat,
            self.inner.config.render_deadline,
        )
        .await
    }

    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError> {
        let inner = &self.inner;
        if let Err(e) = inner.check_connected() {
            inner.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        let key = job.key.cache_key();
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut w = inner.lock();
            if w.count >= inner.config.max_waiters {
                drop(w);
                inner.stats.overloaded.fetch_add(1, Ordering::Relaxed);
                return Err(RenderError::Overloaded(
                    "too many requests waiting for renders".into(),
                ));
            }
            w.count += 1;
            let list = w.by_key.entry(key.clone()).or_default();
            list.push(tx);
            list.len() == 1
        };
        if first {
            let inner = self.inner.clone();
            // The flight carries the first requester's span, so the job's
            // trace context is that request's.
            self.inner.runtime.spawn(
                async move {
                    let result = inner.fly(&job, &key).await;
                    inner.dispatch(&key, result);
                }
                .in_current_span(),
            );
        }
        // The flight answers by its deadline; the slack only guards against
        // a flight task that died.
        let slack = Duration::from_millis(500);
        match tokio::time::timeout(inner.config.render_deadline + slack, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(RenderError::Internal(
                "render flight ended without a result".into(),
            )),
            Err(_) => Err(RenderError::Timeout(
                inner.config.render_deadline.as_millis() as u64,
            )),
        }
    }

    fn ready(&self) -> Result<(), String> {
        let inner = &self.inner;
        inner
            .watching
            .call_once(|| JetStreamQueue::watch_workers(inner));
        self.inner.check_connected().map_err(|e| e.to_string())?;
        let seen = *self
            .inner
            .worker_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match seen {
            Some(t) if t.elapsed() <= WORKER_GRACE => Ok(()),
            _ => Err(format!(
                "no worker has pulled jobs in the last {} s",
                WORKER_GRACE.as_secs()
            )),
        }
    }

    fn enqueue(&self, job: RenderJob) -> bool {
        let inner = &self.inner;
        let permit = match inner.check_connected() {
            Ok(()) => inner.enqueue_slots.clone().try_acquire_owned().ok(),
            Err(_) => None,
        };
        let Some(permit) = permit else {
            inner.stats.enqueue_dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let inner = self.inner.clone();
        // The job carries the caller's trace (a request's prefetch, a warm
        // job linked to its ingest).
        self.inner.runtime.spawn(
            async move {
                let _permit = permit;
                let key = job.key.cache_key();
                let id = subjects::msg_id(job.priority, &key);
                if let Err(e) = inner.publish(&job, &key, &id).await {
                    inner.stats.enqueue_dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%key, error = %e, "job not queued");
                }
            }
            .in_current_span(),
        );
        true
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        // The map stays consistent even if a holder panicked: every update
        // is a single insert or remove.
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_connected(&self) -> Result<(), RenderError> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            _ => Err(RenderError::Overloaded(
                "render farm unreachable (NATS disconnected)".into(),
            )),
        }
    }

    /// Subscribes, publishes and waits for `key`'s result.
    async fn fly(&self, job: &RenderJob, key: &str) -> Result<Bytes, RenderError> {
        let deadline = Instant::now() + self.config.render_deadline;
        let overloaded = |e: &dyn std::fmt::Display| {
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            RenderError::Overloaded(format!("render farm unavailable: {e}"))
        };
        // Subscribe before publishing: the server handles one connection's
        // messages in order, so the result cannot slip past us.
        let mut results = self
            .client
            .subscribe(subjects::result_subject(key))
            .await
            .map_err(|e| overloaded(&e))?;
        let id = subjects::msg_id(job.priority, key);
        let ack = self
            .publish(job, key, &id)
            .await
            .map_err(|e| overloaded(&e))?;
        if ack.duplicate {
            if self.job_pending(ack.sequence).await {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
            } else {
                let fresh = format!("{id}#{}", self.client.new_inbox());
                self.publish(job, key, &fresh)
                    .await
                    .map_err(|e| overloaded(&e))?;
                self.stats.republished.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.stats.published.fetch_add(1, Ordering::Relaxed);
        }
        loop {
            let msg = match tokio::time::timeout_at(deadline, results.next()).await {
                Ok(Some(msg)) => msg,
                Ok(None) => return Err(RenderError::Internal("result subscription closed".into())),
                Err(_) => {
                    self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    return Err(RenderError::Timeout(
                        self.config.render_deadline.as_millis() as u64,
                    ));
                }
            };
            if !signing::accepts(
                self.config.signing_key.as_ref(),
                msg.headers.as_ref(),
                &msg.payload,
            ) {
                self.stats.forged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%key, subject = %msg.subject, "unsigned or forged result dropped");
                continue;
            }
            // A signed result: a worker is alive.
            *self.worker_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            match codec::decode::<JobResult>(&msg.payload) {
                Ok(r) if r.key == key && r.in_l2 => return self.read_l2(key).await,
                Ok(r) if r.key == key => return r.result,
                Ok(_) => {} // another key with the same subject hash
                Err(e) => tracing::warn!(%key, error = %e, "undecodable result ignored"),
            }
        }
    }

    /// A result a worker left in L2 because it was too large for NATS.
    async fn read_l2(&self, key: &str) -> Result<Bytes, RenderError> {
        let l2 = self.l2.get().ok_or_else(|| {
            RenderError::Internal("a worker left the tile in L2, but this gateway has no L2".into())
        })?;
        match l2.get(key).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(RenderError::Internal("the tile left in L2 is gone".into())),
            Err(e) => Err(RenderError::Internal(format!(
                "reading the tile from L2: {e}"
            ))),
        }
    }

    /// Publishes `job` and waits for JetStream's ack, within the publish
    /// timeout.
    async fn publish(
        &self,
        job: &RenderJob,
        key: &str,
        msg_id: &str,
    ) -> Result<jetstream::publish::PublishAck, FarmError> {
        let payload = codec::encode(job)?;
        let mut headers = signing::signed_headers(self.config.signing_key.as_ref(), &payload);
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        headers.insert(subjects::KEY_HEADER, key);
        headers.insert(
            subjects::REPLY_HEADER,
            subjects::result_subject(key).as_str(),
        );
        let subject = subjects::job_subject(job.priority);
        // A PRODUCER span (OpenTelemetry messaging conventions); the worker's
        // CONSUMER span continues it.
        let span = tracing::info_span!(
            "publish job",
            otel.kind = "producer",
            messaging.system = "nats",
            messaging.operation.type = "send",
            messaging.destination.name = %subject,
            messaging.message.id = %msg_id,
        );
        crate::trace_context::inject_from(&span, &mut headers);
        let send = async {
            let ack: PublishAckFuture = self
                .js
                .publish_with_headers(subject, headers, payload.into())
                .await
                .map_err(|e| FarmError::nats("publish job", e))?;
            ack.await.map_err(|e| FarmError::nats("publish job", e))
        };
        tokio::time::timeout(self.config.publish_timeout, send)
            .instrument(span)
            .await
            .map_err(|_| FarmError::Nats("publish job: no ack in time".into()))?
    }

    /// Whether the job stored at `seq` is still waiting or being rendered.
    /// When unsure, says no: a second render is cheaper than a timeout.
    async fn job_pending(&self, seq: u64) -> bool {
        self.stream.get_raw_message(seq).await.is_ok()
    }

    /// Answers every waiter of `key` and forgets the flight.
    fn dispatch(&self, key: &str, result: Result<Bytes, RenderError>) {
        let replies = {
            let mut w = self.lock();
            let replies = w.by_key.remove(key).unwrap_or_default();
            w.count = w.count.saturating_sub(replies.len());
            replies
        };
        for reply in replies {
            let _ = reply.send(result.clone()); // the client may have gone
        }
    }
}
