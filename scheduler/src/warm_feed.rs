//! Warm jobs into the queue at the pace the budget and the queue allow.
//! Jobs go straight in while both accept them; the rest wait in a
//! background task (bounded) instead of being dropped, so a burst of new
//! fields neither floods the workers nor loses its warming.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use protocol::warm_budget::{Admission, WarmBudget};
use protocol::{RenderJob, RenderQueue, WarmObserver, WarmSource};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Jobs waiting in background tasks, at most; beyond, new ones are dropped.
pub(crate) const MAX_BACKLOG: usize = 200_000;
/// How long one job may wait for the budget or a queue slot.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Feeds planned warm jobs into a queue.
#[derive(Clone)]
pub(crate) struct WarmFeed {
    pub queue: Arc<dyn RenderQueue>,
    pub budget: Option<Arc<WarmBudget>>,
    pub observer: Option<Arc<dyn WarmObserver>>,
    backlog: Arc<AtomicUsize>,
}

enum Step {
    Queued,
    /// Not now: the budget or the queue said wait.
    Wait,
}

impl WarmFeed {
    pub fn new(queue: Arc<dyn RenderQueue>) -> Self {
        Self {
            queue,
            budget: None,
            observer: None,
            backlog: Arc::default(),
        }
    }

    /// Queues `jobs` now as far as allowed, the rest in the background;
    /// returns how many were queued now.
    pub fn feed(&self, jobs: Vec<(RenderJob, WarmSource)>) -> usize {
        // Each warm job is its own trace, linked to what caused it (the
        // ingest span current here): one ingest may warm thousands.
        let cause = tracing::Span::current()
            .context()
            .span()
            .span_context()
            .clone();
        let mut jobs = jobs.into_iter();
        let mut queued = 0;
        while let Some((job, source)) = jobs.next() {
            let admission = self.admit(source);
            if admission == Admission::Queue
                && matches!(self.try_queue(&job, source, &cause), Step::Queued)
            {
                queued += 1;
                continue;
            }
            let rest: Vec<_> = std::iter::once((job, source)).chain(jobs).collect();
            self.wait_in_background(rest, cause);
            break;
        }
        queued
    }

    fn admit(&self, source: WarmSource) -> Admission {
        let admission = self
            .budget
            .as_ref()
            .map_or(Admission::Queue, |b| b.admit_behind(self.queue.as_ref()));
        if admission != Admission::Queue {
            count(source, admission.as_str());
        }
        admission
    }

    fn try_queue(&self, job: &RenderJob, source: WarmSource, cause: &SpanContext) -> Step {
        let k = &job.key;
        let span = tracing::info_span!(
            parent: None,
            "warm job",
            source = source.as_str(),
            layer = %k.layer,
            style = %k.style,
            tms = k.tms.as_str(),
            z = k.z,
            x = k.x,
            y = k.y,
        );
        if cause.is_valid() {
            span.add_link(cause.clone());
        }
        if !span.in_scope(|| self.queue.enqueue(job.clone())) {
            return Step::Wait;
        }
        metrics::counter!("wxfarm_warm_jobs_total", "source" => source.as_str()).increment(1);
        count(source, Admission::Queue.as_str());
        if let Some(observer) = &self.observer {
            observer.queued(&job.key, source);
        }
        Step::Queued
    }

    fn wait_in_background(&self, jobs: Vec<(RenderJob, WarmSource)>, cause: SpanContext) {
        let n = jobs.len();
        if self.backlog.fetch_add(n, Ordering::Relaxed) + n > MAX_BACKLOG {
            self.backlog.fetch_sub(n, Ordering::Relaxed);
            tracing::warn!(jobs = n, "warm backlog full: these warm jobs are dropped");
            for (_, source) in &jobs {
                count(*source, "dropped");
            }
            return;
        }
        tracing::debug!(jobs = n, "warming waits for the budget or the queue");
        let feed = self.clone();
        tokio::spawn(async move {
            for (job, source) in jobs {
                feed.queue_when_allowed(&job, source, &cause).await;
                feed.backlog.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }

    async fn queue_when_allowed(&self, job: &RenderJob, source: WarmSource, cause: &SpanContext) {
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let admission = self
                .budget
                .as_ref()
                .map_or(Admission::Queue, |b| b.admit_behind(self.queue.as_ref()));
            let pause = match admission {
                Admission::Queue => match self.try_queue(job, source, cause) {
                    Step::Queued => return,
                    Step::Wait => Duration::from_millis(50),
                },
                Admission::OverBudget => Duration::from_millis(10),
                Admission::Paused => Duration::from_millis(200),
                Admission::UsersWaiting => Duration::from_millis(20),
            };
            if tokio::time::Instant::now() + pause > deadline {
                tracing::warn!(tile = %job.key.cache_key(), "warm job waited too long: dropped");
                count(source, "dropped");
                return;
            }
            tokio::time::sleep(pause).await;
        }
    }
}

fn count(source: WarmSource, decision: &'static str) {
    metrics::counter!("wxfarm_warm_decisions_total", "source" => source.as_str(), "decision" => decision)
        .increment(1);
}
