use super::*;
use chrono::{Duration, TimeZone};

fn info(kind: LayerKind) -> LayerInfo {
    LayerInfo {
        name: "gfs_TMP_2m".into(),
        title: "Temperature".into(),
        kind,
        units: Units::Kelvin,
        display_units: Units::Celsius,
        colormap: ColorMapName::Temperature,
        range: (-40.0, 45.0),
        transparent_below: None,
        no_data_color: None,
        elevation_units: None,
        pair: None,
        expected_valid_times: Default::default(),
    }
}

fn field(run: DateTime<Utc>, h: i64, elevation: Option<&str>) -> FieldEntry {
    FieldEntry {
        layer: "gfs_TMP_2m".into(),
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
        valid: run + Duration::hours(h),
        elevation: elevation.map(str::to_owned),
        grid: GridSummary {
            template: 0,
            ni: 4,
            nj: 3,
            bbox: LonLatBox {
                west: 0.0,
                south: -10.0,
                east: 30.0,
                north: 10.0,
            },
        },
        source: FieldRef {
            object_key: format!("f{h}"),
            offset: 0,
            length: 1,
            submessage: 0,
        },
    }
}

#[test]
fn defaults_pick_latest_run_and_nearest_valid_time() {
    let r0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let r1 = r0 + Duration::hours(6);
    let mut c = Catalog::default();
    for h in 0..6 {
        c.insert(&info(LayerKind::Model), field(r0, h, None));
        c.insert(&info(LayerKind::Model), field(r1, h, None));
    }
    let now = r1 + Duration::minutes(130);
    let f = c
        .resolve("gfs_TMP_2m", &DimensionQuery::default(), now)
        .unwrap();
    assert_eq!((f.run, f.valid), (r1, r1 + Duration::hours(2)));

    let q = DimensionQuery {
        run: Some(r0),
        forecast_hours: Some(5.0),
        ..Default::default()
    };
    let f = c.resolve("gfs_TMP_2m", &q, now).unwrap();
    assert_eq!((f.run, f.valid), (r0, r0 + Duration::hours(5)));

    let q = DimensionQuery {
        forecast_hours: Some(7.0),
        ..Default::default()
    };
    assert!(matches!(
        c.resolve("gfs_TMP_2m", &q, now),
        Err(ResolveError::NoSuchValue { .. })
    ));
    assert!(matches!(
        c.resolve("nope", &DimensionQuery::default(), now),
        Err(ResolveError::UnknownLayer(_))
    ));
    assert_eq!(c.layers["gfs_TMP_2m"].runs(), vec![r0, r1]);
}

#[test]
fn a_run_arriving_hour_by_hour_breaks_no_request_and_becomes_default_when_complete() {
    let day1 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let (r00, r06, next00) = (day1, day1 + Duration::hours(6), day1 + Duration::hours(24));
    let mut c = Catalog::default();
    for h in 0..=6 {
        c.insert(&info(LayerKind::Model), field(r00, h, None));
        c.insert(&info(LayerKind::Model), field(r06, h, None));
    }
    let now = next00 + Duration::minutes(30);
    let queries: Vec<DimensionQuery> = std::iter::once(DimensionQuery::default())
        .chain((0..=6).map(|h| DimensionQuery {
            forecast_hours: Some(h as f64),
            ..Default::default()
        }))
        .chain((0..=6).map(|h| DimensionQuery {
            time: Some(r06 + Duration::hours(h)),
            ..Default::default()
        }))
        .collect();
    let layer = |c: &Catalog| c.layers["gfs_TMP_2m"].clone();
    assert_eq!(layer(&c).default_run(), Some(r06));
    for h in 0..=6 {
        c.insert(&info(LayerKind::Model), field(next00, h, None));
        let l = layer(&c);
        for q in &queries {
            assert!(
                l.resolve(q, now).is_ok(),
                "{q:?} fails with {} hours in",
                h + 1
            );
        }
        // Hours the new run has come from it.
        let q = DimensionQuery {
            forecast_hours: Some(h as f64),
            ..Default::default()
        };
        assert_eq!(l.resolve(&q, now).unwrap().run, next00);
        let status = l.run_status();
        let newest = status.last().unwrap();
        if h < 6 {
            assert_eq!(l.default_run(), Some(r06), "arriving: {newest:?}");
            assert_eq!(newest.state, RunState::Arriving);
            assert_eq!(newest.valid_times, h as usize + 1);
        } else {
            assert_eq!(l.default_run(), Some(next00), "complete: {newest:?}");
            assert_eq!(newest.state, RunState::Complete);
        }
    }
    // Older runs than the default are listed as expired (still served
    // when named).
    let status = layer(&c).run_status();
    assert_eq!(
        status.iter().map(|r| r.state).collect::<Vec<_>>(),
        [RunState::Expired, RunState::Expired, RunState::Complete]
    );
    assert!(
        layer(&c)
            .resolve(
                &DimensionQuery {
                    run: Some(r00),
                    ..Default::default()
                },
                now
            )
            .is_ok()
    );
}

#[test]
fn a_layer_rule_says_how_many_hours_a_complete_run_has() {
    let day1 = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let (r00, r01) = (day1, day1 + Duration::hours(1));
    // HRRR-like: 00Z runs reach +4 h, the other cycles +2 h.
    let mut rule = info(LayerKind::Model);
    rule.expected_valid_times = [("default".to_owned(), 3), ("00".to_owned(), 5)].into();
    let mut c = Catalog::default();
    for h in 0..=3 {
        c.insert(&rule, field(r00, h, None));
    }
    // The first 00Z run: 4 of 5 hours, so arriving though no run of its
    // cycle came before, and nothing is complete to default to yet.
    let l = &c.layers["gfs_TMP_2m"];
    assert_eq!(l.run_status()[0].state, RunState::Arriving);
    assert_eq!(l.default_run(), None);
    c.insert(&rule, field(r00, 4, None));
    assert_eq!(c.layers["gfs_TMP_2m"].default_run(), Some(r00));
    // An 01Z run is complete at 3 hours (the default entry).
    for h in 0..=1 {
        c.insert(&rule, field(r01, h, None));
    }
    assert_eq!(c.layers["gfs_TMP_2m"].default_run(), Some(r00));
    c.insert(&rule, field(r01, 2, None));
    let l = &c.layers["gfs_TMP_2m"];
    assert_eq!(l.default_run(), Some(r01));
    assert_eq!(
        l.run_status().iter().map(|r| r.state).collect::<Vec<_>>(),
        [RunState::Expired, RunState::Complete]
    );
}

#[test]
fn elevations_are_numeric_and_matched_numerically() {
    let r0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut c = Catalog::default();
    for e in ["850", "1000", "50000"] {
        c.insert(&info(LayerKind::Model), field(r0, 0, Some(e)));
    }
    let l = &c.layers["gfs_TMP_2m"];
    assert_eq!(l.elevations(), vec!["850", "1000", "50000"]);
    let q = DimensionQuery {
        elevation: Some("1000.0".into()),
        ..Default::default()
    };
    assert_eq!(
        l.resolve(&q, r0).unwrap().elevation.as_deref(),
        Some("1000")
    );
}

#[test]
fn an_observation_time_arriving_level_by_level_is_not_the_default_until_whole() {
    let t1 = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let t2 = t1 + Duration::minutes(2);
    let obs = info(LayerKind::Observation);
    // An observation's run is its time.
    let at = |t: DateTime<Utc>, level: &str| field(t, 0, Some(level));
    let mut c = Catalog::default();
    for level in ["500", "1000"] {
        c.insert(&obs, at(t1, level));
    }
    c.insert(&obs, at(t2, "500"));
    let default_at = |c: &Catalog, level: &str| {
        let q = DimensionQuery {
            elevation: Some(level.into()),
            ..Default::default()
        };
        c.layers["gfs_TMP_2m"].resolve(&q, t2).unwrap().valid
    };
    // t2 has one level of two: both levels still default to t1 ...
    assert_eq!(default_at(&c, "500"), t1);
    assert_eq!(default_at(&c, "1000"), t1);
    // ... though t2 is served when asked for by name.
    let named = DimensionQuery {
        time: Some(t2),
        elevation: Some("500".into()),
        ..Default::default()
    };
    assert_eq!(
        c.layers["gfs_TMP_2m"].resolve(&named, t2).unwrap().valid,
        t2
    );
    c.insert(&obs, at(t2, "1000"));
    assert_eq!(default_at(&c, "500"), t2);
    assert_eq!(default_at(&c, "1000"), t2);
}
