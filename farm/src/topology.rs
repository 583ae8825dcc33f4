//! Connecting to NATS and creating the job stream and its consumers.
//!
//! Every gateway and worker runs [`ensure_topology`] at start-up; it is
//! idempotent (get-or-create), so processes may start in any order and
//! several at once.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use protocol::Priority;

use crate::{FarmConfig, FarmError, subjects};

/// Connects to NATS. The client reconnects by itself for ever after a
/// successful first connection, retrying at most every second so a
/// restarted server is picked up quickly.
pub async fn connect(config: &FarmConfig) -> Result<async_nats::Client, FarmError> {
    connect_url(&config.nats_url).await
}

/// Connects to the NATS server(s) of `urls` (comma-separated), with the
/// user and password the first URL carries (`nats://user:pass@host:4222`;
/// the client library ignores URL credentials otherwise) and TLS for
/// `tls://` URLs.
pub async fn connect_url(urls: &str) -> Result<async_nats::Client, FarmError> {
    let mut options = async_nats::ConnectOptions::new();
    let first = urls.split(',').next().unwrap_or_default().trim();
    if let Ok(addr) = first.parse::<async_nats::ServerAddr>()
        && let (Some(user), Some(pass)) = (addr.username(), addr.password())
    {
        options = options.user_and_password(user.to_owned(), pass.to_owned());
    }
    let options = options
        .connection_timeout(Duration::from_secs(2))
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).clamp(50, 1000))
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Disconnected => tracing::warn!("nats: disconnected"),
                async_nats::Event::Connected => tracing::info!("nats: connected"),
                other => tracing::debug!(event = %other, "nats event"),
            }
        });
    options
        .connect(urls)
        .await
        .map_err(|e| FarmError::nats("connect", e))
}

/// A JetStream context whose requests time out after `timeout` (the
/// default of 5 s is too long for a request path that must fail fast).
pub fn jetstream(client: async_nats::Client, timeout: Duration) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(timeout)
        .build(client)
}

/// The job stream's configuration for `config`.
pub fn stream_config(config: &FarmConfig) -> stream::Config {
    stream::Config {
        name: subjects::JOB_STREAM.into(),
        description: Some("wxfarm render jobs, one subject per priority".into()),
        subjects: Priority::ALL.map(subjects::job_subject).to_vec(),
        retention: stream::RetentionPolicy::WorkQueue,
        // Bound each priority separately: a warming flood must never make
        // interactive publishes fail.
        max_messages_per_subject: config.queue_capacity,
        discard: stream::DiscardPolicy::New,
        discard_new_per_subject: true,
        max_age: config.job_max_age,
        duplicate_window: config.dedupe_window,
        storage: if config.memory_storage {
            stream::StorageType::Memory
        } else {
            stream::StorageType::File
        },
        num_replicas: config.replicas.max(1),
        ..Default::default()
    }
}

/// The durable pull consumer's configuration for `priority`.
pub fn consumer_config(config: &FarmConfig, priority: Priority) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(subjects::consumer_name(priority)),
        description: Some(format!("wxfarm workers, {} jobs", priority.as_str())),
        filter_subject: subjects::job_subject(priority),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        ..Default::default()
    }
}

/// Creates the job stream and the three consumers unless they exist, and
/// returns the stream.
pub async fn ensure_topology(
    js: &jetstream::Context,
    config: &FarmConfig,
) -> Result<stream::Stream, FarmError> {
    let stream = js
        .get_or_create_stream(stream_config(config))
        .await
        .map_err(|e| FarmError::nats("create job stream", e))?;
    for p in Priority::ALL {
        let wanted = consumer_config(config, p);
        let c: consumer::PullConsumer = stream
            .get_or_create_consumer(&subjects::consumer_name(p), wanted.clone())
            .await
            .map_err(|e| FarmError::nats("create job consumer", e))?;
        let have = &c.cached_info().config;
        if have.ack_wait != wanted.ack_wait || have.max_deliver != wanted.max_deliver {
            // Changing a live consumer under running workers is an operator
            // decision; say so instead of doing it.
            tracing::warn!(
                consumer = %subjects::consumer_name(p),
                "existing consumer differs from configuration (ack_wait {:?} vs {:?}, max_deliver {} vs {})",
                have.ack_wait, wanted.ack_wait, have.max_deliver, wanted.max_deliver
            );
        }
    }
    Ok(stream)
}

/// The pull consumers in drain order (interactive first).
pub async fn consumers(stream: &stream::Stream) -> Result<[consumer::PullConsumer; 3], FarmError> {
    let get = |p: Priority| async move {
        stream
            .get_consumer::<consumer::pull::Config>(&subjects::consumer_name(p))
            .await
            .map_err(|e| FarmError::nats("get job consumer", e))
    };
    Ok([
        get(Priority::Interactive).await?,
        get(Priority::Prefetch).await?,
        get(Priority::Warm).await?,
    ])
}
