//! The embedded render queue: bounded, priority-ordered, in-process.
//!
//! One dispatcher takes a render slot *before* taking a job, then takes the
//! highest-priority job waiting. Taking the job first would let a warming
//! job grab the next free slot while an interactive one arrives behind it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use protocol::{
    Cancel, FieldRef, PointSample, Priority, RenderError, RenderJob, RenderQueue, Renderer,
    TileSink,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

type Reply = oneshot::Sender<Result<Bytes, RenderError>>;

struct Envelope {
    job: RenderJob,
    reply: Option<Reply>,
}

/// Counters of what the queue did, for metrics and tests.
#[derive(Debug, Default)]
pub struct QueueStats {
    pub rendered: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    /// Requests whose waiter had gone (timed out, disconnected) before a
    /// slot was free: dropped unrendered.
    pub abandoned: AtomicU64,
    /// Renders stopped part-way because their waiter went.
    pub cancelled: AtomicU64,
}

/// In-process [`RenderQueue`].
pub struct LocalQueue {
    senders: [mpsc::Sender<Envelope>; 3],
    renderer: Arc<dyn Renderer>,
    /// Render slots, shared with point queries (which decode grids too).
    slots: Arc<Semaphore>,
    stats: Arc<QueueStats>,
}

impl LocalQueue {
    /// Starts `slots` concurrent renders fed from per-priority queues of
    /// `capacity` jobs each. Results go to `sink` as well as to waiters.
    pub fn start(
        renderer: Arc<dyn Renderer>,
        sink: Option<Arc<dyn TileSink>>,
        slots: usize,
        capacity: usize,
    ) -> Self {
        let (tx_i, rx_i) = mpsc::channel(capacity);
        let (tx_p, rx_p) = mpsc::channel(capacity);
        let (tx_w, rx_w) = mpsc::channel(capacity);
        let stats = Arc::new(QueueStats::default());
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        let dispatcher = Dispatcher {
            receivers: [rx_i, rx_p, rx_w],
            slots: slots.clone(),
            renderer: renderer.clone(),
            sink,
            stats: stats.clone(),
        };
        tokio::spawn(dispatcher.run());
        Self {
            senders: [tx_i, tx_p, tx_w],
            renderer,
            slots,
            stats,
        }
    }

    pub fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }

    fn sender(&self, p: Priority) -> &mpsc::Sender<Envelope> {
        &self.senders[p as usize]
    }

    /// Jobs waiting per priority (interactive, prefetch, warm).
    pub fn depths(&self) -> [usize; 3] {
        self.senders
            .each_ref()
            .map(|s| s.max_capacity() - s.capacity())
    }
}

#[async_trait]
impl RenderQueue for LocalQueue {
    async fn render(&self, job: RenderJob) -> Result<Bytes, RenderError> {
        let (tx, rx) = oneshot::channel();
        let sender = self.sender(job.priority);
        if sender
            .try_send(Envelope {
                job,
                reply: Some(tx),
            })
            .is_err()
        {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("wxfarm_queue_rejected_total").increment(1);
            return Err(RenderError::Overloaded("render queue full".into()));
        }
        rx.await
            .map_err(|_| RenderError::Internal("render task ended without a result".into()))?
    }

    /// Point reads are cheap once grids are cached: no queueing.
    async fn sample(
        &self,
        fields: Vec<FieldRef>,
        lon: f64,
        lat: f64,
    ) -> Result<Vec<PointSample>, RenderError> {
        // A point query may decode whole grids: it takes a render slot, so
        // many of them at once cannot exceed the renders' memory and CPU.
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| RenderError::Overloaded("the queue is shutting down".into()))?;
        self.renderer.sample(&fields, lon, lat).await
    }

    fn depths(&self) -> Option<[usize; 3]> {
        Some(LocalQueue::depths(self))
    }

    fn enqueue(&self, job: RenderJob) -> bool {
        let ok = self
            .sender(job.priority)
            .try_send(Envelope { job, reply: None })
            .is_ok();
        if !ok {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

struct Dispatcher {
    receivers: [mpsc::Receiver<Envelope>; 3],
    slots: Arc<Semaphore>,
    renderer: Arc<dyn Renderer>,
    sink: Option<Arc<dyn TileSink>>,
    stats: Arc<QueueStats>,
}

impl Dispatcher {
    async fn run(mut self) {
        loop {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let [rx_i, rx_p, rx_w] = &mut self.receivers;
            let envelope = tokio::select! {
                biased;
                Some(e) = rx_i.recv() => e,
                Some(e) = rx_p.recv() => e,
                Some(e) = rx_w.recv() => e,
                else => return, // every sender is gone: the queue was dropped
            };
            // Nobody waits for it any more (the request timed out or the
            // client left): a render now would only delay the next user.
            if envelope.reply.as_ref().is_some_and(|r| r.is_closed()) {
                self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("wxfarm_renders_abandoned_total").increment(1);
                continue;
            }
            let (renderer, sink, stats) =
                (self.renderer.clone(), self.sink.clone(), self.stats.clone());
            tokio::spawn(async move {
                let Envelope { job, mut reply } = envelope;
                let cancel = Cancel::new();
                let render = renderer.render(&job, &cancel);
                tokio::pin!(render);
                // Watch the waiter while rendering: once it has gone, the
                // render stops at its next stage boundary.
                let result = match reply.as_mut() {
                    Some(waiter) => tokio::select! {
                        r = &mut render => r,
                        () = waiter.closed() => {
                            cancel.cancel();
                            render.await
                        }
                    },
                    None => render.await,
                };
                drop(permit);
                match &result {
                    Err(RenderError::Cancelled) => {
                        stats.cancelled.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("wxfarm_renders_cancelled_total").increment(1);
                    }
                    Ok(bytes) => {
                        stats.rendered.fetch_add(1, Ordering::Relaxed);
                        if let Some(sink) = &sink {
                            sink.put(&job.key.cache_key(), bytes.clone()).await;
                        }
                    }
                    Err(e) => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(key = %job.key.cache_key(), error = %e, "render failed");
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result); // the waiter may have timed out
                }
            });
        }
    }
}
