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

/// A plain client connection to `redis`, for looking behind the store.
async fn connect(redis: &Server) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.redis_url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

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

    let mut conn = connect(&redis).await;
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

/// Several `--redis` URLs are a Redis Cluster's seeds: a three-node
/// cluster (real redis-servers, slots assigned by `redis-cli --cluster
/// create`) reached through two of them stores and returns every tile, and
/// the tiles land on every node, so the client follows the cluster's slots.
#[tokio::test]
async fn cluster_seeds_reach_every_node_of_a_redis_cluster() {
    let nodes: Vec<Server> = (0..3).map(|_| Server::redis_cluster_node()).collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let created = std::process::Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("run redis-cli (Debian redis-tools, with redis-server)");
    assert!(
        created.status.success(),
        "{}{}",
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    // Every node agrees the cluster is up before the store is used.
    let until = Instant::now() + Duration::from_secs(30);
    for node in &nodes {
        let mut conn = connect(node).await;
        loop {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut conn)
                .await
                .expect("cluster info");
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < until, "cluster not ok: {info}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let seeds = [nodes[0].redis_url(), nodes[1].redis_url()];
    let store = RedisTileStore::new(&seeds, Duration::from_secs(60), Duration::from_secs(2))
        .expect("store");
    for k in 0..60u8 {
        store
            .put(&format!("wx:tile:{k}"), Bytes::from(vec![k; 64]))
            .await;
    }
    for k in 0..60u8 {
        assert_eq!(
            store.get(&format!("wx:tile:{k}")).await,
            Ok(Some(Bytes::from(vec![k; 64]))),
            "tile {k}"
        );
    }
    for node in &nodes {
        let mut conn = connect(node).await;
        let keys: u64 = redis::cmd("DBSIZE")
            .query_async(&mut conn)
            .await
            .expect("dbsize");
        assert!(keys > 0, "node {} holds some of the tiles", node.port);
    }
}
