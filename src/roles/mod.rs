//! The distributed roles: `gateway`, `worker`, `scheduler`, each its own
//! process, cooperating through NATS JetStream (jobs, catalog), Redis (L2)
//! and an object store.

pub mod gateway;
pub mod pull_notify;
pub mod scheduler;
pub mod stats;
pub mod worker;

use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream;
use clap::Args;
use farm::FarmConfig;

/// The per-client request rate limit of a gateway (`serve` too).
#[derive(Args, Debug, Clone)]
pub struct RateLimitArgs {
    /// Requests per second each client IP may make (0: unlimited). Over it,
    /// requests get 429 with Retry-After.
    #[arg(long, env = "WXFARM_RATE_LIMIT", default_value_t = 0)]
    pub rate_limit: u32,
    /// Requests a client may burst above its rate (default: 2 s worth).
    #[arg(long, env = "WXFARM_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// Count clients by X-Forwarded-For behind one proxy that appends to
    /// it (the same as `--trusted-proxies 1`).
    #[arg(long, env = "WXFARM_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Proxies in front that append to X-Forwarded-For: clients are counted
    /// by the entry that many from the right (entries clients wrote
    /// themselves are never used).
    #[arg(long, env = "WXFARM_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: u8,
}

impl RateLimitArgs {
    /// The limiter, or `None` when unlimited. Call within the runtime.
    pub fn limiter(&self) -> Option<::gateway::rate_limit::RateLimiter> {
        let per_second = std::num::NonZeroU32::new(self.rate_limit)?;
        // Default: two seconds' worth.
        let burst = self
            .rate_limit_burst
            .and_then(std::num::NonZeroU32::new)
            .unwrap_or(per_second.saturating_add(per_second.get()));
        Some(::gateway::rate_limit::RateLimiter::new(
            ::gateway::rate_limit::RateLimitConfig {
                per_second,
                burst,
                trusted_proxies: if self.trust_forwarded_for {
                    self.trusted_proxies.max(1)
                } else {
                    self.trusted_proxies
                },
            },
        ))
    }
}

/// The HTTP edge of a gateway (`serve` too).
#[derive(Args, Debug, Clone)]
pub struct HttpArgs {
    /// Seconds a client may take to send a request's headers; also how
    /// long an idle keep-alive connection stays open.
    #[arg(long, env = "WXFARM_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Open client connections at most; more wait to be accepted.
    #[arg(long, env = "WXFARM_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Serve `/metrics` on this address instead of the public port (keep
    /// it off the internet). `wxfarm gateway` defaults to
    /// 127.0.0.1:9090; `serve` keeps it on the public port unless set.
    #[arg(long, env = "WXFARM_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Token for the admin API (`/admin/…`, used by `wxfarm warm`); the
    /// API exists only when one is set.
    #[arg(long, env = "WXFARM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Origins whose web pages may use this server (CORS), comma-separated;
    /// `*` for any, `''` for none.
    #[arg(
        long,
        env = "WXFARM_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub cors_origins: Vec<String>,
}

/// Where a farm gateway serves `/metrics` unless told: loopback, so a
/// gateway published to the internet does not publish its metrics too.
pub const GATEWAY_METRICS_LISTEN: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9090);

impl HttpArgs {
    /// The admin token, refused when short enough to guess.
    pub fn admin_token(&self) -> Result<Option<std::sync::Arc<str>>> {
        match &self.admin_token {
            Some(t) if t.len() < 16 => {
                anyhow::bail!("--admin-token must be at least 16 characters")
            }
            t => Ok(t.as_deref().map(Into::into)),
        }
    }

    pub fn limits(&self) -> ::gateway::ServerLimits {
        ::gateway::ServerLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            ..Default::default()
        }
    }
}

/// Work a gateway (`serve` too) queues ahead of its users.
#[derive(Args, Debug, Clone)]
pub struct PrefetchArgs {
    /// Rings of neighbouring tiles queued around an interactive miss, at
    /// prefetch priority (0: off; at most 3).
    #[arg(long, env = "WXFARM_PREFETCH_RINGS", default_value_t = ::gateway::PrefetchConfig::default().rings)]
    pub prefetch_rings: u8,
    /// Next time steps of a tile queued when a client animates it (0: off).
    #[arg(long, env = "WXFARM_LOOKAHEAD", default_value_t = ::gateway::PrefetchConfig::default().lookahead)]
    pub lookahead: u8,
}

impl PrefetchArgs {
    /// The prefetcher, or `None` when both kinds are off.
    pub fn prefetcher(&self) -> Option<::gateway::Prefetcher> {
        (self.prefetch_rings > 0 || self.lookahead > 0).then(|| {
            ::gateway::Prefetcher::new(::gateway::PrefetchConfig {
                rings: self.prefetch_rings,
                lookahead: self.lookahead,
            })
        })
    }
}

/// The rails of work queued ahead of users (prefetch and warming).
#[derive(Args, Debug, Clone)]
pub struct WarmBudgetArgs {
    /// Prefetch and warm jobs queued per second, at most (0: unlimited).
    /// Operator warms (`wxfarm warm`) are not limited.
    #[arg(long, env = "WXFARM_WARM_BUDGET", default_value_t = 2000)]
    pub warm_budget: u32,
    /// Pause prefetch and warming while users' own renders take longer
    /// than this on average, milliseconds (0: never pause).
    #[arg(long, env = "WXFARM_WARM_PAUSE_MS", default_value_t = 250)]
    pub warm_pause_ms: u64,
}

impl WarmBudgetArgs {
    /// The budget, remembering each interactive latency for `memory`.
    pub fn budget(&self, memory: Duration) -> std::sync::Arc<protocol::warm_budget::WarmBudget> {
        metrics::describe_gauge!(
            "wxfarm_warm_paused",
            "1 while prefetch and warming are paused because users' renders are slow."
        );
        metrics::gauge!("wxfarm_warm_paused").set(0.0);
        std::sync::Arc::new(protocol::warm_budget::WarmBudget::new(
            protocol::warm_budget::WarmBudgetConfig {
                jobs_per_sec: std::num::NonZeroU32::new(self.warm_budget),
                pause_after: (self.warm_pause_ms > 0)
                    .then(|| Duration::from_millis(self.warm_pause_ms)),
                pressure_memory: memory,
            },
        ))
    }
}

/// The hot set: request counts by tile position, warmed for new fields.
#[derive(Args, Debug, Clone)]
pub struct DemandArgs {
    /// For each new field, warm the K tile positions of its layer that
    /// users asked for most (0: off).
    #[arg(long, env = "WXFARM_HOT_SET", default_value_t = 256)]
    pub hot_set: usize,
    /// Half-life of the request counts behind the hot set, minutes.
    #[arg(long, default_value_t = 360)]
    pub demand_half_life_mins: u64,
}

impl DemandArgs {
    /// Positions counted at most (beyond, the least asked-for half goes).
    pub const MAX_POSITIONS: usize = 100_000;

    /// Decaying counts, or `None` when the hot set is off.
    pub fn counts(&self) -> Option<std::sync::Arc<protocol::demand::DemandCounts>> {
        if self.hot_set == 0 {
            return None;
        }
        let counts = std::sync::Arc::new(protocol::demand::DemandCounts::new(Self::MAX_POSITIONS));
        let period = Duration::from_secs(60);
        let half_life = (self.demand_half_life_mins.max(1) * 60) as f64;
        let factor = 0.5f64.powf(period.as_secs_f64() / half_life);
        let decaying = counts.clone();
        metrics::describe_gauge!(
            "wxfarm_demand_positions",
            "Tile positions with a request count behind the hot set."
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            for second in 1u64.. {
                tick.tick().await;
                if second % period.as_secs() == 0 {
                    decaying.decay(factor);
                }
                metrics::gauge!("wxfarm_demand_positions").set(decaying.len() as f64);
            }
        });
        Some(counts)
    }
}

/// Endpoints and limits shared by the distributed roles.
#[derive(Args, Debug, Clone)]
pub struct FarmArgs {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "WXFARM_NATS", hide_env_values = true, default_value_t = FarmConfig::default().nats_url)]
    pub nats: String,
    /// Redis URL(s) for the L2 tile cache; several = Redis Cluster seeds.
    #[arg(long, env = "WXFARM_REDIS", value_delimiter = ',')]
    pub redis: Vec<String>,
    /// Seconds a delivered job may stay unacknowledged before redelivery.
    #[arg(long, default_value_t = FarmConfig::default().ack_wait.as_secs())]
    pub ack_wait_secs: u64,
    /// Deliveries of a job before it is given up with an error.
    #[arg(long, default_value_t = FarmConfig::default().max_deliver)]
    pub max_deliver: i64,
    /// How long a request waits for its render (milliseconds).
    #[arg(long, default_value_t = FarmConfig::default().render_deadline.as_millis() as u64)]
    pub render_deadline_ms: u64,
    /// Keep queued jobs in memory rather than on disk.
    #[arg(long)]
    pub memory_queue: bool,
    /// The farm's shared secret (16+ bytes): every job, result and point
    /// query is signed with it, and unsigned or forged messages are
    /// dropped. Same value on every gateway, worker and scheduler.
    #[arg(long, env = "WXFARM_FARM_SECRET", hide_env_values = true)]
    pub farm_secret: String,
}

impl FarmArgs {
    pub fn config(&self) -> Result<FarmConfig> {
        Ok(FarmConfig {
            nats_url: self.nats.clone(),
            redis_urls: self.redis.clone(),
            ack_wait: Duration::from_secs(self.ack_wait_secs.max(1)),
            max_deliver: self.max_deliver.max(1),
            render_deadline: Duration::from_millis(self.render_deadline_ms),
            memory_storage: self.memory_queue,
            signing_key: Some(farm::SigningKey::new(&self.farm_secret)?),
            ..FarmConfig::default()
        })
    }
}

/// Connects to NATS and makes sure the job stream and consumers exist.
///
/// NATS may still be starting (pods and processes start in any order, and
/// JetStream answers some time after the port opens), so failures are
/// retried with backoff for up to [`STARTUP_PATIENCE`] before giving up.
pub async fn connect(config: &FarmConfig) -> Result<(async_nats::Client, jetstream::Context)> {
    retry_startup("NATS", || try_connect(config)).await
}

/// The catalog's KV bucket (created when absent) and the catalog in it,
/// retried like the rest of start-up.
pub async fn open_catalog(
    js: &jetstream::Context,
) -> Result<(jetstream::kv::Store, protocol::Catalog)> {
    retry_startup("the catalog", || async {
        let kv = farm::catalog_kv::open(js).await.context("catalog bucket")?;
        let loaded = farm::catalog_kv::load(&kv)
            .await
            .context("loading the catalog")?;
        Ok((kv, loaded))
    })
    .await
}

/// Runs `attempt` until it succeeds, with backoff, for up to
/// [`STARTUP_PATIENCE`]: a start-up step against NATS may fail while NATS
/// starts or is slow (a loaded machine, a pod starting).
pub async fn retry_startup<T, Fut>(what: &str, mut attempt: impl FnMut() -> Fut) -> Result<T>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(e) if started.elapsed() < STARTUP_PATIENCE => {
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?delay, "{what} not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long a role waits for NATS at start-up before exiting.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

async fn try_connect(config: &FarmConfig) -> Result<(async_nats::Client, jetstream::Context)> {
    let client = farm::topology::connect(config)
        .await
        .with_context(|| format!("connecting to NATS at {}", config.redacted_nats_url()))?;
    let js = farm::topology::jetstream(client.clone(), Duration::from_secs(5));
    farm::topology::ensure_topology(&js, config)
        .await
        .context("setting up the job stream")?;
    Ok((client, js))
}

/// The L2 store, when Redis is configured.
pub fn l2(config: &FarmConfig) -> Result<Option<std::sync::Arc<farm::RedisTileStore>>> {
    if config.redis_urls.is_empty() {
        return Ok(None);
    }
    let store =
        farm::RedisTileStore::new(&config.redis_urls, config.redis_ttl, config.redis_timeout)
            .context("Redis")?;
    Ok(Some(std::sync::Arc::new(store)))
}

/// Serves a gateway (and its `/metrics`) on `listen` until SIGTERM or
/// Ctrl-C. Once bound, `announce` logs what is served and one line
/// `listening on http://ADDR` goes to stdout, for scripts and tests that
/// start us on port 0.
pub async fn serve_gateway(
    listen: std::net::SocketAddr,
    state: ::gateway::GatewayState,
    http: &HttpArgs,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    extra: axum::Router,
    announce: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    announce(addr);
    println!("listening on http://{addr}");
    // Repeated tile hits are answered before routing. Not while traces are
    // exported: every request then gets its server span from the router.
    let memo = (!crate::telemetry::traces_exported()).then(|| ::gateway::TileMemo::new(&state));
    let app = match http.metrics_listen {
        Some(addr) => {
            spawn_metrics(addr, metrics).await?;
            ::gateway::router(state).merge(extra)
        }
        None => ::gateway::router(state)
            .merge(extra)
            .merge(crate::telemetry::metrics_route(metrics)),
    };
    let app = if crate::telemetry::traces_exported() {
        app.layer(axum::middleware::from_fn(crate::http_trace::server_span))
    } else {
        app
    };
    let app = ::gateway::HttpApp { router: app, memo };
    ::gateway::server::serve(listener, app, http.limits(), crate::shutdown::signal()).await?;
    Ok(())
}

/// Binds `addr` and serves `/metrics` (and `/healthz`) there in the
/// background. Binding here, before the caller goes on, makes a taken
/// port a start-up error instead of a silently missing endpoint.
pub async fn spawn_metrics(
    addr: std::net::SocketAddr,
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> Result<()> {
    let app = crate::telemetry::metrics_route(handle)
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(%addr, error = %e, "metrics listener failed");
        }
    });
    Ok(())
}
