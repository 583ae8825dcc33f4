//! `wxfarm`: one binary, one role per subcommand.

mod confined_fs;
mod http_trace;
mod inspect;
mod inspect_netcdf;
mod jobs;
mod launcher;
mod pull;
mod roles;
mod serve;
mod shutdown;
mod store;
mod telemetry;
mod warm;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wxfarm", version, about = "Weather map tile render farm")]
struct Cli {
    /// Log format.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every role in one process on a local data folder.
    Serve(serve::ServeArgs),
    /// HTTP gateway of a farm (NATS JetStream, Redis, catalog in NATS KV).
    Gateway(roles::gateway::GatewayArgs),
    /// Render worker of a farm.
    Worker(roles::worker::WorkerArgs),
    /// Scheduler of a farm: ingest events, catalog, warming.
    Scheduler(roles::scheduler::SchedulerArgs),
    /// Inspect and replay render jobs queued in NATS JetStream.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Start or stop a whole farm on loopback (no Docker needed).
    #[command(subcommand)]
    Farm(launcher::FarmCommand),
    /// Add GRIB2 files (optionally .gz/.xz) to a data folder's catalog.
    Ingest(serve::IngestArgs),
    /// Pull fields from NOAA's open-data buckets (GFS, HRRR, MRMS, GOES) by
    /// .idx byte ranges, and ingest them.
    Pull(pull::PullArgs),
    /// List a GRIB2 file's fields, or dump one field's values.
    Inspect(inspect::InspectArgs),
    /// Warm a running serve or gateway's caches (its admin API), estimate
    /// a warm, or show cache statistics.
    Warm(warm::WarmArgs),
    /// Write the sample forecast and radar data into DIR.
    DemoData {
        dir: PathBuf,
        /// Forecast reference time (RFC 3339); default: today 00Z.
        #[arg(long)]
        run: Option<String>,
        /// Seed of every random choice (same seed, same data).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Forecast hours (f000..=fNNN).
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let traces = telemetry::init_tracing(&cli.log_format, cli.command.role());
    let result = run(cli.command);
    // Flush spans still batched.
    if let Some(provider) = traces {
        let _ = provider.shutdown();
    }
    result
}

impl Command {
    /// The service name traces carry.
    fn role(&self) -> &'static str {
        match self {
            Command::Serve(_) => "wxfarm",
            Command::Gateway(_) => "wxfarm-gateway",
            Command::Worker(_) => "wxfarm-worker",
            Command::Scheduler(_) => "wxfarm-scheduler",
            _ => "wxfarm-cli",
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve(args) => runtime()?.block_on(serve::serve(args)),
        Command::Gateway(args) => runtime()?.block_on(roles::gateway::run(args)),
        Command::Worker(args) => runtime()?.block_on(roles::worker::run(args)),
        Command::Scheduler(args) => runtime()?.block_on(roles::scheduler::run(args)),
        Command::Farm(cmd) => launcher::run(cmd),
        Command::Jobs(cmd) => runtime()?.block_on(jobs::run(cmd)),
        Command::Ingest(args) => runtime()?.block_on(serve::ingest(args)),
        Command::Pull(args) => runtime()?.block_on(pull::run(args)),
        Command::Inspect(args) => inspect::run(&args),
        Command::Warm(args) => {
            let code = runtime()?.block_on(warm::run(args))?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Command::DemoData {
            dir,
            run,
            seed,
            hours,
        } => serve::demo_data(&dir, run.as_deref(), seed, hours),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
