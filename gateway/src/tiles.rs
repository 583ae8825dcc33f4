//! Serving one tile: resolve the request against the catalog, look in L1,
//! render through the queue on a miss (one render per key), and answer
//! with cache validators.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderValue;
use bytes::Bytes;
pub use protocol::plan::{PlanError, StyleParams, TileRequest, plan_tile, style_spec};
use protocol::warm_budget::WarmBudget;
use protocol::{ImageFormat, Priority, RenderError, RenderJob, WarmSource};

use tracing::Instrument;

use crate::memo::{FillParts, MemoFill};
use crate::ogc::OgcError;
use crate::state::GatewayState;
use protocol::catalog::LayerKind;

/// Where a tile came from, for the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTier {
    L1,
    L2,
    Miss,
}

impl CacheTier {
    /// The `X-Cache` header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::L1 => "L1",
            Self::L2 => "L2",
            Self::Miss => "MISS",
        }
    }

    /// The `tier` label of the request metrics (lower case, as Prometheus
    /// label values go; `none` is a request that failed before any cache).
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::L1 => "l1",
            Self::L2 => "l2",
            Self::Miss => "miss",
        }
    }
}

/// A tile ready to send.
#[derive(Debug, Clone)]
pub struct TileResponse {
    pub bytes: Bytes,
    pub format: ImageFormat,
    /// The `ETag` header's value (computed when the tile was cached).
    pub etag: HeaderValue,
    pub tier: CacheTier,
    /// The run was named in the request, so the bytes never change.
    pub immutable: bool,
    /// The L1 entry's life (see [`crate::cache::TileLife`]).
    pub life: Arc<crate::cache::TileLife>,
}

/// What a client says about its next requests; not part of the tile's
/// identity (the same tile, the same bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TileHints {
    /// The tile is a frame of a playing animation: queue the next steps
    /// now, without waiting to see a second frame.
    pub animating: bool,
}

/// Serves a tile: L1, else L2, else one render through the queue. The L2
/// lookup and the render run inside L1's single-flight, so concurrent
/// requests for one key cost one lookup and at most one render.
/// Then queues what the request suggests ([`crate::prefetch`]).
pub async fn get_tile(
    state: &GatewayState,
    req: &TileRequest,
    hints: TileHints,
) -> Result<TileResponse, OgcError> {
    get_tile_offering(state, req, hints, false)
        .await
        .map(|(tile, _)| tile)
}

/// [`get_tile`], and when `offer` is set, what the hit memo needs to
/// answer the same request again ([`crate::memo`]), if it may: only L1
/// hits, without hints, whose answer does not depend on the clock.
pub async fn get_tile_offering(
    state: &GatewayState,
    req: &TileRequest,
    hints: TileHints,
    offer: bool,
) -> Result<(TileResponse, Option<MemoFill>), OgcError> {
    let catalog = state.catalog.snapshot();
    let (job, immutable) = plan_tile(&catalog, req)?;
    if let Some(demand) = &state.demand {
        demand.record(&job.key, || {
            protocol::demand::TilePosition::of(req, &job.key)
        });
    }
    let id = state.warm_ledger.as_ref().map(|_| job.key.id());
    let first_use = state
        .warm_ledger
        .as_ref()
        .zip(id)
        .and_then(|(l, id)| l.asked_id(id));
    let tile = render_planned(state, &job, immutable).await?;
    if let (Some(ledger), Some(id)) = (&state.warm_ledger, id) {
        match tile.tier {
            CacheTier::Miss => ledger.missed(),
            CacheTier::L2 => ledger.served_from_l2(id),
            CacheTier::L1 => {}
        }
    }
    if let Some(p) = &state.prefetch {
        // A prefetched neighbour now asked for means the user moves that
        // way: keep going, as after a miss.
        let moving = tile.tier == CacheTier::Miss || first_use == Some(WarmSource::Spatial);
        p.after_request(state, &catalog, req, &job.key, moving, hints);
    }
    let fill = if offer && tile.tier == CacheTier::L1 && !hints.animating {
        memo_fill(state, &catalog, req, &job.key, &tile)
    } else {
        None
    };
    Ok((tile, fill))
}

/// The hit memo's copy of an L1 answer to `req` (planned as `key` against
/// `catalog`); none when the answer depends on the clock: a tile with no
/// forecast or time resolves to the step nearest now (but an observation
/// with no run either resolves to the newest time, clock-free).
fn memo_fill(
    state: &GatewayState,
    catalog: &Arc<protocol::Catalog>,
    req: &TileRequest,
    key: &protocol::TileKey,
    tile: &TileResponse,
) -> Option<MemoFill> {
    let layer = catalog.layer(&req.layer)?;
    let d = &req.dims;
    let newest_observation = d.run.is_none() && layer.info.kind == LayerKind::Observation;
    if d.forecast_hours.is_none() && d.time.is_none() && !newest_observation {
        return None;
    }
    Some(MemoFill(Arc::new(FillParts {
        body: tile.bytes.clone(),
        etag: tile.etag.clone(),
        life: tile.life.clone(),
        cache_key: key.cache_key(),
        catalog: Arc::downgrade(catalog),
        step: state.prefetch.as_ref().and_then(|p| p.step_ref(key)),
        layer: req.layer.clone(),
        position: state
            .demand
            .as_ref()
            .map(|_| protocol::demand::TilePosition::of(req, key)),
    })))
}

/// Serves a planned job through L1, L2 and the queue (see [`get_tile`]).
pub async fn render_planned(
    state: &GatewayState,
    job: &RenderJob,
    immutable: bool,
) -> Result<TileResponse, OgcError> {
    let key = job.key.cache_key();
    let format = job.key.format;
    // A hit answers here, before anything the miss path needs is set up.
    if let Some(hit) = state.tiles.get(&key).await {
        return Ok(TileResponse {
            bytes: hit.bytes,
            format,
            etag: hit.etag,
            tier: CacheTier::L1,
            immutable,
            life: hit.life,
        });
    }
    // Boxed: the miss path's state (spans, the single-flight entry, the
    // render) is large, and an inline future makes every hit's future as
    // large, copied each time the HTTP stack boxes or moves it.
    // Only a miss needs its own copy of the job (it goes on the queue).
    Box::pin(render_miss(state, job.clone(), key, immutable)).await
}

/// The L1 miss path of [`render_planned`]: L2, else one render through the
/// queue, inside L1's single-flight.
async fn render_miss(
    state: &GatewayState,
    job: RenderJob,
    key: String,
    immutable: bool,
) -> Result<TileResponse, OgcError> {
    let format = job.key.format;
    let queue = state.queue.clone();
    let timeout = state.config.render_timeout;
    let l2 = state.l2.clone();
    let budget = state.warm_budget.clone();
    let lookup_key = key.clone();
    let from_l2 = Arc::new(AtomicBool::new(false));
    let from_l2_in = from_l2.clone();
    let (tile, loaded) = state
        .tiles
        .get_or_render(key, async move {
            // Spans only on an L1 miss: the hit path stays span-free.
            let k = &job.key;
            let span = tracing::info_span!(
                "tile",
                layer = %k.layer,
                style = %k.style,
                tms = k.tms.as_str(),
                z = k.z,
                x = k.x,
                y = k.y,
                run = %k.run.format("%Y-%m-%dT%H:%M:%SZ"),
                valid = %k.valid.format("%Y-%m-%dT%H:%M:%SZ"),
                elevation = k.elevation.as_deref().unwrap_or(""),
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
            );
            let tile_span = span.clone();
            async move {
                if let Some(l2) = &l2 {
                    match l2.get(&lookup_key).await {
                        Ok(Some(bytes)) => {
                            from_l2_in.store(true, Ordering::Relaxed);
                            return Ok(bytes);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "L2 unavailable, rendering without it")
                        }
                    }
                }
                let interactive = job.priority == Priority::Interactive;
                let started = std::time::Instant::now();
                let result = render_with_deadline(queue, job, timeout)
                    .instrument(tracing::info_span!("render via queue"))
                    .await;
                if interactive && let Some(budget) = &budget {
                    observe_interactive(budget, started.elapsed());
                }
                if let Err(e @ (RenderError::Data(_) | RenderError::Internal(_))) = &result {
                    tracing::warn!(error = %e, "tile failed");
                }
                // Failures and timeouts mark the trace (a client that left,
                // `Cancelled`, is not the server's error).
                if let Err(e) = &result
                    && !matches!(e, RenderError::Cancelled)
                {
                    tile_span.record("otel.status_description", e.to_string());
                    tile_span.record("otel.status_code", "ERROR");
                }
                result
            }
            .instrument(span)
            .await
        })
        .await
        .map_err(|e| render_error(&e))?;
    let tier = match (loaded, from_l2.load(Ordering::Relaxed)) {
        (false, _) => CacheTier::L1,
        (true, true) => CacheTier::L2,
        (true, false) => CacheTier::Miss,
    };
    Ok(TileResponse {
        bytes: tile.bytes,
        format,
        etag: tile.etag,
        tier,
        immutable,
        life: tile.life,
    })
}

/// Records a user's render time; logs when work ahead pauses or resumes.
fn observe_interactive(budget: &WarmBudget, took: Duration) {
    let before = budget.paused();
    budget.observe_interactive(took);
    let after = budget.paused();
    if before != after {
        let latency_ms = budget.interactive_latency().unwrap_or_default().as_millis() as u64;
        if after {
            tracing::info!(
                latency_ms,
                "users' renders are slow: prefetch and warming paused"
            );
        } else {
            tracing::info!(
                latency_ms,
                "users' renders are fast again: prefetch and warming resumed"
            );
        }
        metrics::gauge!("wxfarm_warm_paused").set(f64::from(u8::from(after)));
    }
}

async fn render_with_deadline(
    queue: Arc<dyn protocol::RenderQueue>,
    job: RenderJob,
    timeout: Duration,
) -> Result<Bytes, RenderError> {
    match tokio::time::timeout(timeout, queue.render(job)).await {
        Ok(r) => r,
        Err(_) => Err(RenderError::Timeout(timeout.as_millis() as u64)),
    }
}

fn render_error(e: &RenderError) -> OgcError {
    match e {
        RenderError::Overloaded(_) | RenderError::Timeout(_) | RenderError::Cancelled => {
            OgcError::server_busy(Duration::from_secs(1))
        }
        RenderError::Invalid(m) => OgcError::invalid_parameter("style", m.clone()),
        RenderError::Data(_) => OgcError::internal("the layer's source data could not be read"),
        RenderError::Internal(_) => OgcError::internal("rendering failed"),
    }
}

/// A strong validator: the key determines the bytes (it carries the render
/// version), so hashing the key is as good as hashing the image.
pub fn etag_of(cache_key: &str) -> String {
    format!("\"{:016x}\"", protocol::stable_hash(cache_key.as_bytes()))
}
