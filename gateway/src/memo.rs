//! The hit memo: finished answers of L1 hits, keyed by the request's exact
//! target (path and query) and `Origin`, so that a repeated request is
//! answered without routing, parsing, planning or a cache look-up: a hash,
//! a few loads and a copy of the stored header block. [`crate::memo_service`]
//! sits in front of the router and asks here first.
//!
//! An answer is stored from a tile handler's own L1 hit (the handler hands
//! over [`MemoFill`] with its response), with the response's headers as the
//! whole stack made them (CORS, `Vary`, `Content-Length`). It is served
//! only while all of these hold, each checked on every hit:
//!
//! - the L1 entry it came from is still held ([`TileLife`]: cleared by
//!   L1's eviction listener, bounded by its time to live);
//! - the catalogue is the version it was planned against (a new run,
//!   ingest or replaced forecast publishes a new version);
//! - the lookahead's cell of the tile's position still holds the tile's
//!   step ([`StepRef`]): a user stepping time goes through the handlers,
//!   which see the step and queue the next ones.
//!
//! Requests whose answer depends on the clock (a model tile without a
//! forecast or time: the lead nearest now) or on hints (`animate`) are
//! never stored. What each hit must still do is done here or batched:
//! the tile metrics (handles kept per answer) on every hit; demand counts
//! (the hot set) and L1 recency once a second by [`TileMemo::sweep`], which
//! also drops dead answers and keeps the lookahead's cells alive. The warm
//! ledger's first use of a tile queued ahead is seen by the routed request
//! that stored the answer; a tile queued ahead again is rendered into L1
//! again, which replaces the entry and so ends the answer.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use protocol::Catalog;
use protocol::catalog::SharedCatalog;
use protocol::demand::{DemandCounts, TilePosition};

use crate::cache::{TileCache, TileLife};
use crate::prefetch::{Prefetcher, StepRef};
use crate::state::GatewayState;
use crate::tile_metrics::Series;

/// Answers held at most (16 shards of 512).
const SHARDS: usize = 16;
const PER_SHARD: usize = 512;
/// Longest request target (path, query and `Origin`) stored: tile
/// requests are short, and this bounds the memo's keys to 8 MiB.
pub const MAX_TARGET_BYTES: usize = 1024;
/// How often [`TileMemo::sweep`] runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Sweeps an answer may go unasked before it is dropped (its bytes are
/// L1's, but an answer should not keep them after L1 lets go).
const IDLE_SWEEPS: u32 = 60;

/// What a tile handler hands the memo with an L1 hit's 200 answer (as a
/// response extension), taken by [`crate::memo_service`].
#[derive(Clone)]
pub struct MemoFill(pub(crate) Arc<FillParts>);

pub(crate) struct FillParts {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub life: Arc<TileLife>,
    /// L1's key, for recency.
    pub cache_key: String,
    /// The catalogue version the tile was planned against.
    pub catalog: Weak<Catalog>,
    pub step: Option<StepRef>,
    /// The metrics label (a layer the catalogue knows).
    pub layer: String,
    /// Demand is counted for this position; none: not counted.
    pub position: Option<TilePosition>,
}

/// One stored answer.
struct Answer {
    target: Box<str>,
    origin: Option<HeaderValue>,
    /// The 200's headers, and the 304's (the same without `Content-Type`,
    /// with `Content-Length: 0`, as the router would send it).
    ok: HeaderMap,
    not_modified: HeaderMap,
    parts: FillParts,
    series: Series,
    /// Hits since the last sweep (demand counts, recency).
    hits: AtomicU64,
    idle_sweeps: AtomicU32,
    /// Set by the sweep when the lookahead's cell was replaced.
    dropped: AtomicBool,
}

impl Answer {
    fn is_valid(&self, now: Instant, catalog: &Arc<Catalog>) -> bool {
        self.parts.life.is_held(now)
            && std::ptr::eq(self.parts.catalog.as_ptr(), Arc::as_ptr(catalog))
            && self.parts.step.as_ref().is_none_or(StepRef::is_current)
            && !self.dropped.load(Ordering::Relaxed)
    }
}

type Shard = RwLock<HashMap<u64, Vec<Arc<Answer>>, foldhash::fast::FixedState>>;

/// The memo; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct TileMemo {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::RandomState,
    catalog: SharedCatalog,
    tiles: TileCache,
    demand: Option<Arc<DemandCounts>>,
    prefetch: Option<Prefetcher>,
    pub(crate) rate_limit: Option<crate::rate_limit::RateLimiter>,
}

/// A request's identity in the memo: its target and `Origin`, hashed.
pub(crate) struct MemoKey<'a> {
    pub target: &'a str,
    pub origin: Option<&'a HeaderValue>,
    pub hash: u64,
}

impl TileMemo {
    /// A memo for the gateway `state` (its catalogue, L1, demand counts,
    /// lookahead and rate limit), with its sweep running every
    /// [`SWEEP_EVERY`] on the current tokio runtime until the memo is
    /// dropped.
    pub fn new(state: &GatewayState) -> Self {
        let memo = Self::unswept(state);
        let weak = Arc::downgrade(&memo.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                TileMemo { inner }.sweep().await;
            }
        });
        memo
    }

    /// A memo without its background sweep: the caller runs
    /// [`Self::sweep`] (tests, to count at known points).
    pub fn unswept(state: &GatewayState) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| Shard::default()).collect(),
                hasher: foldhash::fast::RandomState::default(),
                catalog: state.catalog.clone(),
                tiles: state.tiles.clone(),
                demand: state.demand.clone(),
                prefetch: state.prefetch.clone(),
                rate_limit: state.rate_limit.clone(),
            }),
        }
    }

    pub(crate) fn rate_limit(&self) -> Option<&crate::rate_limit::RateLimiter> {
        self.inner.rate_limit.as_ref()
    }

    /// The memo key of a request target and `Origin`.
    pub(crate) fn key<'a>(&self, target: &'a str, origin: Option<&'a HeaderValue>) -> MemoKey<'a> {
        let mut h = self.inner.hasher.build_hasher();
        h.write(target.as_bytes());
        h.write_u8(0xff);
        if let Some(o) = origin {
            h.write(o.as_bytes());
        }
        MemoKey {
            target,
            origin,
            hash: h.finish(),
        }
    }

    fn shard(&self, hash: u64) -> &Shard {
        // The map hashes the key again with its own (fixed) state; the
        // shard comes from the top bits.
        &self.inner.shards[(hash >> 60) as usize % SHARDS]
    }

    /// The stored answer to `key`, if it is still valid: the 200 (no body
    /// for `HEAD`), or a 304 when `if_none_match` matches its ETag. Counts
    /// the hit in the tile metrics (`started`: when the request arrived).
    pub(crate) fn answer(
        &self,
        key: &MemoKey<'_>,
        head: bool,
        if_none_match: Option<&HeaderValue>,
        started: Instant,
    ) -> Option<Response> {
        let shard = self
            .shard(key.hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let answer = shard
            .get(&key.hash)?
            .iter()
            .find(|a| &*a.target == key.target && a.origin.as_ref() == key.origin)?;
        let catalog = self.inner.catalog.snapshot();
        if !answer.is_valid(started, &catalog) {
            return None;
        }
        let not_modified = if_none_match.is_some_and(|v| etag_matches(v, &answer.parts.etag));
        let mut response = if not_modified || head {
            Response::new(Body::empty())
        } else {
            Response::new(Body::from(answer.parts.body.clone()))
        };
        if not_modified {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = answer.not_modified.clone();
        } else {
            *response.headers_mut() = answer.ok.clone();
        }
        answer.hits.fetch_add(1, Ordering::Relaxed);
        if not_modified {
            crate::tile_metrics::record(&answer.parts.layer, "l1", 304, started.elapsed());
        } else {
            answer.series.record(started.elapsed());
        }
        Some(response)
    }

    /// Stores `fill` as the answer to `key`, with the response headers
    /// `headers` the stack sent with it.
    pub(crate) fn store(&self, key: &MemoKey<'_>, headers: &HeaderMap, fill: MemoFill) {
        let Ok(parts) = Arc::try_unwrap(fill.0) else {
            return; // a copy of the extension was kept elsewhere: skip
        };
        let mut not_modified = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if name == header::CONTENT_TYPE {
                continue;
            }
            let value = if name == header::CONTENT_LENGTH {
                HeaderValue::from_static("0")
            } else {
                value.clone()
            };
            not_modified.append(name.clone(), value);
        }
        let answer = Arc::new(Answer {
            target: key.target.into(),
            origin: key.origin.cloned(),
            ok: headers.clone(),
            not_modified,
            series: crate::tile_metrics::series(&parts.layer, "l1", 200),
            parts,
            hits: AtomicU64::new(0),
            idle_sweeps: AtomicU32::new(0),
            dropped: AtomicBool::new(false),
        });
        let mut shard = self
            .shard(key.hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = shard.get_mut(&key.hash)
            && let Some(slot) = list
                .iter_mut()
                .find(|a| a.target == answer.target && a.origin == answer.origin)
        {
            // Hits counted on the answer replaced are still owed to demand.
            let owed = slot.hits.swap(0, Ordering::Relaxed);
            answer.hits.fetch_add(owed, Ordering::Relaxed);
            *slot = answer;
            return;
        }
        let held: usize = shard.values().map(Vec::len).sum();
        if held >= PER_SHARD {
            // Full: drop one answer (any: the map's order is random). Its
            // unflushed hits are lost to demand, as a bounded table loses
            // counts.
            let victim = shard.keys().next().copied();
            if let Some(victim) = victim {
                shard.remove(&victim);
            }
        }
        shard.entry(key.hash).or_default().push(answer);
    }

    /// Answers held now.
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                s.read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What hits owe, and housekeeping (run every [`SWEEP_EVERY`], or by
    /// tests): each answer's hits since the last sweep are counted as
    /// demand for its position and renew its L1 entry's recency and its
    /// lookahead cell; answers no longer valid, or unasked for
    /// [`IDLE_SWEEPS`] sweeps, are dropped.
    pub async fn sweep(&self) {
        let now = Instant::now();
        let catalog = self.inner.catalog.snapshot();
        let mut asked: Vec<(Arc<Answer>, u64)> = Vec::new();
        for shard in self.inner.shards.iter() {
            let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
            map.retain(|_, list| {
                list.retain(|a| {
                    let hits = a.hits.swap(0, Ordering::Relaxed);
                    let idle = if hits > 0 {
                        a.idle_sweeps.store(0, Ordering::Relaxed);
                        0
                    } else {
                        a.idle_sweeps.fetch_add(1, Ordering::Relaxed) + 1
                    };
                    let keep = idle < IDLE_SWEEPS && a.is_valid(now, &catalog);
                    if hits > 0 {
                        asked.push((a.clone(), hits));
                    }
                    keep
                });
                !list.is_empty()
            });
        }
        for (answer, hits) in asked {
            let parts = &answer.parts;
            if let (Some(demand), Some(position)) = (&self.inner.demand, &parts.position) {
                demand.add(position.clone(), hits as f64);
            }
            if let (Some(prefetch), Some(step)) = (&self.inner.prefetch, &parts.step)
                && !prefetch.keep_step(step)
            {
                answer.dropped.store(true, Ordering::Relaxed);
            }
            if parts.life.is_held(now) {
                self.inner.tiles.touch(&parts.cache_key).await;
            }
        }
    }
}

/// Whether an `If-None-Match` value names `etag` (or is `*`).
pub fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    if_none_match
        .to_str()
        .is_ok_and(|v| v.split(',').any(|t| etag == t.trim() || t.trim() == "*"))
}
