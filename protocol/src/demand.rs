//! Demand: how often users ask for each tile *position* (a tile without
//! its run or time), with counts that decay, so that when a new run,
//! forecast hour or observation arrives the positions people keep looking
//! at can be rendered before anyone asks (the hot set).
//!
//! `serve` counts and warms in one process. In the farm each gateway counts
//! locally and sends its counts, signed, to the scheduler every few seconds
//! over NATS; the scheduler holds the farm-wide counts and warms. (NATS,
//! not Redis: the scheduler is the one reader, the counts need no storage,
//! and gateways already speak NATS.)

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::DimensionQuery;
use crate::plan::{StyleParams, TileRequest};
use crate::{ImageFormat, TileKey, TileMatrixSetId};

/// Where a tile is and how it is drawn, whatever the run or time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TilePosition {
    pub layer: String,
    pub style: String,
    pub style_params: StyleParams,
    pub tms: TileMatrixSetId,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub tile_size: u32,
    pub format: ImageFormat,
    pub elevation: Option<String>,
}

impl TilePosition {
    /// The position of a planned tile request.
    pub fn of(req: &TileRequest, key: &TileKey) -> Self {
        Self {
            layer: key.layer.clone(),
            style: key.style.clone(),
            style_params: req.style_params.clone(),
            tms: key.tms,
            z: key.z,
            x: key.x,
            y: key.y,
            tile_size: key.tile_size,
            format: key.format,
            elevation: key.elevation.clone(),
        }
    }

    /// An in-process identity of the position of `key` (which carries the
    /// style parameters in canonical form), cheap enough for every request.
    pub fn id_of(key: &TileKey) -> u64 {
        position_id(key, &key.style_params)
    }

    /// The tile key of this position for the field of `run` valid at
    /// `valid`.
    pub fn key_at(&self, run: DateTime<Utc>, valid: DateTime<Utc>) -> TileKey {
        TileKey {
            layer: self.layer.clone(),
            style: self.style.clone(),
            style_params: self.style_params.canonical(),
            tms: self.tms,
            z: self.z,
            x: self.x,
            y: self.y,
            tile_size: self.tile_size,
            run,
            valid,
            elevation: self.elevation.clone(),
            format: self.format,
        }
    }

    /// The request for this position at `dims` (run, forecast or time).
    pub fn request(&self, mut dims: DimensionQuery) -> TileRequest {
        dims.elevation = self.elevation.clone();
        TileRequest {
            layer: self.layer.clone(),
            style: self.style.clone(),
            tms: self.tms,
            z: self.z.into(),
            x: self.x,
            y: self.y,
            tile_size: self.tile_size,
            format: self.format,
            dims,
            style_params: self.style_params.clone(),
        }
    }
}

/// Request counts per position, decaying over time, bounded in size.
#[derive(Debug)]
pub struct DemandCounts {
    counts: Mutex<HashMap<u64, (TilePosition, f64)>>,
    max_positions: usize,
}

/// Counts below this after decay are forgotten.
const FORGET_BELOW: f64 = 0.05;

/// A position asked for fewer times than this (after decay) is chance,
/// not demand: warming it for every new field would mostly be wasted.
pub const MIN_HOT_COUNT: f64 = 2.0;

impl DemandCounts {
    /// Counts for at most `max_positions` positions; past that the least
    /// asked-for half is dropped.
    pub fn new(max_positions: usize) -> Self {
        Self {
            counts: Mutex::default(),
            max_positions: max_positions.max(2),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (TilePosition, f64)>> {
        // Counts are advisory: a poisoned lock still holds usable numbers.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request for the position of `key`; `position` builds it
    /// only the first time.
    pub fn record(&self, key: &TileKey, position: impl FnOnce() -> TilePosition) {
        let id = TilePosition::id_of(key);
        let mut counts = self.counts();
        counts.entry(id).or_insert_with(|| (position(), 0.0)).1 += 1.0;
        if counts.len() > self.max_positions {
            shrink(&mut counts, self.max_positions / 2);
        }
    }

    /// Adds `count` requests for `position` (counts sent by a gateway).
    pub fn add(&self, position: TilePosition, count: f64) {
        if !count.is_finite() || count <= 0.0 {
            return;
        }
        let id = id_of_position(&position);
        let mut counts = self.counts();
        counts.entry(id).or_insert_with(|| (position, 0.0)).1 += count;
        if counts.len() > self.max_positions {
            shrink(&mut counts, self.max_positions / 2);
        }
    }

    /// Multiplies every count by `factor` (0..1) and forgets the faint.
    pub fn decay(&self, factor: f64) {
        self.counts().retain(|_, (_, c)| {
            *c *= factor;
            *c >= FORGET_BELOW
        });
    }

    /// Takes every count, leaving none (a gateway sending its counts).
    pub fn drain(&self) -> Vec<(TilePosition, f64)> {
        self.counts().drain().map(|(_, v)| v).collect()
    }

    /// The `k` most asked-for positions of `layer` (at `elevation`, for
    /// levelled layers), most asked-for first; only positions asked for at
    /// least [`MIN_HOT_COUNT`] times.
    pub fn top(&self, layer: &str, elevation: Option<&str>, k: usize) -> Vec<TilePosition> {
        let counts = self.counts();
        let mut found: Vec<(&TilePosition, f64)> = counts
            .values()
            .filter(|(p, c)| {
                *c >= MIN_HOT_COUNT && p.layer == layer && p.elevation.as_deref() == elevation
            })
            .map(|(p, c)| (p, *c))
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.into_iter().take(k).map(|(p, _)| p.clone()).collect()
    }

    /// Positions counted now.
    pub fn len(&self) -> usize {
        self.counts().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The id [`TilePosition::id_of`] gives the key of a request at `p`.
fn id_of_position(p: &TilePosition) -> u64 {
    let t = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    position_id(&p.key_at(t, t), &p.style_params.canonical())
}

/// Hashes the position fields of `key`, with `style_params` in canonical
/// form (run and valid time left out).
fn position_id(key: &TileKey, style_params: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (
        &key.layer,
        &key.style,
        style_params,
        key.tms,
        key.z,
        key.x,
        key.y,
    )
        .hash(&mut h);
    (key.tile_size, &key.elevation, key.format).hash(&mut h);
    h.finish()
}

/// Keeps the `keep` most asked-for positions.
fn shrink(counts: &mut HashMap<u64, (TilePosition, f64)>, keep: usize) {
    let mut all: Vec<f64> = counts.values().map(|(_, c)| *c).collect();
    all.sort_by(|a, b| b.total_cmp(a));
    let threshold = all.get(keep).copied().unwrap_or(0.0);
    counts.retain(|_, (_, c)| *c > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(x: u32, layer: &str) -> TilePosition {
        TilePosition {
            layer: layer.into(),
            style: "gradient".into(),
            style_params: StyleParams::default(),
            tms: TileMatrixSetId::WebMercatorQuad,
            z: 5,
            x,
            y: 11,
            tile_size: 256,
            format: ImageFormat::Png,
            elevation: None,
        }
    }

    fn key_of(p: &TilePosition) -> TileKey {
        let t = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
        p.key_at(t, t)
    }

    #[test]
    fn the_most_asked_for_positions_come_first_and_fade_unless_asked_again() {
        let d = DemandCounts::new(1000);
        for (x, n) in [(1, 5), (2, 9), (3, 1)] {
            let p = position(x, "gfs_TMP_2m");
            for _ in 0..n {
                d.record(&key_of(&p), || p.clone());
            }
        }
        d.record(&key_of(&position(7, "other")), || position(7, "other"));
        let top: Vec<u32> = d.top("gfs_TMP_2m", None, 2).iter().map(|p| p.x).collect();
        assert_eq!(top, [2, 1]);
        // Asked for once is chance: never in the hot set, however big.
        let all: Vec<u32> = d.top("gfs_TMP_2m", None, 10).iter().map(|p| p.x).collect();
        assert_eq!(all, [2, 1]);
        // A gateway's counts merge into the same position.
        d.add(position(3, "gfs_TMP_2m"), 20.0);
        assert_eq!(d.top("gfs_TMP_2m", None, 1)[0].x, 3);
        d.decay(0.04); // 21 → 0.84, 9 → 0.36, 5 → 0.2, 1 → 0.04: forgotten
        assert_eq!(d.len(), 3);
        assert!(d.top("other", None, 5).is_empty());
        assert_eq!(d.drain().len(), 3);
        assert!(d.is_empty());
    }

    #[test]
    fn the_count_table_stays_bounded() {
        let d = DemandCounts::new(100);
        let hot = position(0, "l");
        for _ in 0..10 {
            d.record(&key_of(&hot), || hot.clone());
        }
        for x in 1..1000 {
            let p = position(x, "l");
            d.record(&key_of(&p), || p.clone());
        }
        assert!(d.len() <= 100, "{}", d.len());
        assert_eq!(d.top("l", None, 1)[0].x, 0, "the hot position survives");
    }
}
