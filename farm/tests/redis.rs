//! The Redis L2 store against a real redis-server.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Server;
use farm::RedisTileStore;
use protocol::{TileSink, TileStore};

/// Each store operation's timeout.
const TIMEOUT: Duration = Duration::from_millis(150);
/// "Fails fast": within a few timeouts, where a store without one would
/// hang for the OS's connect timeout (a behaviour bound, generous for a
/// loaded machine, not a performance goal).
const FAST: Duration = Duration::from_millis(1500);

fn store(redis: &Server) -> RedisTileStore {
    RedisTileStore::new(&[redis.redis_url()], Duration::from_secs(60), TIMEOUT).expect("store")
}

#[tokio::test]
async fn tiles_round_trip_with_a_ttl() {
    let redis = Server::redis();
    let s = store(&redis);
    assert_eq!(s.get("wx:none").await, Ok(None));
    let tile = Bytes::from(vec![0u8, 1, 2, 255, 128]);
    s.put("wx:k", tile.clone()).await;
    assert_eq!(s.get("wx:k").await, Ok(Some(tile)));

    let client = redis::Client::open(redis.redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("wx:k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn an_outage_fails_fast_and_the_store_recovers_by_itself() {
    let mut redis = Server::redis();
    let s = store(&redis);
    s.put("wx:a", Bytes::from_static(b"a")).await;
    assert!(s.get("wx:a").await.unwrap().is_some());

    redis.stop();
    for _ in 0..3 {
        let t = Instant::now();
        assert!(s.get("wx:a").await.is_err());
        assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
        let t = Instant::now();
        s.put("wx:b", Bytes::from_static(b"b")).await;
        assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
    }

    redis.restart(); // empty: no persistence
    let until = Instant::now() + Duration::from_secs(10);
    while s.get("wx:a").await.is_err() {
        assert!(Instant::now() < until, "store did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.put("wx:c", Bytes::from_static(b"c")).await;
    assert_eq!(s.get("wx:c").await, Ok(Some(Bytes::from_static(b"c"))));
}

#[tokio::test]
async fn a_store_made_while_redis_is_down_starts_working_when_it_is_up() {
    let mut redis = Server::redis();
    redis.stop();
    let s = store(&redis);
    let t = Instant::now();
    assert!(s.get("wx:a").await.is_err());
    assert!(t.elapsed() < FAST);
    redis.restart();
    let until = Instant::now() + Duration::from_secs(10);
    while s.get("wx:a").await.is_err() {
        assert!(Instant::now() < until, "store did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_worker_stores_tiles_in_l2_and_reuses_them() {
    let nats = Server::nats();
    let redis = Server::redis();
    let cfg = common::config(&nats);
    let l2 = std::sync::Arc::new(store(&redis));
    let q = common::queue(&cfg).await;
    let r = std::sync::Arc::new(common::FakeRenderer::default());
    let w = common::worker(&cfg, r.clone(), Some(l2.clone()), 1).await;

    let j = common::job("gfs_TMP_2m", 1, 1, 0, protocol::Priority::Interactive);
    let key = j.key.cache_key();
    use protocol::RenderQueue;
    assert_eq!(q.render(j.clone()).await.unwrap(), common::tile_for(&j));
    assert_eq!(l2.get(&key).await, Ok(Some(common::tile_for(&j))));
    // Asked again through the queue (a gateway without L2 access, or a
    // warm job): answered from L2, not rendered again.
    assert_eq!(q.render(j.clone()).await.unwrap(), common::tile_for(&j));
    assert_eq!(r.calls(), 1);
    assert_eq!(
        w.stats.l2_hits.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
