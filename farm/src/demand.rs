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
use serde::{Deserialize, Serialize};

use crate::signing::{self, SigningKey};

/// Where gateways publish their counts.
pub const DEMAND_SUBJECT: &str = "wxfarm.demand";

/// Positions per message: well under NATS's 1 MiB default payload.
const BATCH: usize = 2_000;

/// Longest layer, style or elevation accepted from the network.
const MAX_NAME: usize = 128;

/// First views per message, at most.
const VIEWS: usize = 20_000;

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
    /// [`protocol::TileKey::id`]s of tiles the sender answered from L2
    /// (the first view there of a tile the scheduler may have warmed).
    #[serde(default)]
    pub l2_views: Vec<u64>,
    /// Requests the sender had to render.
    #[serde(default)]
    pub misses: u64,
}

/// What a gateway tells the scheduler besides its counts, to measure and
/// pace warming.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GatewayReport {
    /// Users' recent average render latency.
    pub interactive_latency: Option<Duration>,
    /// Tiles answered from L2, by [`protocol::TileKey::id`].
    pub l2_views: Vec<u64>,
    /// Requests rendered.
    pub misses: u64,
}

/// Publishes `counts` (draining them) and what `report` says every
/// `every`, signed with `key`.
pub fn spawn_sender(
    client: async_nats::Client,
    key: Option<SigningKey>,
    counts: Arc<DemandCounts>,
    report: impl Fn() -> GatewayReport + Send + 'static,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            for batch in batches(counts.drain(), report()) {
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

/// Counts and report cut into messages within the bounds receivers accept;
/// none when there is nothing to say.
fn batches(positions: Vec<(TilePosition, f64)>, report: GatewayReport) -> Vec<DemandBatch> {
    let latency = report
        .interactive_latency
        .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX));
    let mut positions = positions.chunks(BATCH).map(<[_]>::to_vec);
    let mut views = report.l2_views.chunks(VIEWS).map(<[_]>::to_vec);
    let mut out = Vec::new();
    let mut misses = report.misses;
    loop {
        let (p, v) = (positions.next(), views.next());
        if p.is_none() && v.is_none() && (!out.is_empty() || (latency.is_none() && misses == 0)) {
            return out;
        }
        out.push(DemandBatch {
            version: 1,
            positions: p.unwrap_or_default(),
            interactive_latency_ms: latency,
            l2_views: v.unwrap_or_default(),
            misses: std::mem::take(&mut misses),
        });
    }
}

/// Adds every signed, well-formed batch that arrives to `counts` (when
/// the hot set is on) and hands the rest to `on_report`, until the
/// subscription ends.
pub async fn receive(
    client: async_nats::Client,
    key: Option<SigningKey>,
    counts: Option<Arc<DemandCounts>>,
    on_report: impl Fn(GatewayReport) + Send,
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
        if batch.positions.len() > BATCH || batch.l2_views.len() > VIEWS {
            tracing::warn!(
                positions = batch.positions.len(),
                views = batch.l2_views.len(),
                "oversized demand batch dropped"
            );
            continue;
        }
        on_report(GatewayReport {
            interactive_latency: batch
                .interactive_latency_ms
                .map(|ms| Duration::from_millis(u64::from(ms))),
            l2_views: batch.l2_views,
            misses: batch.misses,
        });
        let Some(counts) = &counts else {
            continue;
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_cut_within_the_receivers_bounds_and_nothing_is_sent_for_nothing() {
        assert!(batches(Vec::new(), GatewayReport::default()).is_empty());
        let only_latency = batches(
            Vec::new(),
            GatewayReport {
                interactive_latency: Some(Duration::from_millis(30)),
                ..Default::default()
            },
        );
        assert_eq!(only_latency.len(), 1);
        assert_eq!(only_latency[0].interactive_latency_ms, Some(30));
        let views: Vec<u64> = (0..45_000).collect();
        let cut = batches(
            Vec::new(),
            GatewayReport {
                l2_views: views.clone(),
                misses: 7,
                ..Default::default()
            },
        );
        assert_eq!(cut.len(), 3);
        assert!(cut.iter().all(|b| b.l2_views.len() <= VIEWS));
        let sent: Vec<u64> = cut.iter().flat_map(|b| b.l2_views.clone()).collect();
        assert_eq!(sent, views);
        // Misses are told once, not once per message.
        assert_eq!(cut.iter().map(|b| b.misses).sum::<u64>(), 7);
    }
}
