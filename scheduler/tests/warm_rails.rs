//! The scheduler's warming under its rails: the hot set resized by what
//! became of its tiles, warm jobs paced (not dropped) when the queue is
//! full, and held back while users' renders are slow. The queue here is a
//! recorder of what the scheduler hands it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use protocol::catalog::{FieldId, SharedCatalog};
use protocol::demand::{DemandCounts, TilePosition};
use protocol::layers::LayerCatalogue;
use protocol::warm_budget::{WarmBudget, WarmBudgetConfig};
use protocol::{
    ImageFormat, RenderError, RenderJob, RenderQueue, TileKey, TileMatrixSetId, WarmObserver,
    WarmOutcomes, WarmSource,
};
use scheduler::{Ingestor, Scheduler, WarmOptions};

/// Holds what it is given, up to `capacity` at a time.
struct Recorder {
    jobs: Mutex<Vec<RenderJob>>,
    capacity: usize,
}

impl Recorder {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            jobs: Mutex::default(),
            capacity,
        })
    }

    fn take(&self) -> Vec<RenderJob> {
        std::mem::take(&mut *self.jobs.lock().unwrap())
    }
}

#[async_trait]
impl RenderQueue for Recorder {
    async fn render(&self, _job: RenderJob) -> Result<Bytes, RenderError> {
        Err(RenderError::Internal("these tests only queue".into()))
    }

    fn enqueue(&self, job: RenderJob) -> bool {
        let mut jobs = self.jobs.lock().unwrap();
        if jobs.len() >= self.capacity {
            return false;
        }
        jobs.push(job);
        true
    }
}

/// Reports fixed outcomes, as a gateway's warm ledger would.
struct Outcomes(WarmOutcomes);

impl WarmObserver for Outcomes {
    fn queued(&self, _key: &TileKey, _source: WarmSource) {}

    fn outcomes(&self) -> Option<WarmOutcomes> {
        Some(self.0)
    }
}

/// A scheduler over one ingested GFS hour, and that hour's fields.
async fn scheduler_over_one_hour(
    queue: Arc<Recorder>,
    warm: WarmOptions,
) -> (Scheduler, SharedCatalog, Vec<(String, FieldId)>) {
    let data = tempfile::tempdir().unwrap();
    let opts = demo::DemoOptions {
        hours: 0,
        radar_frames: 0,
        grid_coarsening: 4,
        ..Default::default()
    };
    let report = demo::write_demo_data(data.path(), &opts).unwrap();
    let gfs = report
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().contains("f000"))
        .unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&gfs.path, store_dir.path().join("gfs.f000.grib2")).unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(store_dir.path()).unwrap());
    let catalog = SharedCatalog::default();
    let ingestor = Ingestor::new(store, LayerCatalogue::builtin(), catalog.clone());
    let report = ingestor.ingest_object("gfs.f000.grib2").await.unwrap();
    // Keep the store alive for the test's length.
    std::mem::forget(store_dir);
    let scheduler = Scheduler::new(ingestor, queue, None, warm);
    (scheduler, catalog, report.fields)
}

fn hot_positions(n: u32) -> Arc<DemandCounts> {
    let demand = Arc::new(DemandCounts::new(10_000));
    for x in 0..n {
        let position = TilePosition {
            layer: "gfs_TMP_2m".into(),
            style: "gradient".into(),
            style_params: Default::default(),
            tms: TileMatrixSetId::WebMercatorQuad,
            z: 6,
            x,
            y: 12,
            tile_size: 256,
            format: ImageFormat::Png,
            elevation: None,
        };
        demand.add(position, 5.0);
    }
    demand
}

fn hot_set_outcomes(used: u64, wasted: u64, misses: u64) -> WarmOutcomes {
    let mut o = WarmOutcomes {
        misses,
        ..Default::default()
    };
    o.used[WarmSource::HotSet.index()] = used;
    o.wasted[WarmSource::HotSet.index()] = wasted;
    o
}

#[tokio::test]
async fn a_hot_set_whose_tiles_go_unused_shrinks_and_one_users_still_miss_grows() {
    for (outcomes, expected, what) in [
        (hot_set_outcomes(50, 50, 0), 30, "precision 0.5: 40 → 30"),
        (
            hot_set_outcomes(100, 0, 300),
            50,
            "precision 1, recall 0.25: 40 → 50",
        ),
        (
            hot_set_outcomes(95, 5, 5),
            40,
            "precision 0.95, recall 0.95: kept",
        ),
    ] {
        let queue = Recorder::new(usize::MAX);
        let (scheduler, catalog, fields) =
            scheduler_over_one_hour(queue.clone(), WarmOptions::Off).await;
        let scheduler = scheduler
            .with_hot_set(hot_positions(60), 40)
            .with_warm_observer(Arc::new(Outcomes(outcomes)));
        let queued = scheduler.warm(&catalog.snapshot(), &fields);
        assert_eq!(queued, expected, "{what}");
        assert!(
            queue
                .take()
                .iter()
                .all(|j| j.key.layer == "gfs_TMP_2m" && j.key.z == 6),
            "only hot positions"
        );
    }
}

#[tokio::test]
async fn warm_jobs_wait_for_room_in_the_queue_instead_of_being_dropped() {
    let queue = Recorder::new(5);
    let (scheduler, catalog, fields) =
        scheduler_over_one_hour(queue.clone(), WarmOptions::MaxZoom(1)).await;
    let planned = 5 * fields.len();
    // Only as many as the queue holds go in at once ...
    assert_eq!(scheduler.warm(&catalog.snapshot(), &fields), 5);
    // ... the rest follow as workers take jobs.
    let mut taken = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while taken.len() < planned && Instant::now() < deadline {
        taken.extend(queue.take());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(taken.len(), planned, "every warm job queued in the end");
}

#[tokio::test]
async fn warming_waits_while_users_renders_are_slow() {
    let queue = Recorder::new(usize::MAX);
    let (scheduler, catalog, fields) =
        scheduler_over_one_hour(queue.clone(), WarmOptions::MaxZoom(0)).await;
    let budget = Arc::new(WarmBudget::new(WarmBudgetConfig {
        jobs_per_sec: None,
        pause_after: Some(Duration::from_millis(50)),
        pressure_memory: Duration::from_millis(500),
    }));
    let scheduler = scheduler.with_budget(budget.clone());
    budget.observe_interactive(Duration::from_secs(1));
    let paused_at = Instant::now();
    assert_eq!(scheduler.warm(&catalog.snapshot(), &fields), 0, "paused");
    let deadline = Instant::now() + Duration::from_secs(30);
    while queue.jobs.lock().unwrap().len() < fields.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Queued once the slow render was no longer recent.
    assert_eq!(queue.take().len(), fields.len());
    assert!(paused_at.elapsed() >= Duration::from_millis(450));
}
