//! The JetStream queue and the worker loop against a real nats-server.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{FakeRenderer, Server, config, job, queue, tile_for, worker};
use protocol::{Priority, RenderError, RenderQueue};

#[tokio::test]
async fn round_trip_and_latency() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    let r = Arc::new(FakeRenderer::default());
    let _w = worker(&cfg, r.clone(), None, 2).await;

    let j = job("gfs_TMP_2m", 3, 4, 2, Priority::Interactive);
    assert_eq!(q.render(j.clone()).await.unwrap(), tile_for(&j));

    let mut times = Vec::new();
    for i in 0..200 {
        let j = job("lat", 10, i, 0, Priority::Interactive);
        let t = Instant::now();
        let bytes = q.render(j.clone()).await.unwrap();
        times.push(t.elapsed());
        assert_eq!(bytes, tile_for(&j));
    }
    times.sort();
    eprintln!(
        "publish->result round trip over 200 requests: p50 {:?}, p90 {:?}, max {:?}",
        times[100], times[180], times[199]
    );
    assert_eq!(r.calls(), 201);
    assert_eq!(q.waiting(), 0);
}

#[tokio::test]
async fn interactive_jobs_are_drained_before_warm_ones() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    for i in 0..10 {
        assert!(q.enqueue(job("warm", 5, i, 0, Priority::Warm)));
    }
    let waiting = {
        let mut tasks = Vec::new();
        for i in 0..3 {
            let q = q.clone();
            tasks.push(tokio::spawn(async move {
                q.render(job("user", 5, i, 0, Priority::Interactive)).await
            }));
        }
        tasks
    };
    let until = Instant::now() + Duration::from_secs(5);
    while common::stream_len(&cfg).await < 13 {
        assert!(Instant::now() < until, "jobs did not reach the stream");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let r = Arc::new(FakeRenderer::default());
    let _w = worker(&cfg, r.clone(), None, 1).await;
    for t in waiting {
        t.await.unwrap().unwrap();
    }
    let order = r.order();
    assert!(
        order[..3].iter().all(|k| k.contains(":user:")),
        "interactive first: {order:?}"
    );
    assert!(common::eventually(Duration::from_secs(5), || r.calls() == 13).await);
}

#[tokio::test]
async fn two_gateways_asking_for_one_key_cause_one_render() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let (q1, q2) = (queue(&cfg).await, queue(&cfg).await);
    let r = FakeRenderer::with_delay(Duration::from_millis(300));
    let _w = worker(&cfg, r.clone(), None, 2).await;

    let j = job("gfs_TMP_2m", 2, 1, 1, Priority::Interactive);
    let (a, b) = tokio::join!(q1.render(j.clone()), q2.render(j.clone()));
    assert_eq!(a.unwrap(), tile_for(&j));
    assert_eq!(b.unwrap(), tile_for(&j));
    assert_eq!(r.calls(), 1);
    let dups = |q: &farm::JetStreamQueue| {
        q.stats()
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(dups(&q1) + dups(&q2), 1);

    // The same key again inside the duplicate window, after the job is
    // gone (no L2 here): published afresh, not left to time out.
    let t = Instant::now();
    assert_eq!(q2.render(j.clone()).await.unwrap(), tile_for(&j));
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(r.calls(), 2);
    assert_eq!(
        q2.stats()
            .republished
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn failing_jobs_are_answered_and_not_redelivered_for_ever() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    let r = Arc::new(FakeRenderer::default());
    let w = worker(&cfg, r.clone(), None, 2).await;

    let t = Instant::now();
    let failing = q.render(job("fail", 1, 0, 0, Priority::Interactive));
    let terminal = q.render(job("bad", 1, 0, 0, Priority::Interactive));
    let good = q.render(job("good", 1, 0, 0, Priority::Interactive));
    let (failing, terminal, good) = tokio::join!(failing, terminal, good);
    assert!(
        matches!(failing, Err(RenderError::Internal(_))),
        "{failing:?}"
    );
    assert!(
        matches!(terminal, Err(RenderError::Data(_))),
        "{terminal:?}"
    );
    assert!(good.is_ok());
    assert!(t.elapsed() < cfg.render_deadline);

    // Past another ack_wait: nothing comes back.
    tokio::time::sleep(cfg.ack_wait + Duration::from_millis(500)).await;
    assert_eq!(r.calls_for("fail"), cfg.max_deliver as usize);
    assert_eq!(r.calls_for("bad"), 1);
    let terminated = w
        .stats
        .terminated
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(terminated, 2);
    assert_eq!(common::stream_len(&cfg).await, 0);

    let j = job("after", 1, 0, 0, Priority::Interactive);
    assert_eq!(q.render(j.clone()).await.unwrap(), tile_for(&j));
}

#[tokio::test]
async fn a_job_of_a_killed_worker_is_redone_by_another() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    let stuck = FakeRenderer::blocking();
    let dying = worker(&cfg, stuck.clone(), None, 1).await;

    let j = job("gfs_TMP_2m", 4, 3, 2, Priority::Interactive);
    let waiter = {
        let (q, j) = (q.clone(), j.clone());
        tokio::spawn(async move { q.render(j).await })
    };
    assert!(common::eventually(Duration::from_secs(5), || stuck.calls() == 1).await);
    drop(dying); // aborts the loop and its render
    let killed = Instant::now();

    let r = Arc::new(FakeRenderer::default());
    let _w = worker(&cfg, r.clone(), None, 1).await;
    assert_eq!(waiter.await.unwrap().unwrap(), tile_for(&j));
    assert_eq!(r.calls(), 1);
    // Redelivered only once the ack wait ran out (it was never acked).
    assert!(
        killed.elapsed() >= cfg.ack_wait / 2,
        "{:?}",
        killed.elapsed()
    );
}

#[tokio::test]
async fn a_render_past_its_deadline_is_cancelled_and_not_retried() {
    let nats = Server::nats();
    let mut cfg = config(&nats);
    cfg.render_deadline = Duration::from_secs(1);
    let q = queue(&cfg).await;
    let stuck = FakeRenderer::blocking();
    let w = worker(&cfg, stuck.clone(), None, 1).await;
    let j = job("gfs_TMP_2m", 4, 3, 2, Priority::Interactive);
    let r = q.render(j).await;
    assert!(matches!(r, Err(RenderError::Timeout(_))), "{r:?}");
    let ordering = std::sync::atomic::Ordering::Relaxed;
    assert!(
        common::eventually(Duration::from_secs(5), || w.stats.cancelled.load(ordering)
            == 1)
        .await
    );
    assert!(
        common::eventually(Duration::from_secs(5), || w.stats.terminated.load(ordering)
            == 1)
        .await
    );
    // Terminated, not retried or redelivered: one render call, empty stream.
    tokio::time::sleep(cfg.ack_wait + Duration::from_millis(500)).await;
    assert_eq!(stuck.calls(), 1);
    assert_eq!(common::stream_len(&cfg).await, 0);
}

#[tokio::test]
async fn a_full_queue_and_too_many_waiters_are_overload() {
    let nats = Server::nats();
    let mut cfg = config(&nats);
    cfg.queue_capacity = 2;
    cfg.render_deadline = Duration::from_secs(3);
    let q = queue(&cfg).await;
    // No worker: jobs stay queued.
    let pending: Vec<_> = (0..2)
        .map(|i| {
            let q = q.clone();
            tokio::spawn(async move { q.render(job("x", 1, i, 0, Priority::Interactive)).await })
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(5);
    while common::stream_len(&cfg).await < 2 {
        assert!(Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Instant::now();
    let full = q.render(job("x", 1, 9, 0, Priority::Interactive)).await;
    assert!(matches!(full, Err(RenderError::Overloaded(_))), "{full:?}");
    assert!(t.elapsed() < Duration::from_secs(1));
    // Warm jobs have their own bound: interactive being full does not
    // refuse them.
    assert!(q.enqueue(job("x", 1, 0, 0, Priority::Warm)));

    let mut cfg2 = config(&nats);
    cfg2.max_waiters = 2;
    let q2 = queue(&cfg2).await;
    let waiting: Vec<_> = (0..2)
        .map(|i| {
            let q = q2.clone();
            tokio::spawn(async move { q.render(job("y", 1, i, 0, Priority::Prefetch)).await })
        })
        .collect();
    assert!(common::eventually(Duration::from_secs(2), || q2.waiting() == 2).await);
    let t = Instant::now();
    let third = q2.render(job("y", 1, 5, 0, Priority::Prefetch)).await;
    assert!(
        matches!(third, Err(RenderError::Overloaded(_))),
        "{third:?}"
    );
    // Refused at once, not after waiting out the render deadline (a
    // behaviour bound, generous for a loaded machine).
    assert!(t.elapsed() < cfg.render_deadline / 3, "{:?}", t.elapsed());

    for p in pending {
        assert!(matches!(p.await.unwrap(), Err(RenderError::Timeout(_))));
    }
    drop(waiting);
}

#[tokio::test]
async fn nats_down_is_overload_and_recovery_needs_no_restart() {
    let mut nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    let r = Arc::new(FakeRenderer::default());
    let _w = worker(&cfg, r.clone(), None, 1).await;
    let j = job("a", 1, 0, 0, Priority::Interactive);
    assert!(q.render(j).await.is_ok());

    nats.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let down = q.render(job("a", 1, 1, 0, Priority::Interactive)).await;
    assert!(matches!(down, Err(RenderError::Overloaded(_))), "{down:?}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(!q.enqueue(job("a", 1, 2, 0, Priority::Warm)));

    nats.restart();
    let until = Instant::now() + Duration::from_secs(10);
    let j = job("a", 1, 3, 0, Priority::Interactive);
    loop {
        match q.render(j.clone()).await {
            Ok(bytes) => {
                assert_eq!(bytes, tile_for(&j));
                break;
            }
            Err(e) => assert!(Instant::now() < until, "no recovery: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
