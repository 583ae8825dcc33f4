//! Polling ingest never loses a file: one caught half-copied is retried
//! when it changes, and in-progress names are never read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::local::LocalFileSystem;
use protocol::catalog::SharedCatalog;
use protocol::layers::LayerCatalogue;
use scheduler::{Ingestor, ScanState};

fn demo_file() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let opts = demo::DemoOptions {
        hours: 0,
        radar_frames: 0,
        grid_coarsening: 4,
        ..Default::default()
    };
    let report = demo::write_demo_data(dir.path(), &opts).unwrap();
    let gfs = report
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().contains("f000"))
        .unwrap();
    std::fs::read(&gfs.path).unwrap()
}

#[tokio::test]
async fn a_half_copied_file_is_ingested_once_complete() {
    let bytes = demo_file();
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(store_dir.path()).unwrap());
    let catalog = SharedCatalog::default();
    let ingestor = Ingestor::new(store, LayerCatalogue::builtin(), catalog.clone());
    let mut state = ScanState::default();

    // Mid-copy: the first 60 % of the file, and a temporary name.
    let path = store_dir.path().join("gfs.f000.grib2");
    std::fs::write(&path, &bytes[..bytes.len() * 6 / 10]).unwrap();
    std::fs::write(store_dir.path().join("next.grib2.part"), &bytes).unwrap();
    let reports = ingestor.scan(None, &mut state).await;
    let first_fields: usize = reports.iter().map(|r| r.fields_added).sum();
    assert!(
        state.failed().contains("gfs.f000.grib2") || first_fields < 5,
        "truncated: {first_fields} fields"
    );
    assert!(
        reports.iter().all(|r| !r.object_key.ends_with(".part")),
        "in-progress names are not read"
    );

    // The copy completes; scans pick it up once it has settled.
    std::fs::write(&path, &bytes).unwrap();
    let started = Instant::now();
    let mut fields = 0;
    while fields == 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        fields = ingestor
            .scan(None, &mut state)
            .await
            .iter()
            .map(|r| r.fields_added)
            .sum();
    }
    assert_eq!(fields, 5, "every field of the complete file");
    assert!(state.failed().is_empty());
    // Unchanged, it is not read again.
    assert!(ingestor.scan(None, &mut state).await.is_empty());
    assert!(catalog.snapshot().layers.contains_key("gfs_TMP_2m"));
}
