//! `wxfarm gateway`: HTTP in front of the farm. L1 in-process, L2 Redis,
//! misses rendered through JetStream; the catalog followed from NATS KV.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use protocol::catalog::SharedCatalog;

use super::FarmArgs;

#[derive(Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    farm: FarmArgs,
    /// Address to serve HTTP on.
    #[arg(long, default_value = "0.0.0.0:8080", env = "WXFARM_LISTEN")]
    listen: SocketAddr,
    /// Public base URL for links in capabilities (default: from the
    /// request's Host header).
    #[arg(long, env = "WXFARM_PUBLIC_URL")]
    public_url: Option<String>,
    /// L1 tile cache size.
    #[arg(long, default_value_t = 256)]
    tile_cache_mb: u64,
    #[command(flatten)]
    limits: super::RateLimitArgs,
    #[command(flatten)]
    http: super::HttpArgs,
    #[command(flatten)]
    prefetch: super::PrefetchArgs,
    #[command(flatten)]
    budget: super::WarmBudgetArgs,
    /// How often request counts go to the scheduler's hot set, ms.
    #[arg(long, env = "WXFARM_DEMAND_SEND_MS", default_value_t = 5000)]
    demand_send_ms: u64,
}

pub async fn run(args: GatewayArgs) -> Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    let config = args.farm.config()?;
    let (client, js) = super::connect(&config).await?;
    let catalog = SharedCatalog::default();
    let (kv, loaded) = super::open_catalog(&js).await?;
    let n_layers = loaded.layers.len();
    catalog.update(|c| *c = loaded);
    follow_catalog(kv, catalog.clone());

    let l2 = super::l2(&config)?.map(|store| {
        super::stats::spawn_store_stats(store.clone());
        store as Arc<dyn protocol::TileStore>
    });
    let queue = super::retry_startup("the job queue", || async {
        farm::JetStreamQueue::new(client.clone(), config.clone())
            .await
            .context("job queue")
    })
    .await?
    .with_l2(l2.clone());
    super::stats::spawn_gateway_queue_stats(queue.clone());
    // Requests counted here go to the scheduler's hot set.
    let demand = Arc::new(protocol::demand::DemandCounts::new(
        super::DemandArgs::MAX_POSITIONS,
    ));
    let budget = args
        .budget
        .budget(protocol::warm_budget::WarmBudgetConfig::default().pressure_memory);
    // The scheduler measures its warming from what this gateway served.
    let ledger = Arc::new(gateway::warm_ledger::WarmLedger::forwarding());
    let (report_budget, report_ledger) = (budget.clone(), ledger.clone());
    farm::demand::spawn_sender(
        client.clone(),
        config.signing_key.clone(),
        demand.clone(),
        move || {
            let views = report_ledger.take_views();
            farm::demand::GatewayReport {
                interactive_latency: report_budget.interactive_latency(),
                l2_views: views.l2,
                misses: views.misses,
            }
        },
        Duration::from_millis(args.demand_send_ms.max(100)),
    );
    let tiles = gateway::TileCache::new(args.tile_cache_mb << 20, gateway::state::L1_TTL);
    super::stats::spawn_cache_stats(Some(tiles.clone()), None);
    let state = gateway::GatewayState {
        catalog,
        queue: Arc::new(queue),
        tiles: tiles.clone(),
        l2,
        config: Arc::new(gateway::GatewayConfig {
            public_url: args.public_url,
            render_timeout: config.render_deadline,
            admin_token: args.http.admin_token()?,
            cors_origins: args.http.cors_origins.clone(),
            ..Default::default()
        }),
        rate_limit: args.limits.limiter(),
        prefetch: args.prefetch.prefetcher(),
        demand: Some(demand),
        // This gateway's prefetches; what it served from L2 goes on to the
        // scheduler, which measures its own warming.
        warm_ledger: Some(ledger),
        warm_budget: Some(budget),
        warm_rate: Default::default(),
    };
    // The webhook of new-object notifications, for a following scheduler.
    let notify = match &state.config.admin_token {
        Some(token) => super::pull_notify::webhook(client.clone(), token.clone()),
        None => axum::Router::new(),
    };
    let mut http = args.http;
    http.metrics_listen = http.metrics_listen.or(Some(super::GATEWAY_METRICS_LISTEN));
    super::serve_gateway(args.listen, state, &http, metrics, notify, |addr| {
        tracing::info!(%addr, layers = n_layers, "gateway serving");
    })
    .await
}

/// Keeps `catalog` equal to the KV bucket, re-watching after failures.
fn follow_catalog(kv: async_nats::jetstream::kv::Store, catalog: SharedCatalog) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = farm::catalog_kv::watch(&kv, &catalog).await {
                tracing::warn!(error = %e, "catalog watch ended; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
