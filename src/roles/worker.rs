//! `wxfarm worker`: pulls render jobs from JetStream (interactive first),
//! renders with the same code as `serve`, stores tiles in Redis, replies.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use super::FarmArgs;
use crate::store::StoreArgs;

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    farm: FarmArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Concurrent renders (default: the number of cores).
    #[arg(long)]
    slots: Option<usize>,
    /// Decoded grid cache size.
    #[arg(long, default_value_t = 2048)]
    grid_cache_mb: u64,
    /// Where to serve /metrics.
    #[arg(long, default_value = "127.0.0.1:9091", env = "WXFARM_METRICS_LISTEN")]
    metrics_listen: SocketAddr,
}

pub async fn run(args: WorkerArgs) -> Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    let config = args.farm.config()?;
    let (client, js) = super::connect(&config).await?;
    let store = args.store.open()?;
    let source = worker::GridSource::new(store, args.grid_cache_mb << 20);
    super::stats::spawn_cache_stats(None, Some(source.clone()));
    let renderer = Arc::new(worker::service::RenderService::new(source));
    let l2 = super::l2(&config)?.map(|store| {
        super::stats::spawn_store_stats(store.clone());
        store as Arc<dyn protocol::TileStore>
    });
    let slots = args
        .slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let opts = farm::WorkerOptions::from_config(&config, slots);
    let stats = Arc::new(farm::WorkerStats::default());
    super::stats::spawn_worker_stats(stats.clone());
    super::spawn_metrics(args.metrics_listen, metrics).await?;
    tokio::spawn(farm::point_query::serve(
        client,
        config.signing_key.clone(),
        renderer.clone(),
    ));
    tracing::info!(store = %args.store.describe(), slots, "worker pulling jobs");
    println!("worker ready");
    tokio::select! {
        r = farm::run_worker(js, renderer, l2, opts, stats) => r.context("job loop")?,
        _ = crate::shutdown::signal() => tracing::info!("worker stopping"),
    }
    Ok(())
}
