//! [`RenderService`]: a job in, tile bytes out. The same code serves the
//! embedded queue and the farm's job loop.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use protocol::{Cancel, FieldRef, Limits, PointSample, RenderError, RenderJob};
use tracing::Instrument;

use crate::grid_source::{GridSource, SourceError};
use protocol::Renderer;
use render::render_tile_until;

/// Fetches, decodes (through the grid cache) and renders.
#[derive(Clone)]
pub struct RenderService {
    source: GridSource,
    limits: Limits,
}

impl RenderService {
    /// A service that holds every job to the default [`Limits`].
    pub fn new(source: GridSource) -> Self {
        // Every outcome's series exists from start-up, so rate() sees the
        // first error.
        for priority in protocol::Priority::ALL {
            for outcome in ["ok", "error", "cancelled"] {
                metrics::counter!("wxfarm_renders_total", "result" => outcome, "priority" => priority.as_str())
                    .absolute(0);
            }
        }
        Self {
            source,
            limits: Limits::default(),
        }
    }

    pub fn source(&self) -> &GridSource {
        &self.source
    }

    /// Renders `job`; the CPU work runs on the blocking pool and stops at
    /// the next stage boundary once `cancel` is set.
    pub async fn render(&self, job: &RenderJob, cancel: &Cancel) -> Result<Bytes, RenderError> {
        let result = self.render_uncounted(job, cancel).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(RenderError::Cancelled) => "cancelled",
            Err(_) => "error",
        };
        metrics::counter!("wxfarm_renders_total", "result" => outcome, "priority" => job.priority.as_str()).increment(1);
        result
    }

    async fn render_uncounted(
        &self,
        job: &RenderJob,
        cancel: &Cancel,
    ) -> Result<Bytes, RenderError> {
        // Jobs may come off the network from anyone: size them before
        // fetching or allocating anything.
        job.check(&self.limits)
            .map_err(|e| RenderError::Invalid(format!("job over budget: {e}")))?;
        let started = std::time::Instant::now();
        let grids = futures::future::try_join_all(job.sources.iter().map(|f| self.source.grid(f)))
            .instrument(tracing::info_span!("grids", fields = job.sources.len()))
            .await
            .map_err(|e: SourceError| RenderError::Data(e.to_string()))?;
        // Fetch and decode, or a grid cache hit.
        metrics::histogram!("wxfarm_render_stage_duration_seconds", "stage" => "grids")
            .record(started.elapsed());
        cancel.check()?;
        let (job, cancel) = (job.clone(), cancel.clone());
        let span = tracing::info_span!("draw", style = job.style.kind.name());
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let started = std::time::Instant::now();
            let refs: Vec<_> = grids.iter().map(Arc::as_ref).collect();
            let tile = render_tile_until(&refs, &job, &cancel).map(Bytes::from);
            metrics::histogram!("wxfarm_render_stage_duration_seconds", "stage" => "draw")
                .record(started.elapsed());
            tile
        })
        .await
        .map_err(|e| RenderError::Internal(format!("render task: {e}")))?
    }
}

#[async_trait]
impl Renderer for RenderService {
    async fn render(&self, job: &RenderJob, cancel: &Cancel) -> Result<Bytes, RenderError> {
        RenderService::render(self, job, cancel).await
    }

    async fn sample(
        &self,
        fields: &[FieldRef],
        lon: f64,
        lat: f64,
    ) -> Result<Vec<PointSample>, RenderError> {
        let mut out = Vec::with_capacity(fields.len());
        for field in fields {
            let grid = self
                .source
                .grid(field)
                .await
                .map_err(|e| RenderError::Data(e.to_string()))?;
            out.push(sample_point(&grid, lon, lat));
        }
        Ok(out)
    }
}

/// The interpolated value at (lon, lat) and the nearest grid point; for
/// imagery ([`protocol::Grid::is_imagery`]) the value of the pixel there.
pub fn sample_point(grid: &protocol::Grid, lon: f64, lat: f64) -> PointSample {
    match grid.locate(lon, lat) {
        Some((i, j)) => {
            let (ri, rj) = (
                i.round().clamp(0.0, grid.ni as f64 - 1.0),
                j.round().clamp(0.0, grid.nj as f64 - 1.0),
            );
            let v = if grid.is_imagery() {
                grid.value(ri as usize, rj as usize)
            } else {
                render::value_at(grid, i as f32, j as f32)
            };
            let (glon, glat) = grid.lonlat(ri, rj);
            PointSample {
                value: v.is_finite().then_some(v),
                grid_lon: (glon + 180.0).rem_euclid(360.0) - 180.0,
                grid_lat: glat,
            }
        }
        None => PointSample {
            value: None,
            grid_lon: lon,
            grid_lat: lat,
        },
    }
}
