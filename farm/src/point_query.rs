//! Point queries (feature info) over core NATS request/reply: gateways ask
//! `wxfarm.sample`, one worker of the queue group answers from its grids.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use protocol::Renderer;
use protocol::{FieldRef, PointSample, RenderError};
use serde::{Deserialize, Serialize};

use crate::FarmError;
use crate::signing::{self, SigningKey};

/// The request subject, served by the `wxfarm-workers` queue group.
pub const SAMPLE_SUBJECT: &str = "wxfarm.sample";
const QUEUE_GROUP: &str = "wxfarm-workers";

#[derive(Debug, Serialize, Deserialize)]
struct SampleRequest {
    version: u16,
    fields: Vec<FieldRef>,
    lon: f64,
    lat: f64,
}

/// Asks a worker for each field's value at (lon, lat).
pub async fn request(
    client: &async_nats::Client,
    key: Option<&SigningKey>,
    fields: Vec<FieldRef>,
    lon: f64,
    lat: f64,
    timeout: Duration,
) -> Result<Vec<PointSample>, RenderError> {
    let body = protocol::codec::encode(&SampleRequest {
        version: 1,
        fields,
        lon,
        lat,
    })
    .map_err(|e| RenderError::Internal(e.to_string()))?;
    let headers = signing::signed_headers(key, &body);
    let reply = tokio::time::timeout(
        timeout,
        client.request_with_headers(SAMPLE_SUBJECT, headers, body.into()),
    )
    .await
    .map_err(|_| RenderError::Timeout(timeout.as_millis() as u64))?
    .map_err(|e| RenderError::Overloaded(format!("point query: {e}")))?;
    if !signing::accepts(key, reply.headers.as_ref(), &reply.payload) {
        return Err(RenderError::Internal(
            "point query answer is not signed by the farm".into(),
        ));
    }
    protocol::codec::decode::<Result<Vec<PointSample>, RenderError>>(&reply.payload)
        .map_err(|e| RenderError::Internal(e.to_string()))?
}

/// Answers point queries with `renderer` until the subscription ends.
pub async fn serve(
    client: async_nats::Client,
    key: Option<SigningKey>,
    renderer: Arc<dyn Renderer>,
) -> Result<(), FarmError> {
    let mut requests = client
        .queue_subscribe(SAMPLE_SUBJECT, QUEUE_GROUP.into())
        .await
        .map_err(|e| FarmError::nats("subscribe point queries", e))?;
    while let Some(msg) = requests.next().await {
        let Some(reply_to) = msg.reply.clone() else {
            continue;
        };
        if !signing::accepts(key.as_ref(), msg.headers.as_ref(), &msg.payload) {
            tracing::warn!("unsigned or forged point query dropped");
            continue;
        }
        let (client, renderer, key) = (client.clone(), renderer.clone(), key.clone());
        tokio::spawn(async move {
            let answer = match protocol::codec::decode::<SampleRequest>(&msg.payload) {
                Ok(q) => renderer.sample(&q.fields, q.lon, q.lat).await,
                Err(e) => Err(RenderError::Invalid(format!(
                    "undecodable point query: {e}"
                ))),
            };
            match protocol::codec::encode(&answer) {
                Ok(bytes) => {
                    let headers = signing::signed_headers(key.as_ref(), &bytes);
                    if let Err(e) = client
                        .publish_with_headers(reply_to, headers, bytes.into())
                        .await
                    {
                        tracing::warn!(error = %e, "point query reply failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "point query reply not encodable"),
            }
        });
    }
    Ok(())
}
