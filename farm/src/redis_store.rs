//! [`RedisTileStore`]: the L2 tile cache shared by gateways and workers.
//!
//! Redis is an optimisation, never a dependency: every operation is bounded
//! by a short timeout, and failures surface as `Err` (get) or a log line
//! (put) so callers render instead. Connections are made lazily and
//! re-made by the client (ConnectionManager, or the cluster client), so the
//! store recovers by itself when Redis returns. An outage is logged once
//! when it starts and once when it ends, not per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use protocol::{TileSink, TileStore};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use tokio::sync::Mutex;

use crate::FarmError;

/// Counters of what the store did, for metrics and tests.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub errors: AtomicU64,
    pub puts: AtomicU64,
}

enum Backend {
    Single(ConnectionManager),
    /// Connected on first use (the cluster client connects eagerly) and
    /// kept; the cluster connection re-routes and reconnects by itself.
    Cluster(Box<ClusterBackend>),
}

struct ClusterBackend {
    client: ClusterClient,
    conn: Mutex<Option<ClusterConnection>>,
}

/// [`TileStore`] on Redis, single server or cluster.
pub struct RedisTileStore {
    backend: Backend,
    ttl_secs: u64,
    timeout: Duration,
    healthy: AtomicBool,
    stats: StoreStats,
}

impl RedisTileStore {
    /// A store on `urls`: one URL for a single server, several for the seed
    /// nodes of a Redis Cluster. Does not connect yet, so a gateway starts
    /// even while Redis is down. `timeout` bounds each operation; `ttl` is
    /// the lifetime of stored tiles.
    pub fn new(urls: &[String], ttl: Duration, timeout: Duration) -> Result<Self, FarmError> {
        let redis_err = |e: redis::RedisError| FarmError::Redis(e.to_string());
        let backend = match urls {
            [] => return Err(FarmError::Config("no Redis URL given".into())),
            [url] => {
                let client = redis::Client::open(url.as_str()).map_err(redis_err)?;
                // Few retries, short delays: a request must not wait for
                // Redis; the manager reconnects again on the next failure.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(10))
                    .set_max_delay(Duration::from_millis(200));
                let manager =
                    ConnectionManager::new_lazy_with_config(client, config).map_err(redis_err)?;
                Backend::Single(manager)
            }
            seeds => {
                let client = ClusterClient::builder(seeds.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(1)
                    .build()
                    .map_err(redis_err)?;
                Backend::Cluster(Box::new(ClusterBackend {
                    client,
                    conn: Mutex::new(None),
                }))
            }
        };
        Ok(Self {
            backend,
            ttl_secs: ttl.as_secs().max(1),
            timeout,
            healthy: AtomicBool::new(true),
            stats: StoreStats::default(),
        })
    }

    /// What the store did so far.
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Runs `cmd` within the timeout, tracking the outage state.
    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, String> {
        let result = tokio::time::timeout(self.timeout, self.query(cmd))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)));
        match &result {
            Ok(_) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("redis L2 reachable again");
                }
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                if self.healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "redis L2 unreachable; serving without it");
                }
            }
        }
        result
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, String> {
        match &self.backend {
            Backend::Single(manager) => {
                let mut conn = manager.clone();
                exec(&mut conn, cmd).await
            }
            Backend::Cluster(cluster) => {
                let ClusterBackend { client, conn } = cluster.as_ref();
                let mut guard = conn.lock().await;
                let mut c = match guard.as_ref() {
                    Some(c) => c.clone(),
                    None => {
                        let c = client
                            .get_async_connection()
                            .await
                            .map_err(|e| e.to_string())?;
                        *guard = Some(c.clone());
                        c
                    }
                };
                drop(guard);
                exec(&mut c, cmd).await
            }
        }
    }
}

async fn exec<C: ConnectionLike, T: redis::FromRedisValue>(
    conn: &mut C,
    cmd: redis::Cmd,
) -> Result<T, String> {
    cmd.query_async(conn).await.map_err(|e| e.to_string())
}

#[async_trait]
impl TileSink for RedisTileStore {
    async fn put(&self, cache_key: &str, bytes: Bytes) {
        let mut cmd = redis::cmd("SET");
        cmd.arg(cache_key)
            .arg(bytes.as_ref())
            .arg("EX")
            .arg(self.ttl_secs);
        if self.run::<()>(cmd).await.is_ok() {
            self.stats.puts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl TileStore for RedisTileStore {
    async fn get(&self, cache_key: &str) -> Result<Option<Bytes>, String> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(cache_key);
        let value: Option<Vec<u8>> = self.run(cmd).await?;
        let counter = match value {
            Some(_) => &self.stats.hits,
            None => &self.stats.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(value.map(Bytes::from))
    }
}
