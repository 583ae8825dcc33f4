//! Work queued ahead of users, at `prefetch` priority (behind every
//! interactive render, in `serve` and in the farm alike):
//!
//! - **spatial**: an interactive miss at (z, x, y) queues the tiles of the
//!   rings around it, since a user who pans looks there next; so does the
//!   first request for a tile prefetched that way (the pan goes on);
//! - **temporal**: a client that asks for the same tile at a later step
//!   than before is animating, so the next steps of that tile are queued.
//!
//! Each planned tile is skipped when it is already in L1 or was queued
//! recently (per key), so repeated views cost nothing.

use std::hash::{BuildHasher as _, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use protocol::catalog::{DimensionQuery, LayerKind};
use protocol::plan::{TileRequest, plan_tile};
use protocol::warm_budget::Admission;
use protocol::{Catalog, Priority, TileKey, WarmSource};

use crate::state::GatewayState;

/// How far ahead to work.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefetchConfig {
    /// Rings of neighbours queued around an interactive miss (0: off).
    pub rings: u8,
    /// Steps queued ahead of an animating client (0: off).
    pub lookahead: u8,
}

/// Most rings of neighbours one miss may queue: 48 tiles.
pub const MAX_RINGS: u8 = 3;

impl Default for PrefetchConfig {
    fn default() -> Self {
        Self {
            rings: 1,
            lookahead: 3,
        }
    }
}

/// Remembers what was queued and what each tile position was last asked
/// at; bounded, shared by all requests of a gateway.
#[derive(Clone)]
pub struct Prefetcher {
    config: PrefetchConfig,
    /// Keys queued recently: each is queued once per window.
    /// (Both behind an `Arc`: the prefetcher is cloned with the handlers'
    /// state on every request, and a moka handle holds a dozen counts.)
    queued: Arc<Cache<String, ()>>,
    /// Hash of a tile position (everything but the time) → the valid time
    /// last asked for it (µs since the epoch). A hash, not a string: this
    /// runs on every request (so the fast hasher for the position and the
    /// map alike). A shared cell, so a step changes no map entry and the
    /// hit memo can hold the cell and see, with one load, whether the
    /// position is still at its tile's step ([`StepRef`]).
    last_step: Arc<Cache<u64, Arc<AtomicI64>, foldhash::fast::RandomState>>,
}

/// A tile's position cell in the lookahead's map and the tile's step, held
/// by a memoised answer: while the cell still holds that step, answering
/// again would not change what the lookahead sees.
#[derive(Debug, Clone)]
pub(crate) struct StepRef {
    position: u64,
    cell: Arc<AtomicI64>,
    valid: i64,
}

impl StepRef {
    /// Whether the position was last asked at this tile's step.
    pub(crate) fn is_current(&self) -> bool {
        self.cell.load(Ordering::Relaxed) == self.valid
    }
}

impl Prefetcher {
    /// A prefetcher; rings are capped at [`MAX_RINGS`] (each miss queues
    /// (2r+1)² − 1 tiles).
    pub fn new(mut config: PrefetchConfig) -> Self {
        config.rings = config.rings.min(MAX_RINGS);
        Self {
            config,
            queued: Arc::new(
                Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(60))
                    .build(),
            ),
            last_step: Arc::new(
                Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(Duration::from_secs(60))
                    .build_with_hasher(foldhash::fast::RandomState::default()),
            ),
        }
    }

    pub fn config(&self) -> &PrefetchConfig {
        &self.config
    }

    /// Queues what the request `req` (planned as `key`) suggests: its
    /// neighbours when it was a miss or the first use of a prefetched
    /// neighbour (`moving`: the user pans on), its next steps when the client is
    /// animating (seen from its steps, or said in `hints`). Returns how
    /// many jobs were queued.
    pub fn after_request(
        &self,
        state: &GatewayState,
        catalog: &Catalog,
        req: &TileRequest,
        key: &TileKey,
        moving: bool,
        hints: crate::tiles::TileHints,
    ) -> usize {
        let mut queued = 0;
        if moving && self.config.rings > 0 {
            for n in neighbours(req, self.config.rings) {
                queued += self.queue(state, catalog, &n, WarmSource::Spatial);
            }
        }
        // Always record the step, hinted or not, so detection stays current.
        let detected = self.config.lookahead > 0 && self.animating(key);
        if detected || (self.config.lookahead > 0 && hints.animating) {
            for n in next_steps(catalog, req, key, self.config.lookahead) {
                queued += self.queue(state, catalog, &n, WarmSource::Temporal);
            }
        }
        queued
    }

    /// Whether the client asked for this tile position at an earlier step
    /// last time (and records this step).
    fn animating(&self, k: &TileKey) -> bool {
        let valid = k.valid.timestamp_micros();
        // One cell per position (`get_with` inserts once): a new position
        // starts at this step, which is not a step forward.
        let cell = self
            .last_step
            .get_with(position_of(k), || Arc::new(AtomicI64::new(valid)));
        // The same step again (a cache hit re-asked) writes nothing.
        let before = cell.load(Ordering::Relaxed);
        if before != valid {
            cell.store(valid, Ordering::Relaxed);
        }
        before < valid
    }

    /// The step cell of `k`'s position, for a memoised answer; none while
    /// the lookahead is off (then no step needs watching).
    pub(crate) fn step_ref(&self, k: &TileKey) -> Option<StepRef> {
        if self.config.lookahead == 0 {
            return None;
        }
        let position = position_of(k);
        let valid = k.valid.timestamp_micros();
        let cell = self
            .last_step
            .get_with(position, || Arc::new(AtomicI64::new(valid)));
        Some(StepRef {
            position,
            cell,
            valid,
        })
    }

    /// Renews the idle time of `step`'s position, as a request would;
    /// false when the map holds another cell for it now (the held one was
    /// forgotten), so the memoised answer must go.
    pub(crate) fn keep_step(&self, step: &StepRef) -> bool {
        self.last_step
            .get(&step.position)
            .is_some_and(|c| Arc::ptr_eq(&c, &step.cell))
    }

    fn queue(
        &self,
        state: &GatewayState,
        catalog: &Catalog,
        req: &TileRequest,
        source: WarmSource,
    ) -> usize {
        let Ok((mut job, _)) = plan_tile(catalog, req) else {
            return 0;
        };
        let key = job.key.cache_key();
        if self.queued.contains_key(&key) || state.tiles.contains(&key) {
            return 0;
        }
        if let Some(budget) = &state.warm_budget {
            let admission = budget.admit_behind(state.queue.as_ref());
            metrics::counter!("wxfarm_warm_decisions_total", "source" => source.as_str(), "decision" => admission.as_str()).increment(1);
            if admission != Admission::Queue {
                tracing::debug!(tile = %key, source = source.as_str(), decision = admission.as_str(), "not prefetched");
                return 0;
            }
        }
        self.queued.insert(key, ());
        job.priority = Priority::Prefetch;
        let tile = state.warm_ledger.as_ref().map(|_| job.key.clone());
        let ok = state.queue.enqueue(job);
        if ok {
            metrics::counter!("wxfarm_prefetch_jobs_total", "kind" => source.as_str()).increment(1);
            if let (Some(ledger), Some(tile)) = (&state.warm_ledger, tile) {
                protocol::WarmObserver::queued(ledger.as_ref(), &tile, source);
            }
        }
        usize::from(ok)
    }
}

/// The lookahead's identity of `k`'s position (everything but the time).
fn position_of(k: &TileKey) -> u64 {
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    (&k.layer, &k.style, &k.style_params, k.tms, k.z, k.x, k.y).hash(&mut h);
    (k.tile_size, &k.elevation, k.format).hash(&mut h);
    h.finish()
}

/// The tiles of `rings` rings around `req` (x wraps around the
/// antimeridian; rows stop at the poles).
fn neighbours(req: &TileRequest, rings: u8) -> Vec<TileRequest> {
    let Ok(z) = u8::try_from(req.z) else {
        return Vec::new();
    };
    let (w, h) = (
        i64::from(req.tms.matrix_width(z)),
        i64::from(req.tms.matrix_height(z)),
    );
    let r = i64::from(rings);
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::from([(i64::from(req.x), i64::from(req.y))]);
    for dy in -r..=r {
        for dx in -r..=r {
            let y = i64::from(req.y) + dy;
            let x = (i64::from(req.x) + dx).rem_euclid(w);
            if !(0..h).contains(&y) || !seen.insert((x, y)) {
                continue;
            }
            out.push(TileRequest {
                x: x as u32,
                y: y as u32,
                ..req.clone()
            });
        }
    }
    out
}

/// The same tile at the next `steps` times after the planned one: later
/// lead times of the same run (models), later observation times.
fn next_steps(catalog: &Catalog, req: &TileRequest, key: &TileKey, steps: u8) -> Vec<TileRequest> {
    let Some(layer) = catalog.layer(&key.layer) else {
        return Vec::new();
    };
    let observation = layer.info.kind == LayerKind::Observation;
    let mut times: Vec<DateTime<Utc>> = layer
        .fields
        .keys()
        .filter(|id| id.elevation == key.elevation && id.valid > key.valid)
        .filter(|id| observation || id.run == key.run)
        .map(|id| id.valid)
        .collect();
    times.sort();
    times.dedup();
    times
        .into_iter()
        .take(usize::from(steps))
        .map(|valid| {
            let dims = if observation {
                DimensionQuery {
                    time: Some(valid),
                    elevation: key.elevation.clone(),
                    ..Default::default()
                }
            } else {
                DimensionQuery {
                    run: Some(key.run),
                    forecast_hours: Some((valid - key.run).num_seconds() as f64 / 3600.0),
                    elevation: key.elevation.clone(),
                    ..Default::default()
                }
            };
            TileRequest {
                dims,
                ..req.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ImageFormat, TileMatrixSetId};

    fn req(z: u32, x: u32, y: u32) -> TileRequest {
        TileRequest {
            layer: "l".into(),
            style: "gradient".into(),
            tms: TileMatrixSetId::WebMercatorQuad,
            z,
            x,
            y,
            tile_size: 256,
            format: ImageFormat::Png,
            dims: DimensionQuery::default(),
            style_params: Default::default(),
        }
    }

    #[test]
    fn rings_wrap_east_west_and_stop_at_the_poles() {
        let n: Vec<(u32, u32)> = neighbours(&req(2, 0, 0), 1)
            .iter()
            .map(|r| (r.x, r.y))
            .collect();
        // Row 0 is the top: no row above. Column -1 wraps to 3.
        assert_eq!(n, vec![(3, 0), (1, 0), (3, 1), (0, 1), (1, 1)]);
        assert_eq!(neighbours(&req(3, 4, 4), 2).len(), 24);
        // z0 has one tile: no neighbours at all.
        assert!(neighbours(&req(0, 0, 0), 1).is_empty());
    }
}
