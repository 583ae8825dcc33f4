//! The in-process queue: priority order, bounds, sink, errors.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{
    ImageFormat, Priority, RenderError, RenderJob, RenderQueue, Renderer, StyleSpec, TileKey,
    TileMatrixSetId, TileSink,
};
use tokio::sync::Semaphore;
use worker::local_queue::LocalQueue;

/// Renders nothing until `gate` gives a permit; records the order of jobs.
struct Gated {
    gate: Arc<Semaphore>,
    order: Mutex<Vec<u32>>,
}

#[async_trait]
impl Renderer for Gated {
    async fn render(&self, job: &RenderJob, _: &protocol::Cancel) -> Result<Bytes, RenderError> {
        self.gate
            .acquire()
            .await
            .map_err(|e| RenderError::Internal(e.to_string()))?
            .forget();
        self.order
            .lock()
            .map_err(|e| RenderError::Internal(e.to_string()))?
            .push(job.key.x);
        if job.key.x == 999 {
            return Err(RenderError::Data("corrupt".into()));
        }
        Ok(Bytes::from(job.key.x.to_string()))
    }
}

#[derive(Default)]
struct Sink(Mutex<Vec<String>>);

#[async_trait]
impl TileSink for Sink {
    async fn put(&self, key: &str, _bytes: Bytes) {
        self.0.lock().expect("sink lock").push(key.to_owned());
    }
}

fn job(x: u32, priority: Priority) -> RenderJob {
    let run = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let key = TileKey {
        layer: "l".into(),
        style: "gradient".into(),
        style_params: String::new(),
        tms: TileMatrixSetId::WebMercatorQuad,
        z: 10,
        x,
        y: 0,
        tile_size: 256,
        run,
        valid: run,
        elevation: None,
        format: ImageFormat::Png,
    };
    let style = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Generic,
        (0.0, 1.0),
        Units::Other,
        Units::Other,
    );
    RenderJob::new(key, vec![], style, priority)
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn interactive_jobs_overtake_queued_warming() {
    let gate = Arc::new(Semaphore::new(0));
    let renderer = Arc::new(Gated {
        gate: gate.clone(),
        order: Mutex::new(vec![]),
    });
    let sink = Arc::new(Sink::default());
    let queue = Arc::new(LocalQueue::start(
        renderer.clone(),
        Some(sink.clone()),
        1,
        16,
    ));
    // The first warm job occupies the only slot; three more wait.
    for x in 1..=4 {
        assert!(queue.enqueue(job(x, Priority::Warm)));
    }
    settle().await;
    let q = queue.clone();
    let interactive = tokio::spawn(async move { q.render(job(100, Priority::Interactive)).await });
    settle().await;
    gate.add_permits(5);
    let bytes = interactive.await.expect("join").expect("render");
    assert_eq!(&bytes[..], b"100");
    while renderer.order.lock().unwrap().len() < 5 {
        settle().await;
    }
    assert_eq!(*renderer.order.lock().unwrap(), vec![1, 100, 2, 3, 4]);
    settle().await;
    assert_eq!(
        sink.0.lock().unwrap().len(),
        5,
        "every result reaches the sink"
    );
}

#[tokio::test]
async fn a_full_queue_rejects_instead_of_growing() {
    let gate = Arc::new(Semaphore::new(0));
    let renderer = Arc::new(Gated {
        gate: gate.clone(),
        order: Mutex::new(vec![]),
    });
    let queue = LocalQueue::start(renderer, None, 1, 2);
    assert!(queue.enqueue(job(1, Priority::Prefetch)));
    settle().await; // job 1 is now rendering, holding the slot
    assert!(queue.enqueue(job(2, Priority::Prefetch)));
    assert!(queue.enqueue(job(3, Priority::Prefetch)));
    assert!(
        !queue.enqueue(job(4, Priority::Prefetch)),
        "capacity 2 is full"
    );
    assert_eq!(queue.depths(), [0, 2, 0]);
    let err = queue.render(job(5, Priority::Prefetch)).await.unwrap_err();
    assert!(matches!(err, RenderError::Overloaded(_)));
}

#[tokio::test]
async fn render_errors_reach_the_waiter() {
    let gate = Arc::new(Semaphore::new(10));
    let renderer = Arc::new(Gated {
        gate,
        order: Mutex::new(vec![]),
    });
    let queue = LocalQueue::start(renderer, None, 2, 4);
    let err = queue
        .render(job(999, Priority::Interactive))
        .await
        .unwrap_err();
    assert_eq!(err, RenderError::Data("corrupt".into()));
    assert_eq!(
        &queue.render(job(7, Priority::Interactive)).await.unwrap()[..],
        b"7"
    );
}

#[tokio::test]
async fn a_request_abandoned_while_queued_is_not_rendered() {
    let gate = Arc::new(Semaphore::new(0));
    let renderer = Arc::new(Gated {
        gate: gate.clone(),
        order: Mutex::new(vec![]),
    });
    let queue = Arc::new(LocalQueue::start(renderer.clone(), None, 1, 16));
    // Job 1 holds the only slot; job 2's requester gives up while queued.
    let q = queue.clone();
    let first = tokio::spawn(async move { q.render(job(1, Priority::Interactive)).await });
    settle().await;
    let q = queue.clone();
    let gave_up = tokio::spawn(async move { q.render(job(2, Priority::Interactive)).await });
    settle().await;
    gave_up.abort();
    let _ = gave_up.await;
    let q = queue.clone();
    let third = tokio::spawn(async move { q.render(job(3, Priority::Interactive)).await });
    settle().await;
    gate.add_permits(3);
    assert_eq!(&first.await.expect("join").expect("render")[..], b"1");
    assert_eq!(&third.await.expect("join").expect("render")[..], b"3");
    assert_eq!(
        *renderer.order.lock().unwrap(),
        vec![1, 3],
        "job 2 was never drawn"
    );
    assert_eq!(
        queue
            .stats()
            .abandoned
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Works in 10 ms stages for up to 10 s, stopping at a stage boundary once
/// cancelled, as the real renderer does.
struct Staged {
    stages: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl Renderer for Staged {
    async fn render(&self, _: &RenderJob, cancel: &protocol::Cancel) -> Result<Bytes, RenderError> {
        for _ in 0..1000 {
            cancel.check()?;
            self.stages
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(Bytes::from_static(b"done"))
    }
}

#[tokio::test]
async fn a_running_render_stops_once_its_waiter_has_gone() {
    use std::sync::atomic::Ordering::SeqCst;
    let renderer = Arc::new(Staged {
        stages: Default::default(),
    });
    let queue = LocalQueue::start(renderer.clone(), None, 1, 4);
    // The request gives up after 100 ms, as the gateway does at its deadline.
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        queue.render(job(1, Priority::Interactive)),
    )
    .await;
    assert!(gave_up.is_err(), "the render takes 10 s uncancelled");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while queue.stats().cancelled.load(SeqCst) == 0 && std::time::Instant::now() < deadline {
        settle().await;
    }
    assert_eq!(queue.stats().cancelled.load(SeqCst), 1);
    let stages = renderer.stages.load(SeqCst);
    settle().await;
    assert_eq!(
        renderer.stages.load(SeqCst),
        stages,
        "no stage after the cancel"
    );
    assert!(stages < 100, "stopped early: {stages} of 1000 stages");
    // The slot is free again: the next request starts rendering.
    let q = Arc::new(queue);
    let next = tokio::spawn({
        let q = q.clone();
        async move { q.render(job(2, Priority::Interactive)).await }
    });
    while renderer.stages.load(SeqCst) == stages && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        renderer.stages.load(SeqCst) > stages,
        "the next job started"
    );
    next.abort();
}
