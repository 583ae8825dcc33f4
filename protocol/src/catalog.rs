//! The catalog: which fields exist, per layer and dimensions, and where each
//! one's bytes are (object key + byte range). Pure data; the embedded role
//! keeps it in memory with a snapshot file, the distributed one in NATS KV.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::style::{ColorMapName, Units};
use crate::tms::LonLatBox;

/// Where one field's encoded bytes live: one GRIB2 message in an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldRef {
    pub object_key: String,
    /// Byte offset of the GRIB2 message in the object.
    pub offset: u64,
    /// Length of the whole message in bytes.
    pub length: u64,
    /// Index of the field inside the message (GRIB2 messages may repeat
    /// sections 2–7); 0 for most files.
    pub submessage: u32,
}

/// A GRIB parameter, with its readable name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub discipline: u8,
    pub category: u8,
    pub number: u8,
    /// wgrib2-style abbreviation, e.g. `TMP`.
    pub short_name: String,
    pub long_name: String,
    /// Units as the data is stored, e.g. `K`.
    pub units: String,
}

/// A level (GRIB fixed surface).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// GRIB code table 4.5 type.
    pub type_code: u8,
    /// Level value in the type's units (m, Pa, …), when it has one.
    pub value: Option<f64>,
    /// Readable, e.g. `2 m above ground`.
    pub label: String,
}

/// Shape of a field's grid, for capabilities and feature info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSummary {
    /// GRIB grid definition template number (3.x).
    pub template: u16,
    pub ni: u32,
    pub nj: u32,
    /// Geographic bounds of the grid.
    pub bbox: LonLatBox,
}

/// One field: a parameter on a level at a valid time of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEntry {
    pub layer: String,
    pub parameter: Parameter,
    pub level: Level,
    pub run: DateTime<Utc>,
    pub valid: DateTime<Utc>,
    /// Value of the `elevation` dimension for levelled layers.
    pub elevation: Option<String>,
    pub grid: GridSummary,
    pub source: FieldRef,
}

/// Whether a layer's time axis is forecast runs or observation times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerKind {
    /// Dimensions `run` and `forecast`.
    Model,
    /// Dimension `time`.
    Observation,
}

/// A layer's description and default style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub name: String,
    pub title: String,
    pub kind: LayerKind,
    pub units: Units,
    pub display_units: Units,
    pub colormap: ColorMapName,
    /// Default ramp range in display units.
    pub range: (f32, f32),
    /// Values below this (display units) are drawn transparent.
    pub transparent_below: Option<f32>,
    /// Unit label of the elevation dimension, when the layer has one.
    pub elevation_units: Option<String>,
    /// For vector layers (wind): the layer holding the v component. This
    /// layer's own fields are the u component.
    #[serde(default)]
    pub pair: Option<String>,
}

/// Identifies a field within its layer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FieldId {
    pub run: DateTime<Utc>,
    pub valid: DateTime<Utc>,
    pub elevation: Option<String>,
}

/// A layer: its description and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerEntry {
    pub info: LayerInfo,
    pub fields: BTreeMap<FieldId, FieldEntry>,
    /// Union of the fields' grid bounds.
    pub bbox: LonLatBox,
}

/// What a request asks of the dimensions; `None` means "the default".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DimensionQuery {
    pub run: Option<DateTime<Utc>>,
    /// Forecast lead time in hours.
    pub forecast_hours: Option<f64>,
    /// Valid (observation) time.
    pub time: Option<DateTime<Utc>>,
    pub elevation: Option<String>,
}

/// Why a dimension query matched nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown layer {0}")]
    UnknownLayer(String),
    #[error("no run {0} for this layer")]
    NoSuchRun(String),
    #[error("no field for {dimension}={value} in this layer")]
    NoSuchValue {
        dimension: &'static str,
        value: String,
    },
    #[error("the layer has no data")]
    Empty,
}

/// All layers, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub layers: BTreeMap<String, LayerEntry>,
}

impl Catalog {
    /// Adds a field (replacing one with the same identity), creating its
    /// layer from `info` when new.
    /// Adds `field` to its layer; returns the field it replaced, if one
    /// with the same run, valid time and elevation was there.
    pub fn insert(&mut self, info: &LayerInfo, field: FieldEntry) -> Option<FieldEntry> {
        let layer = self
            .layers
            .entry(info.name.clone())
            .or_insert_with(|| LayerEntry {
                info: info.clone(),
                fields: BTreeMap::new(),
                bbox: field.grid.bbox,
            });
        layer.bbox = union(layer.bbox, field.grid.bbox);
        let id = FieldId {
            run: field.run,
            valid: field.valid,
            elevation: field.elevation.clone(),
        };
        layer.fields.insert(id, field)
    }

    pub fn layer(&self, name: &str) -> Option<&LayerEntry> {
        self.layers.get(name)
    }

    /// Finds the field a request means. Defaults: the first elevation; a
    /// named forecast hour or valid time from the newest run that has it;
    /// otherwise the default run ([`LayerEntry::default_run`]) at the
    /// valid time nearest `now`.
    pub fn resolve(
        &self,
        layer: &str,
        q: &DimensionQuery,
        now: DateTime<Utc>,
    ) -> Result<&FieldEntry, ResolveError> {
        let entry = self
            .layers
            .get(layer)
            .ok_or_else(|| ResolveError::UnknownLayer(layer.to_owned()))?;
        entry.resolve(q, now)
    }
}

/// Where a model run stands while its forecast hours arrive one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Fewer valid times than the last run of its cycle had: more are on
    /// their way.
    Arriving,
    /// As many valid times as the last run of its cycle (a run with no
    /// earlier run of its cycle counts as complete as it is).
    Complete,
}

/// One run of a layer and how far it has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStatus {
    pub run: DateTime<Utc>,
    /// Distinct valid times ingested.
    pub valid_times: usize,
    pub state: RunState,
}

impl LayerEntry {
    /// Every run, oldest first, with how far it has arrived (over all
    /// elevations).
    pub fn run_status(&self) -> Vec<RunStatus> {
        run_status(self.fields.values())
    }

    /// The run a request without `run` defaults to: the newest complete
    /// one, so a run still arriving never hides the hours only the
    /// previous run has yet.
    pub fn default_run(&self) -> Option<DateTime<Utc>> {
        default_run(self.fields.values())
    }

    /// Distinct runs, newest last.
    pub fn runs(&self) -> Vec<DateTime<Utc>> {
        let mut v: Vec<_> = self.fields.keys().map(|k| k.run).collect();
        v.dedup();
        v
    }

    /// Distinct valid times of `run`, ascending.
    pub fn valid_times(&self, run: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut v: Vec<_> = self
            .fields
            .keys()
            .filter(|k| k.run == run)
            .map(|k| k.valid)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Distinct valid times over all runs, ascending.
    pub fn all_valid_times(&self) -> Vec<DateTime<Utc>> {
        let mut v: Vec<_> = self.fields.keys().map(|k| k.valid).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Distinct elevations, in ascending numeric order where numeric.
    pub fn elevations(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .fields
            .keys()
            .filter_map(|k| k.elevation.clone())
            .collect();
        v.sort_by(|a, b| level_order(a, b));
        v.dedup();
        v
    }

    /// See [`Catalog::resolve`].
    pub fn resolve(
        &self,
        q: &DimensionQuery,
        now: DateTime<Utc>,
    ) -> Result<&FieldEntry, ResolveError> {
        // Every tile request comes through here: no collecting or sorting.
        let levels = || self.fields.keys().filter_map(|k| k.elevation.as_deref());
        let elevation: Option<&str> = match &q.elevation {
            Some(e) => Some(levels().find(|x| same_level(x, e)).ok_or_else(|| {
                ResolveError::NoSuchValue {
                    dimension: "elevation",
                    value: e.clone(),
                }
            })?),
            None => levels().min_by(|a, b| level_order(a, b)),
        };
        let candidates = move || {
            self.fields
                .values()
                .filter(move |f| f.elevation.as_deref() == elevation)
        };

        let run = match q.run {
            Some(r) => {
                if !candidates().any(|f| f.run == r) {
                    return Err(ResolveError::NoSuchRun(r.to_rfc3339()));
                }
                r
            }
            None if q.time.is_some() && self.info.kind == LayerKind::Observation => {
                let t = q.time.unwrap_or(now);
                return candidates().find(|f| f.valid == t).ok_or_else(|| {
                    ResolveError::NoSuchValue {
                        dimension: "time",
                        value: t.to_rfc3339(),
                    }
                });
            }
            // A named forecast hour or valid time comes from the newest run
            // that has it: while a run arrives, its first hours come from it
            // and the rest from the run before.
            None if q.forecast_hours.is_some() || q.time.is_some() => {
                let wanted = |f: &&FieldEntry| match q.forecast_hours {
                    Some(h) => (f.valid - f.run).num_seconds() == (h * 3600.0).round() as i64,
                    None => Some(f.valid) == q.time,
                };
                return candidates()
                    .filter(wanted)
                    .max_by_key(|f| f.run)
                    .ok_or_else(|| match q.forecast_hours {
                        Some(h) => ResolveError::NoSuchValue {
                            dimension: "forecast",
                            value: format!("{h}"),
                        },
                        None => ResolveError::NoSuchValue {
                            dimension: "time",
                            value: q.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        },
                    });
            }
            None => default_run(candidates()).ok_or(ResolveError::Empty)?,
        };
        let in_run = || candidates().filter(move |f| f.run == run);
        if let Some(h) = q.forecast_hours {
            let secs = (h * 3600.0).round() as i64;
            return in_run()
                .find(|f| (f.valid - f.run).num_seconds() == secs)
                .ok_or_else(|| ResolveError::NoSuchValue {
                    dimension: "forecast",
                    value: format!("{h}"),
                });
        }
        if let Some(t) = q.time {
            return in_run()
                .find(|f| f.valid == t)
                .ok_or_else(|| ResolveError::NoSuchValue {
                    dimension: "time",
                    value: t.to_rfc3339(),
                });
        }
        in_run()
            .min_by_key(|f| (f.valid - now).num_seconds().abs())
            .ok_or(ResolveError::Empty)
    }
}

/// [`LayerEntry::run_status`] over `fields`. A run is measured against the
/// latest earlier run of the same cycle (hour of day): cycles may differ in
/// length (HRRR's 00/06/12/18Z runs reach 48 h, the others 18 h), a cycle
/// from one day to the next does not. A run with no earlier run of its
/// cycle counts as complete, as it is.
fn run_status<'a>(fields: impl Iterator<Item = &'a FieldEntry>) -> Vec<RunStatus> {
    let mut out = Vec::new();
    for_each_run(fields, |status| out.push(status));
    out
}

/// [`LayerEntry::default_run`] over `fields`.
fn default_run<'a>(fields: impl Iterator<Item = &'a FieldEntry>) -> Option<DateTime<Utc>> {
    let mut newest_complete = None;
    for_each_run(fields, |status| {
        if status.state == RunState::Complete {
            newest_complete = Some(status.run);
        }
    });
    newest_complete
}

/// Calls `f` with each run's status, oldest first. `fields` must come in
/// catalog order (by run, then valid time, as [`FieldId`] sorts): one pass,
/// no allocation but a list of the cycles seen, since tile requests
/// without a run call this.
fn for_each_run<'a>(fields: impl Iterator<Item = &'a FieldEntry>, mut f: impl FnMut(RunStatus)) {
    use chrono::Timelike;
    // (cycle, valid times of its latest run); a few entries at most.
    let mut cycles: Vec<((u32, u32), usize)> = Vec::new();
    let mut finish = |run: DateTime<Utc>, valid_times: usize| {
        let cycle = (run.hour(), run.minute());
        let expected = match cycles.iter_mut().find(|(c, _)| *c == cycle) {
            Some((_, last)) => std::mem::replace(last, valid_times),
            None => {
                cycles.push((cycle, valid_times));
                0
            }
        };
        f(RunStatus {
            run,
            valid_times,
            state: if valid_times >= expected {
                RunState::Complete
            } else {
                RunState::Arriving
            },
        });
    };
    // (run, last valid time, distinct valid times so far)
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>, usize)> = None;
    for field in fields {
        match &mut current {
            Some((run, last, count)) if *run == field.run => {
                if field.valid != *last {
                    *last = field.valid;
                    *count += 1;
                }
            }
            _ => {
                if let Some((run, _, count)) = current.take() {
                    finish(run, count);
                }
                current = Some((field.run, field.valid, 1));
            }
        }
    }
    if let Some((run, _, count)) = current {
        finish(run, count);
    }
}

/// The catalog as the roles share it: readers take a cheap snapshot, ingest
/// swaps in a new version, so a request never sees a half-applied update.
#[derive(Debug, Clone, Default)]
pub struct SharedCatalog(std::sync::Arc<std::sync::RwLock<std::sync::Arc<Catalog>>>);

impl SharedCatalog {
    pub fn new(catalog: Catalog) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(
            std::sync::Arc::new(catalog),
        )))
    }

    /// The current version.
    pub fn snapshot(&self) -> std::sync::Arc<Catalog> {
        // A poisoned lock still holds a consistent Arc: writers only swap it.
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Applies `f` to a copy of the current version and publishes it.
    pub fn update<R>(&self, f: impl FnOnce(&mut Catalog) -> R) -> R {
        let mut guard = match self.0.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut next = (**guard).clone();
        let r = f(&mut next);
        *guard = std::sync::Arc::new(next);
        r
    }
}

/// Elevations in ascending numeric order where numeric, else by text.
fn level_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

fn same_level(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

fn union(a: LonLatBox, b: LonLatBox) -> LonLatBox {
    LonLatBox {
        west: a.west.min(b.west),
        south: a.south.min(b.south),
        east: a.east.max(b.east),
        north: a.north.max(b.north),
    }
}

#[cfg(test)]
mod tests {
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
            elevation_units: None,
            pair: None,
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
        // The first run of a cycle has nothing to be measured against.
        assert!(
            layer(&c).run_status()[..2]
                .iter()
                .all(|r| r.state == RunState::Complete)
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
}
