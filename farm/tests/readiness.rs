//! A gateway is ready only while some worker pulls jobs: with none, its
//! misses would wait for a render nobody does.

mod common;

use std::time::Duration;

use common::*;
use protocol::RenderQueue;

#[tokio::test]
async fn ready_only_while_a_worker_pulls_jobs() {
    let nats = Server::nats();
    let config = config(&nats);
    let gateway = queue(&config).await;
    let err = gateway.ready().expect_err("no worker yet");
    assert!(err.contains("no worker"), "{err}");

    let worker = worker(
        &config,
        std::sync::Arc::new(FakeRenderer::default()),
        None,
        1,
    )
    .await;
    assert!(
        eventually(Duration::from_secs(10), || gateway.ready().is_ok()).await,
        "ready once a worker polls"
    );
    worker.task.abort();
    assert!(
        eventually(Duration::from_secs(30), || gateway.ready().is_err()).await,
        "not ready once the last worker is gone"
    );
}
