//! Results larger than a NATS message travel through L2 by reference.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use protocol::{Priority, RenderError, RenderJob, RenderQueue, Renderer, TileStore};

/// Renders 100 KB "images" (the test server's messages carry 32 KB).
struct BigRenderer;

const BIG: usize = 100 << 10;

fn big_tile(job: &RenderJob) -> Bytes {
    let seed = job.key.cache_key().len() as u8;
    Bytes::from(
        (0..BIG)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect::<Vec<u8>>(),
    )
}

#[async_trait]
impl Renderer for BigRenderer {
    async fn render(&self, job: &RenderJob, _: &protocol::Cancel) -> Result<Bytes, RenderError> {
        Ok(big_tile(job))
    }
}

fn l2(redis: &Server) -> Arc<dyn TileStore> {
    Arc::new(
        farm::RedisTileStore::new(
            &[redis.redis_url()],
            Duration::from_secs(60),
            Duration::from_secs(2),
        )
        .expect("store"),
    )
}

#[tokio::test]
async fn an_image_over_the_message_limit_arrives_through_l2() {
    let nats = Server::nats_with_config("max_payload: 32768\n");
    let redis = Server::redis();
    let config = config(&nats);
    let _worker = worker(&config, Arc::new(BigRenderer), Some(l2(&redis)), 1).await;
    let gateway = queue(&config).await.with_l2(Some(l2(&redis)));
    let job = job("gfs_TMP_2m", 3, 1, 2, Priority::Interactive);
    let tile = gateway.render(job.clone()).await.expect("the big tile");
    assert_eq!(tile.len(), BIG);
    assert_eq!(tile, big_tile(&job));
}

#[tokio::test]
async fn without_l2_an_oversized_image_is_a_clear_error_not_a_timeout() {
    let nats = Server::nats_with_config("max_payload: 32768\n");
    let config = config(&nats);
    let _worker = worker(&config, Arc::new(BigRenderer), None, 1).await;
    let gateway = queue(&config).await;
    let err = gateway
        .render(job("gfs_TMP_2m", 3, 1, 2, Priority::Interactive))
        .await
        .expect_err("too large without L2");
    assert!(
        matches!(&err, RenderError::Invalid(m) if m.contains("more than the farm's")),
        "{err}"
    );
}
