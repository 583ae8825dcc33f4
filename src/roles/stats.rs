//! Prometheus series for the farm's own counters and the job queue's
//! depth. The counters live as atomics in `farm` (tests read them); a
//! once-a-second task publishes them, so every labelled series exists from
//! start-up (at zero) and `rate()` sees the first event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use protocol::Priority;

const PERIOD: Duration = Duration::from_secs(1);

/// Runs `f` every `period` in the background, for the process's life.
fn every(period: Duration, mut f: impl FnMut() + Send + 'static) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            f();
        }
    });
}

/// Help text of `wxfarm_queue_depth` (`serve` and the farm export it alike).
const QUEUE_DEPTH_HELP: &str = "Render jobs waiting, by priority (JetStream consumer num_pending; the embedded queue's channel in serve).";

fn publish(name: &'static str, label: &'static str, series: &[(&'static str, &AtomicU64)]) {
    for (value, counter) in series {
        metrics::counter!(name, label => *value).absolute(counter.load(Ordering::Relaxed));
    }
}

/// Publishes a gateway's queue counters as
/// `wxfarm_gateway_queue_events_total{event}`.
pub fn spawn_gateway_queue_stats(queue: farm::JetStreamQueue) {
    metrics::describe_counter!(
        "wxfarm_gateway_queue_events_total",
        "What happened to this gateway's render jobs: published, duplicate (of a pending job), republished, overloaded (refused), timed_out, enqueue_dropped, forged_result."
    );
    every(PERIOD, move || {
        let s = queue.stats();
        publish(
            "wxfarm_gateway_queue_events_total",
            "event",
            &[
                ("published", &s.published),
                ("duplicate", &s.duplicates),
                ("republished", &s.republished),
                ("overloaded", &s.overloaded),
                ("timed_out", &s.timed_out),
                ("enqueue_dropped", &s.enqueue_dropped),
                ("forged_result", &s.forged),
            ],
        );
    });
}

/// Publishes a worker's job counters as `wxfarm_worker_jobs_total{outcome}`.
pub fn spawn_worker_stats(stats: Arc<farm::WorkerStats>) {
    metrics::describe_counter!(
        "wxfarm_worker_jobs_total",
        "Jobs this worker handled, by outcome: rendered, failed (an attempt), retried, terminated, l2_hit, bad_job, forged, cancelled."
    );
    every(PERIOD, move || {
        publish(
            "wxfarm_worker_jobs_total",
            "outcome",
            &[
                ("rendered", &stats.rendered),
                ("failed", &stats.failed),
                ("retried", &stats.retried),
                ("terminated", &stats.terminated),
                ("l2_hit", &stats.l2_hits),
                ("bad_job", &stats.bad_jobs),
                ("forged", &stats.forged),
                ("cancelled", &stats.cancelled),
            ],
        );
    });
}

/// Publishes the job stream's depth per priority from JetStream consumer
/// info: `wxfarm_queue_depth{priority}` (waiting) and
/// `wxfarm_queue_in_flight{priority}` (delivered, not yet acknowledged).
/// Run by the scheduler, one per farm, so the dashboard sees the queue
/// without asking NATS itself.
pub fn spawn_queue_depth(js: jetstream::Context) {
    metrics::describe_gauge!("wxfarm_queue_depth", QUEUE_DEPTH_HELP);
    metrics::describe_gauge!(
        "wxfarm_queue_in_flight",
        "Render jobs delivered to a worker and not yet acknowledged, by priority."
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD * 5);
        loop {
            tick.tick().await;
            let Ok(stream) = js.get_stream(farm::subjects::JOB_STREAM).await else {
                continue; // NATS away: the gauges keep their last values
            };
            let Ok(consumers) = farm::topology::consumers(&stream).await else {
                continue;
            };
            for (priority, mut consumer) in Priority::ALL.into_iter().zip(consumers) {
                if let Ok(info) = consumer.info().await {
                    metrics::gauge!("wxfarm_queue_depth", "priority" => priority.as_str())
                        .set(info.num_pending as f64);
                    metrics::gauge!("wxfarm_queue_in_flight", "priority" => priority.as_str())
                        .set(info.num_ack_pending as f64);
                }
            }
        }
    });
}

/// Publishes the embedded queue's depth per priority (`serve`).
pub fn spawn_local_queue_depth(queue: Arc<worker::local_queue::LocalQueue>) {
    metrics::describe_gauge!("wxfarm_queue_depth", QUEUE_DEPTH_HELP);
    every(PERIOD, move || {
        for (priority, depth) in Priority::ALL.into_iter().zip(queue.depths()) {
            metrics::gauge!("wxfarm_queue_depth", "priority" => priority.as_str())
                .set(depth as f64);
        }
    });
}

/// Publishes what this process did with the Redis tile store (L2) as
/// `wxfarm_l2_operations_total{op}`.
pub fn spawn_store_stats(store: Arc<farm::RedisTileStore>) {
    metrics::describe_counter!(
        "wxfarm_l2_operations_total",
        "This process's Redis (L2) operations: hit, miss, put, error (Redis unreachable or failing)."
    );
    every(PERIOD, move || {
        let s = store.stats();
        publish(
            "wxfarm_l2_operations_total",
            "op",
            &[
                ("hit", &s.hits),
                ("miss", &s.misses),
                ("put", &s.puts),
                ("error", &s.errors),
            ],
        );
    });
}

/// Publishes the sizes of this process's caches: L1 tiles
/// (`wxfarm_l1_tiles`, `wxfarm_l1_bytes`) and decoded grids
/// (`wxfarm_grid_cache_grids`, `wxfarm_grid_cache_bytes`, and lookups as
/// `wxfarm_grid_cache_lookups_total{result="hit"|"miss"}`).
pub fn spawn_cache_stats(l1: Option<gateway::TileCache>, grids: Option<worker::GridSource>) {
    metrics::describe_gauge!(
        "wxfarm_l1_tiles",
        "Tiles held in this gateway's in-process cache (L1)."
    );
    metrics::describe_gauge!("wxfarm_l1_bytes", "Bytes held in L1 (tiles and keys).");
    metrics::describe_gauge!("wxfarm_grid_cache_grids", "Decoded grids held in memory.");
    metrics::describe_gauge!(
        "wxfarm_grid_cache_bytes",
        "Bytes of decoded grids held in memory."
    );
    metrics::describe_counter!(
        "wxfarm_grid_cache_lookups_total",
        "Grid lookups by renders, by result: hit (decoded already) or miss (fetched and decoded)."
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        loop {
            tick.tick().await;
            // The caches count lazily: settle them first.
            if let Some(l1) = &l1 {
                let (tiles, bytes) = l1.usage().await;
                metrics::gauge!("wxfarm_l1_tiles").set(tiles as f64);
                metrics::gauge!("wxfarm_l1_bytes").set(bytes as f64);
            }
            if let Some(grids) = &grids {
                let (held, bytes) = grids.settled_usage().await;
                let (lookups, misses) = grids.lookups();
                metrics::gauge!("wxfarm_grid_cache_grids").set(held as f64);
                metrics::gauge!("wxfarm_grid_cache_bytes").set(bytes as f64);
                metrics::counter!("wxfarm_grid_cache_lookups_total", "result" => "hit")
                    .absolute(lookups.saturating_sub(misses));
                metrics::counter!("wxfarm_grid_cache_lookups_total", "result" => "miss")
                    .absolute(misses);
            }
        }
    });
}
