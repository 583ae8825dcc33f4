//! [`FarmConfig`]: endpoints and limits of the distributed roles.

use std::time::Duration;

use crate::signing::SigningKey;

/// Settings shared by gateways, workers and tools. Defaults suit a small
/// farm on one host; the CLI overrides them from flags and environment.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    /// NATS server URL(s), comma-separated.
    pub nats_url: String,
    /// Redis URLs for the L2 tile cache: none disables L2, one means a
    /// single server, several mean a Redis Cluster (seed nodes).
    pub redis_urls: Vec<String>,
    /// Lifetime of a tile in Redis.
    pub redis_ttl: Duration,
    /// Bound on one Redis operation; past it the caller carries on without
    /// L2 (a tile render is cheaper than a stalled request).
    pub redis_timeout: Duration,
    /// How long a delivered job may go unacknowledged before JetStream
    /// hands it to another worker (a crashed worker's job is redone then).
    pub ack_wait: Duration,
    /// Deliveries of one job before it is terminated with an error result.
    pub max_deliver: i64,
    /// JetStream duplicate window: identical jobs published within it are
    /// dropped, so concurrent gateways cause one render.
    pub dedupe_window: Duration,
    /// Jobs waiting per priority before publishers are refused.
    pub queue_capacity: i64,
    /// Jobs older than this are dropped unrendered.
    pub job_max_age: Duration,
    /// Stream replicas (1 without a NATS cluster).
    pub replicas: usize,
    /// Keep jobs in memory instead of files (faster, lost on restart).
    pub memory_storage: bool,
    /// Requests a gateway may have waiting for results at once.
    pub max_waiters: usize,
    /// How long a gateway waits for a result.
    pub render_deadline: Duration,
    /// Bound on publishing one job (including JetStream's ack): fails fast
    /// with `Overloaded` when NATS is unreachable.
    pub publish_timeout: Duration,
    /// Fire-and-forget publishes a gateway may have in flight.
    pub max_enqueue_inflight: usize,
    /// Signs every job, result and point query, and drops messages that do
    /// not verify ([`crate::signing`]). `None` runs unsigned (tests only:
    /// the CLI roles require a secret).
    pub signing_key: Option<SigningKey>,
}

impl FarmConfig {
    /// [`FarmConfig::nats_url`] with any password replaced by `***`, for
    /// logs and error messages.
    pub fn redacted_nats_url(&self) -> String {
        self.nats_url
            .split(',')
            .map(|url| match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let userinfo = &url[scheme + 3..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                _ => url.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Default for FarmConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".into(),
            redis_urls: Vec::new(),
            redis_ttl: Duration::from_secs(6 * 3600),
            redis_timeout: Duration::from_millis(150),
            ack_wait: Duration::from_secs(10),
            max_deliver: 3,
            dedupe_window: Duration::from_secs(120),
            queue_capacity: 10_000,
            job_max_age: Duration::from_secs(3600),
            replicas: 1,
            memory_storage: false,
            max_waiters: 4096,
            render_deadline: Duration::from_secs(10),
            publish_timeout: Duration::from_secs(1),
            max_enqueue_inflight: 512,
            signing_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FarmConfig;

    #[test]
    fn passwords_are_redacted_from_nats_urls() {
        let config = FarmConfig {
            nats_url: "nats://wxfarm:s3cret@a:4222, nats://b:4222,tls://u:p@c".into(),
            ..FarmConfig::default()
        };
        let shown = config.redacted_nats_url();
        assert!(
            !shown.contains("s3cret") && !shown.contains(":p@"),
            "{shown}"
        );
        assert_eq!(
            shown,
            "nats://wxfarm:***@a:4222, nats://b:4222,tls://u:***@c"
        );
    }
}
