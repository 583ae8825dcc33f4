//! What `wxfarm jobs` does: decode wire messages to JSON (for
//! `nats sub --translate 'wxfarm jobs decode'`), list and show waiting
//! jobs, and replay one.

use std::time::Duration;

use async_nats::jetstream::{self, message::StreamMessage, stream::RawMessageErrorKind};
use protocol::{Priority, RenderJob, codec};
use serde::Serialize;
use serde_json::{Value, json};

use crate::wire::JobResult;
use crate::{FarmError, subjects};

/// One job waiting (or being rendered) in the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    /// Stream sequence (what `get` and `replay` take).
    pub seq: u64,
    pub subject: String,
    /// Tile cache key, from the job's header.
    pub key: Option<String>,
    pub priority: Option<Priority>,
    /// Time since the job was published.
    pub age: Duration,
}

/// A job with its decoded content.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDetail {
    pub summary: JobSummary,
    pub job: RenderJob,
}

/// Decodes a MessagePack job or result into JSON. Anything else that is
/// MessagePack is shown as generic JSON; tile bytes are summarised by
/// their length.
pub fn decode_stdin_to_json(bytes: &[u8]) -> Result<Value, FarmError> {
    if let Ok(job) = codec::decode::<RenderJob>(bytes) {
        let mut v = serde_json::to_value(&job).map_err(|e| FarmError::Config(e.to_string()))?;
        if let Value::Object(map) = &mut v {
            map.insert("cache_key".into(), job.key.cache_key().into());
        }
        return Ok(json!({ "job": v }));
    }
    if let Ok(r) = codec::decode::<JobResult>(bytes) {
        let outcome = match &r.result {
            Ok(tile) => json!({ "ok": { "bytes": tile.len() } }),
            Err(e) => json!({ "error": e, "message": e.to_string() }),
        };
        return Ok(json!({ "result": { "version": r.version, "key": r.key, "outcome": outcome } }));
    }
    // Other farm records (ingest events, catalog entries) are maps; a
    // lone number or string is not anything of ours.
    match codec::decode::<Value>(bytes)? {
        v @ (Value::Object(_) | Value::Array(_)) => Ok(v),
        other => Err(FarmError::Config(format!(
            "not a wxfarm job, result or record (a lone {})",
            match other {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "scalar",
            }
        ))),
    }
}

/// Up to `limit` jobs in the stream, oldest first.
pub async fn list(js: &jetstream::Context, limit: usize) -> Result<Vec<JobSummary>, FarmError> {
    let stream = job_stream(js).await?;
    let mut out = Vec::new();
    let mut seq = 1;
    while out.len() < limit {
        // "Next message at or after seq on these subjects" skips the holes
        // that acked jobs leave in a work queue.
        let found = stream
            .raw_message_builder()
            .sequence(seq)
            .next_by_subject(subjects::JOB_SUBJECTS_ALL)
            .send()
            .await;
        match found {
            Ok(msg) => {
                seq = msg.sequence + 1;
                out.push(summarise(&msg));
            }
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => break,
            Err(e) => return Err(FarmError::nats("list jobs", e)),
        }
    }
    Ok(out)
}

/// The job stored at `seq`.
pub async fn get(js: &jetstream::Context, seq: u64) -> Result<JobDetail, FarmError> {
    let msg = raw(js, seq).await?;
    let job = codec::decode(&msg.payload)?;
    Ok(JobDetail {
        summary: summarise(&msg),
        job,
    })
}

/// Publishes the job at `seq` again under a fresh de-duplication id (the
/// original stays until a worker takes it); returns the new sequence.
pub async fn replay(js: &jetstream::Context, seq: u64) -> Result<u64, FarmError> {
    let msg = raw(js, seq).await?;
    let mut headers = msg.headers.clone();
    let old_id = headers
        .get(async_nats::header::NATS_MESSAGE_ID)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let fresh = format!("{old_id}#replay-{}", js.client().new_inbox());
    headers.insert(async_nats::header::NATS_MESSAGE_ID, fresh.as_str());
    let ack = js
        .publish_with_headers(msg.subject.to_string(), headers, msg.payload.clone())
        .await
        .map_err(|e| FarmError::nats("replay", e))?
        .await
        .map_err(|e| FarmError::nats("replay", e))?;
    Ok(ack.sequence)
}

async fn job_stream(js: &jetstream::Context) -> Result<jetstream::stream::Stream, FarmError> {
    js.get_stream(subjects::JOB_STREAM)
        .await
        .map_err(|e| FarmError::nats("get job stream", e))
}

async fn raw(js: &jetstream::Context, seq: u64) -> Result<StreamMessage, FarmError> {
    let stream = job_stream(js).await?;
    match stream.get_raw_message(seq).await {
        Ok(msg) => Ok(msg),
        Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => {
            Err(FarmError::NotFound(format!("job {seq}")))
        }
        Err(e) => Err(FarmError::nats("get job", e)),
    }
}

fn summarise(msg: &StreamMessage) -> JobSummary {
    let now = chrono::Utc::now().timestamp_millis();
    let published = (msg.time.unix_timestamp_nanos() / 1_000_000) as i64;
    JobSummary {
        seq: msg.sequence,
        subject: msg.subject.to_string(),
        key: msg.headers.get(subjects::KEY_HEADER).map(|v| v.to_string()),
        priority: subjects::priority_of_subject(&msg.subject),
        age: Duration::from_millis(now.saturating_sub(published).max(0) as u64),
    }
}
