//! The operator's API behind `wxfarm warm`: estimate and run a warming
//! spec, and read cache statistics. It exists only when an admin token is
//! configured, and every call must carry it (`Authorization: Bearer …`).
//!
//! A warm run streams its progress as one JSON object per line while it
//! works, so the tool can draw a progress bar; closing the connection
//! stops it. Tiles go through the same path as requests ([`render_planned`]:
//! L1, then L2, then the queue at warm priority), so a warmed tile is
//! exactly the tile a user gets, and interactive work always goes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use protocol::catalog::{Catalog, DimensionQuery, LayerKind};
use protocol::tms::LonLatBox;
use protocol::{ImageFormat, Priority, RenderJob, TileMatrixSetId};
use serde::{Deserialize, Serialize};

use crate::ogc::grid::{layer_wgs84_box, tile_range};
use crate::state::GatewayState;
use crate::tiles::{CacheTier, TileRequest, plan_tile, render_planned};

/// Most tiles one warm request may cover; split bigger jobs.
pub const MAX_WARM_TILES: usize = 2_000_000;
/// Most warm tiles in flight at once.
pub const MAX_WARM_CONCURRENCY: usize = 256;

/// What to warm. Empty lists mean: every layer; the default style; the
/// default dimensions (latest complete run, nearest valid time).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarmSpec {
    pub layers: Vec<String>,
    pub styles: Vec<String>,
    /// Inclusive zoom range.
    pub zooms: (u8, u8),
    /// West, south, east, north in degrees; the layer's extent when absent.
    pub bbox: Option<[f64; 4]>,
    /// Tile matrix sets (default WebMercatorQuad).
    pub tms: Vec<String>,
    /// Model layers: lead hours (of the newest run that has each).
    pub forecasts: Vec<f64>,
    /// Model layers: the run (default: see `forecasts`).
    pub run: Option<DateTime<Utc>>,
    /// Observation layers: valid times.
    pub times: Vec<DateTime<Utc>>,
    /// Tiles in flight at once (default 16).
    pub concurrency: Option<usize>,
}

/// The answer to an estimate.
#[derive(Debug, Serialize, Deserialize)]
pub struct WarmEstimate {
    pub tiles: usize,
    /// Of them, already in L1.
    pub cached: usize,
    /// Mean bytes of the tiles in L1, times the tiles to render.
    pub est_bytes: u64,
    /// Tiles per second the last warm run through this server rendered
    /// (none before the first run).
    #[serde(default)]
    pub measured_rate: Option<f64>,
    /// The tiles to render at that rate, seconds.
    #[serde(default)]
    pub est_seconds: Option<f64>,
}

/// The render rate the last warm run measured (tiles rendered per second
/// of its run), for estimates: a rate seen on this deployment, under its
/// own load, rather than a constant.
#[derive(Debug, Default)]
pub struct MeasuredRate(std::sync::Mutex<Option<f64>>);

impl MeasuredRate {
    pub fn get(&self) -> Option<f64> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, rate: f64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(rate);
    }
}

/// One progress line of a warm run; the last has `finished` set.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WarmProgress {
    pub total: u64,
    /// Rendered now.
    pub rendered: u64,
    /// Already cached (L1 or L2): nothing to do.
    pub cached: u64,
    pub failed: u64,
    pub elapsed_s: f64,
    /// Tiles (rendered or cached) per second so far.
    pub rate: f64,
    /// The first failure, for the operator.
    pub first_error: Option<String>,
    pub finished: bool,
}

/// Cache and queue statistics for `wxfarm warm --stats`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AdminStats {
    pub l1_entries: u64,
    pub l1_bytes: u64,
    pub layers: usize,
    pub fields: usize,
    /// Jobs waiting per priority (interactive, prefetch, warm), where the
    /// queue knows them.
    pub queue_depths: Option<[usize; 3]>,
    /// Tiles queued ahead of demand and how many were then asked for, per
    /// source (static, hot_set, spatial, temporal), where measured.
    pub warm: Vec<crate::warm_ledger::WarmCounts>,
    /// Tile requests that had to render, where measured (recall: used ÷
    /// (used + misses)).
    #[serde(default)]
    pub misses: Option<u64>,
}

/// Refuses every admin call without the configured token.
pub async fn require_token(
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "admin token missing or wrong\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Compares without an early exit, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /admin/warm/estimate`.
pub async fn estimate(State(state): State<GatewayState>, Json(spec): Json<WarmSpec>) -> Response {
    match estimate_spec(&state, &spec).await {
        Ok(e) => Json(e).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

/// Counts the tiles of `spec` (and what is cached, and the time at the
/// measured rate); an error names what is wrong with the spec.
pub async fn estimate_spec(state: &GatewayState, spec: &WarmSpec) -> Result<WarmEstimate, String> {
    let plan = plan(state.catalog.snapshot(), spec)?;
    let cached = plan
        .jobs()
        .filter(|job| matches!(job, Ok((job, _)) if state.tiles.contains(&job.key.cache_key())))
        .count();
    let (entries, bytes) = state.tiles.usage().await;
    let mean = bytes.checked_div(entries).unwrap_or(0);
    let to_render = plan.len() - cached;
    let measured_rate = state.warm_rate.get();
    Ok(WarmEstimate {
        tiles: plan.len(),
        cached,
        est_bytes: mean * to_render as u64,
        measured_rate,
        est_seconds: measured_rate.map(|r| to_render as f64 / r),
    })
}

/// `POST /admin/warm`: warms the spec, streaming [`WarmProgress`] lines.
pub async fn warm(State(state): State<GatewayState>, Json(spec): Json<WarmSpec>) -> Response {
    let rx = match start_warm(state, &spec) {
        Ok(rx) => rx,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let lines = tokio_stream_from(rx).map(|line| Ok::<_, std::convert::Infallible>(line + "\n"));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// Starts warming `spec` through `state`'s request path; the receiver gets
/// one [`WarmProgress`] JSON line every 250 ms and a last one with
/// `finished` set. Dropping it stops the run.
pub fn start_warm(
    state: GatewayState,
    spec: &WarmSpec,
) -> Result<tokio::sync::mpsc::Receiver<String>, String> {
    let plan = plan(state.catalog.snapshot(), spec)?;
    let concurrency = spec
        .concurrency
        .unwrap_or(16)
        .clamp(1, MAX_WARM_CONCURRENCY);
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(4);
    tokio::spawn(run_warm(state, plan, concurrency, tx));
    Ok(rx)
}

/// `GET /admin/stats`.
pub async fn stats(State(state): State<GatewayState>) -> Json<AdminStats> {
    Json(stats_of(&state).await)
}

/// The cache, catalog, queue and warming statistics of `state`.
pub async fn stats_of(state: &GatewayState) -> AdminStats {
    let catalog = state.catalog.snapshot();
    let (l1_entries, l1_bytes) = state.tiles.usage().await;
    AdminStats {
        l1_entries,
        l1_bytes,
        layers: catalog.layers.len(),
        fields: catalog.layers.values().map(|l| l.fields.len()).sum(),
        queue_depths: state.queue.depths(),
        warm: state
            .warm_ledger
            .as_ref()
            .map(|l| l.counts())
            .unwrap_or_default(),
        misses: state.warm_ledger.as_ref().map(|l| l.misses()),
    }
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<String>,
) -> impl futures::Stream<Item = String> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Drives the jobs `concurrency` at a time, reporting every 250 ms and at
/// the end; stops when nobody reads the report any more.
async fn run_warm(
    state: GatewayState,
    plan: WarmPlan,
    concurrency: usize,
    tx: tokio::sync::mpsc::Sender<String>,
) {
    let started = Instant::now();
    let counts = Arc::new(Counts::default());
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let total = plan.len() as u64;
    let report = |finished: bool| {
        let done = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (rendered, cached, failed) = (
            done(&counts.rendered),
            done(&counts.cached),
            done(&counts.failed),
        );
        let elapsed = started.elapsed().as_secs_f64();
        let line = WarmProgress {
            total,
            rendered,
            cached,
            failed,
            elapsed_s: elapsed,
            rate: (rendered + cached) as f64 / elapsed.max(1e-9),
            first_error: first_error.lock().map(|e| e.clone()).unwrap_or(None),
            finished,
        };
        serde_json::to_string(&line).unwrap_or_default()
    };
    // Jobs are planned as they are taken, so a large spec costs no memory.
    let work = futures::stream::iter(plan.jobs())
        .map(|planned| {
            let (state, counts, first_error) = (&state, counts.clone(), first_error.clone());
            async move {
                let result = match planned {
                    Ok((job, immutable)) => render_planned(state, &job, immutable)
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(tile) if tile.tier == CacheTier::Miss => &counts.rendered,
                    Ok(_) => &counts.cached,
                    Err(e) => {
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert(e);
                        }
                        &counts.failed
                    }
                }
                .fetch_add(1, Ordering::Relaxed);
            }
        })
        .buffer_unordered(concurrency)
        .for_each(|()| async {});
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            () = &mut work => break,
            _ = ticks.tick() => {
                if tx.send(report(false)).await.is_err() {
                    tracing::info!("warm run stopped: its client left");
                    return;
                }
            }
        }
    }
    // Runs that rendered enough to time set the rate estimates use.
    let rendered = counts.rendered.load(Ordering::Relaxed);
    if rendered >= 16 {
        state
            .warm_rate
            .set(rendered as f64 / started.elapsed().as_secs_f64().max(1e-9));
    }
    let _ = tx.send(report(true)).await;
    tracing::info!(total, elapsed = ?started.elapsed(), "warm run finished");
}

#[derive(Default)]
struct Counts {
    rendered: AtomicU64,
    cached: AtomicU64,
    failed: AtomicU64,
}

/// The tiles of a [`WarmSpec`], as blocks of one layer, style, dimensions,
/// tile matrix set and zoom; each tile is planned only when taken.
pub struct WarmPlan {
    catalog: Arc<Catalog>,
    blocks: Vec<Block>,
    tiles: usize,
}

#[derive(Clone)]
struct Block {
    layer: String,
    style: String,
    dims: DimensionQuery,
    tms: TileMatrixSetId,
    z: u8,
    range: crate::ogc::grid::TileRange,
}

impl Block {
    fn request(&self, x: u32, y: u32) -> TileRequest {
        TileRequest {
            layer: self.layer.clone(),
            style: self.style.clone(),
            tms: self.tms,
            z: self.z.into(),
            x,
            y,
            tile_size: 256,
            format: ImageFormat::Png,
            dims: self.dims.clone(),
            style_params: Default::default(),
        }
    }

    fn plan(&self, catalog: &Catalog, x: u32, y: u32) -> Result<(RenderJob, bool), String> {
        let (mut job, immutable) = plan_tile(catalog, &self.request(x, y))
            .map_err(|e| format!("{}/{} z{}: {e}", self.layer, self.style, self.z))?;
        job.priority = Priority::Warm;
        Ok((job, immutable))
    }
}

impl WarmPlan {
    /// Tiles in the plan.
    pub fn len(&self) -> usize {
        self.tiles
    }

    pub fn is_empty(&self) -> bool {
        self.tiles == 0
    }

    /// Every tile planned as a warm-priority job, in zoom order.
    pub fn jobs(&self) -> impl Iterator<Item = Result<(RenderJob, bool), String>> + Send + 'static {
        let catalog = self.catalog.clone();
        self.blocks.clone().into_iter().flat_map(move |block| {
            let (catalog, r) = (catalog.clone(), block.range);
            (r.min_row..=r.max_row)
                .flat_map(move |y| (r.min_col..=r.max_col).map(move |x| (x, y)))
                .map(move |(x, y)| block.plan(&catalog, x, y))
        })
    }
}

/// The plan of `spec` against `catalog`; errors name what is wrong with
/// the spec (each block's first tile is planned to find out).
pub fn plan(catalog: Arc<Catalog>, spec: &WarmSpec) -> Result<WarmPlan, String> {
    let (z0, z1) = spec.zooms;
    if z0 > z1 || z1 > protocol::tms::MAX_ZOOM {
        return Err(format!(
            "zooms {z0}-{z1}: give lo-hi within 0-{}",
            protocol::tms::MAX_ZOOM
        ));
    }
    let layers: Vec<&str> = if spec.layers.is_empty() {
        catalog.layers.keys().map(String::as_str).collect()
    } else {
        spec.layers.iter().map(String::as_str).collect()
    };
    let tms: Vec<TileMatrixSetId> = if spec.tms.is_empty() {
        vec![TileMatrixSetId::WebMercatorQuad]
    } else {
        spec.tms
            .iter()
            .map(|t| {
                TileMatrixSetId::parse(t).ok_or_else(|| format!("unknown tile matrix set {t}"))
            })
            .collect::<Result<_, _>>()?
    };
    let bbox = match spec.bbox {
        Some([w, s, e, n]) if w < e && s < n && [w, s, e, n].iter().all(|v| v.is_finite()) => {
            Some(LonLatBox {
                west: w,
                south: s,
                east: e,
                north: n,
            })
        }
        Some(b) => return Err(format!("bbox {b:?}: give west,south,east,north")),
        None => None,
    };
    let styles: Vec<String> = if spec.styles.is_empty() {
        vec![protocol::style::StyleKind::Gradient.name().to_owned()]
    } else {
        spec.styles.clone()
    };
    let (mut blocks, mut tiles) = (Vec::new(), 0usize);
    for name in layers {
        let layer = catalog
            .layer(name)
            .ok_or_else(|| format!("unknown layer {name}"))?;
        let extent = layer_wgs84_box(layer);
        let area = match bbox {
            Some(b) => LonLatBox {
                west: b.west.max(extent.west),
                south: b.south.max(extent.south),
                east: b.east.min(extent.east),
                north: b.north.min(extent.north),
            },
            None => extent,
        };
        if area.west >= area.east || area.south >= area.north {
            continue; // the box misses this layer
        }
        let dims_list = dimensions(layer.info.kind, spec);
        for z in z0..=z1 {
            for &set in &tms {
                let range = tile_range(set, z, &area);
                for dims in &dims_list {
                    for style in &styles {
                        let block = Block {
                            layer: name.to_owned(),
                            style: style.clone(),
                            dims: dims.clone(),
                            tms: set,
                            z,
                            range,
                        };
                        block.plan(&catalog, range.min_col, range.min_row)?;
                        tiles += (range.max_col - range.min_col + 1) as usize
                            * (range.max_row - range.min_row + 1) as usize;
                        if tiles > MAX_WARM_TILES {
                            return Err(format!(
                                "more than {MAX_WARM_TILES} tiles: warm fewer zooms or a smaller box"
                            ));
                        }
                        blocks.push(block);
                    }
                }
            }
        }
    }
    Ok(WarmPlan {
        catalog,
        blocks,
        tiles,
    })
}

/// The dimension queries of `spec` for a layer of `kind`.
fn dimensions(kind: LayerKind, spec: &WarmSpec) -> Vec<DimensionQuery> {
    match kind {
        LayerKind::Model if !spec.forecasts.is_empty() => spec
            .forecasts
            .iter()
            .map(|&h| DimensionQuery {
                run: spec.run,
                forecast_hours: Some(h),
                ..Default::default()
            })
            .collect(),
        LayerKind::Model => vec![DimensionQuery {
            run: spec.run,
            ..Default::default()
        }],
        LayerKind::Observation if !spec.times.is_empty() => spec
            .times
            .iter()
            .map(|&t| DimensionQuery {
                time: Some(t),
                ..Default::default()
            })
            .collect(),
        LayerKind::Observation => vec![DimensionQuery::default()],
    }
}
