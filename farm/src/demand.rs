//! Request counts from gateways to the scheduler, for the hot set
//! (`protocol::demand`). Each gateway counts locally and, every few
//! seconds, publishes what it counted since on [`DEMAND_SUBJECT`], signed
//! like every farm message; the scheduler adds them to the farm-wide,
//! decaying counts it warms from. Lost batches only make the hot set a
//! little less sharp, so core NATS (no stream) is enough.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use protocol::codec;
use protocol::demand::{DemandCounts, TilePosition};
use protocol::warm_budget::WarmBudget;
use serde::{Deserialize, Serialize};

use crate::signing::{self, SigningKey};

/// Where gateways publish their counts.
pub const DEMAND_SUBJECT: &str = "wxfarm.demand";

/// Positions per message: well under NATS's 1 MiB default payload.
const BATCH: usize = 2_000;

/// Longest layer, style or elevation accepted from the network.
const MAX_NAME: usize = 128;

/// What one message carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct DemandBatch {
    pub version: u16,
    pub positions: Vec<(TilePosition, f64)>,
    /// The sender's recent average interactive render latency (ms), so the
    /// scheduler pauses warming while users wait (see
    /// `protocol::warm_budget`).
    #[serde(default)]
    pub interactive_latency_ms: Option<u32>,
}

/// Publishes `counts` (draining them) every `every`, signed with `key`,
/// with the latency `budget` has seen, if any.
pub fn spawn_sender(
    client: async_nats::Client,
    key: Option<SigningKey>,
    counts: Arc<DemandCounts>,
    budget: Option<Arc<WarmBudget>>,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            let drained = counts.drain();
            let latency = budget
                .as_ref()
                .and_then(|b| b.interactive_latency())
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX));
            // A batch even without counts when there is a latency to tell.
            let chunks: Vec<&[(TilePosition, f64)]> = if drained.is_empty() && latency.is_some() {
                vec![&[]]
            } else {
                drained.chunks(BATCH).collect()
            };
            for chunk in chunks {
                let batch = DemandBatch {
                    version: 1,
                    positions: chunk.to_vec(),
                    interactive_latency_ms: latency,
                };
                let Ok(payload) = codec::encode(&batch) else {
                    continue;
                };
                let mut headers = async_nats::HeaderMap::new();
                if let Some(key) = &key {
                    key.sign_into(&mut headers, &payload);
                }
                if let Err(e) = client
                    .publish_with_headers(DEMAND_SUBJECT, headers, payload.into())
                    .await
                {
                    tracing::debug!(error = %e, "demand counts not sent");
                }
            }
        }
    });
}

/// Adds every signed, well-formed batch that arrives to `counts`, until
/// the subscription ends.
/// A gateway's latency is fed to `budget`.
pub async fn receive(
    client: async_nats::Client,
    key: Option<SigningKey>,
    counts: Arc<DemandCounts>,
    budget: Option<Arc<WarmBudget>>,
) -> Result<(), crate::FarmError> {
    let mut sub = client
        .subscribe(DEMAND_SUBJECT)
        .await
        .map_err(|e| crate::FarmError::nats("subscribe to demand counts", e))?;
    while let Some(msg) = sub.next().await {
        if !signing::accepts(key.as_ref(), msg.headers.as_ref(), &msg.payload) {
            tracing::warn!("unsigned or forged demand counts dropped");
            continue;
        }
        let batch: DemandBatch = match codec::decode(&msg.payload) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable demand counts dropped");
                continue;
            }
        };
        if batch.positions.len() > BATCH {
            tracing::warn!(
                positions = batch.positions.len(),
                "oversized demand batch dropped"
            );
            continue;
        }
        if let (Some(budget), Some(ms)) = (&budget, batch.interactive_latency_ms) {
            budget.observe_interactive(Duration::from_millis(u64::from(ms)));
        }
        for (position, count) in batch.positions {
            // Bounded strings only: the counts keep what they are sent.
            let short = |s: &str| s.len() <= MAX_NAME;
            if short(&position.layer)
                && short(&position.style)
                && position.elevation.as_deref().is_none_or(short)
                && position.style_params.map_area.is_none()
            {
                counts.add(position, count);
            }
        }
    }
    Ok(())
}
