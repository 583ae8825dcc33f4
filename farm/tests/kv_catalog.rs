//! The catalog in NATS KV, watched into a SharedCatalog.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use farm::kv_catalog::KvCatalog;
use farm::topology;
use protocol::catalog::{LayerEntry, LayerInfo, LayerKind, SharedCatalog};
use protocol::style::{ColorMapName, Units};
use protocol::tms::LonLatBox;

fn layer(name: &str, title: &str) -> LayerEntry {
    LayerEntry {
        info: LayerInfo {
            name: name.into(),
            title: title.into(),
            kind: LayerKind::Model,
            units: Units::Kelvin,
            display_units: Units::Celsius,
            colormap: ColorMapName::Temperature,
            range: (-40.0, 45.0),
            transparent_below: None,
            elevation_units: None,
        },
        fields: BTreeMap::new(),
        bbox: LonLatBox {
            west: -180.0,
            south: -90.0,
            east: 180.0,
            north: 90.0,
        },
    }
}

async fn wait_for(shared: &SharedCatalog, f: impl Fn(&protocol::Catalog) -> bool) -> Duration {
    let t = Instant::now();
    while !f(&shared.snapshot()) {
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "not visible within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.elapsed()
}

#[tokio::test]
async fn watchers_see_updates_within_a_second() {
    let nats = common::Server::nats();
    let cfg = common::config(&nats);
    let writer_js = topology::jetstream(
        topology::connect(&cfg).await.unwrap(),
        Duration::from_secs(2),
    );
    let writer = KvCatalog::open(&writer_js, &cfg).await.unwrap();
    writer
        .put_layer(&layer("gfs_TMP_2m", "Temperature"))
        .await
        .unwrap();

    // A second process opening the same bucket sees what is stored...
    let reader_js = topology::jetstream(
        topology::connect(&cfg).await.unwrap(),
        Duration::from_secs(2),
    );
    let reader = KvCatalog::open(&reader_js, &cfg).await.unwrap();
    assert_eq!(reader.load().await.unwrap().layers.len(), 1);
    let shared = SharedCatalog::default();
    let _task = reader.watch(shared.clone()).await.unwrap();
    wait_for(&shared, |c| c.layers.contains_key("gfs_TMP_2m")).await;

    // ...and then every change.
    writer
        .put_layer(&layer("gfs_TMP_2m", "2 m temperature"))
        .await
        .unwrap();
    writer
        .put_layer(&layer("mrms_refl", "Reflectivity"))
        .await
        .unwrap();
    wait_for(&shared, |c| {
        c.layers.len() == 2 && c.layers["gfs_TMP_2m"].info.title == "2 m temperature"
    })
    .await;
    writer.delete_layer("mrms_refl").await.unwrap();
    wait_for(&shared, |c| c.layers.len() == 1).await;
    assert_eq!(writer.load().await.unwrap().layers.len(), 1);
}
