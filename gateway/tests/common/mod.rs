//! A hand-built catalog shared by the capabilities tests.

#![allow(dead_code)] // each test binary uses a different subset

use chrono::{DateTime, Duration, TimeZone, Utc};
use protocol::Catalog;
use protocol::catalog::{
    FieldEntry, FieldRef, GridSummary, LayerInfo, LayerKind, Level, Parameter,
};
use protocol::style::{ColorMapName, Units};
use protocol::tms::LonLatBox;

pub const BASE: &str = "https://tiles.example.test/wx/";
pub const MODEL: &str = "gfs_TMP_2m";
pub const OBS: &str = "mrms_REFL";
pub const LEVELLED: &str = "gfs_TMP_isbl";
/// The observation layer's title, hostile to naive XML writers.
pub const HOSTILE_TITLE: &str = "Reflectivity <&\"'> dBZ";
/// The observation layer's (regional) extent.
pub const OBS_BOX: LonLatBox = LonLatBox {
    west: -100.3,
    south: 30.2,
    east: -90.7,
    north: 40.6,
};

pub fn r0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

pub fn r1() -> DateTime<Utc> {
    r0() + Duration::hours(6)
}

/// Four hours after the later run: forecast hour 3 is the nearest lead.
pub fn now() -> DateTime<Utc> {
    r1() + Duration::hours(4)
}

pub fn info(name: &str, title: &str, kind: LayerKind, elevation_units: Option<&str>) -> LayerInfo {
    LayerInfo {
        name: name.into(),
        title: title.into(),
        kind,
        units: Units::Kelvin,
        display_units: Units::Celsius,
        colormap: ColorMapName::Temperature,
        range: (-40.0, 45.0),
        transparent_below: None,
        no_data_color: None,
        elevation_units: elevation_units.map(str::to_owned),
        pair: None,
        expected_valid_times: Default::default(),
    }
}

pub fn field(
    layer: &str,
    run: DateTime<Utc>,
    valid: DateTime<Utc>,
    elevation: Option<&str>,
    bbox: LonLatBox,
    ni: u32,
) -> FieldEntry {
    FieldEntry {
        layer: layer.into(),
        parameter: Parameter {
            discipline: 0,
            category: 0,
            number: 0,
            short_name: "TMP".into(),
            long_name: "Temperature".into(),
            units: "K".into(),
        },
        level: Level {
            type_code: 103,
            value: Some(2.0),
            label: "2 m above ground".into(),
        },
        run,
        valid,
        elevation: elevation.map(str::to_owned),
        grid: GridSummary {
            template: 0,
            ni,
            nj: 10,
            bbox,
        },
        source: FieldRef {
            object_key: format!("{layer}/{run}/{valid}"),
            offset: 0,
            length: 1,
            submessage: 0,
        },
    }
}

/// GFS's 0..359.75 longitudes at 0.25°: global once wrapped.
pub const GLOBAL_0_360: LonLatBox = LonLatBox {
    west: 0.0,
    south: -90.0,
    east: 359.75,
    north: 90.0,
};

/// A model layer (2 runs × leads 0, 3, 6), an observation layer (3 times)
/// with a hostile title, and a model layer with two pressure levels.
pub fn catalog() -> Catalog {
    let mut c = Catalog::default();
    let model = info(MODEL, "2 m temperature", LayerKind::Model, None);
    for run in [r0(), r1()] {
        for h in [0, 3, 6] {
            c.insert(
                &model,
                field(
                    MODEL,
                    run,
                    run + Duration::hours(h),
                    None,
                    GLOBAL_0_360,
                    1440,
                ),
            );
        }
    }
    let obs = info(OBS, HOSTILE_TITLE, LayerKind::Observation, None);
    for m in [0, 2, 4] {
        let t = r1() + Duration::minutes(m);
        c.insert(&obs, field(OBS, t, t, None, OBS_BOX, 100));
    }
    let lev = info(
        LEVELLED,
        "Temperature (isobaric)",
        LayerKind::Model,
        Some("hPa"),
    );
    for e in ["850", "500"] {
        for h in [0, 1] {
            c.insert(
                &lev,
                field(
                    LEVELLED,
                    r1(),
                    r1() + Duration::hours(h),
                    Some(e),
                    GLOBAL_0_360,
                    1440,
                ),
            );
        }
    }
    c
}

/// Gateway state over [`catalog`] and `queue`: a 16 MiB L1, no L2, rate
/// limit, prefetch or demand counting.
pub fn state(queue: std::sync::Arc<dyn protocol::RenderQueue>) -> gateway::GatewayState {
    gateway::GatewayState {
        catalog: protocol::catalog::SharedCatalog::new(catalog()),
        queue,
        tiles: gateway::TileCache::new(16 << 20, std::time::Duration::from_secs(60)),
        l2: None,
        config: std::sync::Arc::new(gateway::GatewayConfig::default()),
        rate_limit: None,
        prefetch: None,
        demand: None,
        warm_ledger: None,
        warm_budget: None,
        warm_rate: Default::default(),
    }
}
