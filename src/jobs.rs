//! `wxfarm jobs`: inspect and replay render jobs in the JetStream stream.
//! `decode` also works as a `nats sub --translate` filter.

use std::io::Read;

use anyhow::{Context, Result};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// MessagePack job, result or event on stdin → JSON on stdout.
    Decode,
    /// List queued jobs (oldest first).
    Ls {
        /// NATS server of the farm.
        #[arg(long, env = "WXFARM_NATS", default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// Jobs to list at most.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one queued job as JSON.
    Get {
        seq: u64,
        /// NATS server of the farm.
        #[arg(long, env = "WXFARM_NATS", default_value = "nats://127.0.0.1:4222")]
        nats: String,
    },
    /// Publish a copy of a job again (with a fresh de-duplication id).
    Replay {
        seq: u64,
        /// NATS server of the farm.
        #[arg(long, env = "WXFARM_NATS", default_value = "nats://127.0.0.1:4222")]
        nats: String,
    },
}

pub async fn run(cmd: JobsCommand) -> Result<()> {
    match cmd {
        JobsCommand::Decode => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes)?;
            println!("{}", farm::jobs_tool::decode_stdin_to_json(&bytes)?);
        }
        JobsCommand::Ls { nats, limit } => {
            let js = jetstream(&nats).await?;
            for job in farm::jobs_tool::list(&js, limit).await? {
                println!("{}", serde_json::to_string(&job)?);
            }
        }
        JobsCommand::Get { seq, nats } => {
            let js = jetstream(&nats).await?;
            let detail = farm::jobs_tool::get(&js, seq).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "summary": detail.summary, "job": detail.job })
                )?
            );
        }
        JobsCommand::Replay { seq, nats } => {
            let js = jetstream(&nats).await?;
            let new_seq = farm::jobs_tool::replay(&js, seq).await?;
            println!("replayed job {seq} as {new_seq}");
        }
    }
    Ok(())
}

async fn jetstream(url: &str) -> Result<async_nats::jetstream::Context> {
    let client = farm::topology::connect_url(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    Ok(async_nats::jetstream::new(client))
}
