//! The catalog: which fields exist, per layer and dimensions, and where each
//! one's bytes are (object key + byte range). Pure data; the embedded role
//! keeps it in memory with a snapshot file, the distributed one in NATS KV.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::style::{ColorMapName, Units};
use crate::tms::LonLatBox;

mod runs;
pub use runs::{RunState, RunStatus};
use runs::{default_run, newest_whole_time, run_status};

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
    /// Colour of missing points; `None`: transparent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data_color: Option<crate::style::Rgba>,
    /// Unit label of the elevation dimension, when the layer has one.
    pub elevation_units: Option<String>,
    /// For vector layers (wind): the layer holding the v component. This
    /// layer's own fields are the u component.
    #[serde(default)]
    pub pair: Option<String>,
    /// Valid times a complete run has, by cycle (`"00"`…`"23"`, the run's
    /// UTC hour) or `"default"`, from the model's rule. Without an entry
    /// a run is measured against the previous run of its cycle.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expected_valid_times: BTreeMap<String, u32>,
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

impl LayerEntry {
    /// Every run, oldest first, with how far it has arrived (over all
    /// elevations).
    pub fn run_status(&self) -> Vec<RunStatus> {
        run_status(self.fields.values(), &self.info.expected_valid_times)
    }

    /// The run a request without `run` defaults to: the newest complete
    /// one, so a run still arriving never hides the hours only the
    /// previous run has yet.
    pub fn default_run(&self) -> Option<DateTime<Utc>> {
        default_run(self.fields.values(), &self.info.expected_valid_times)
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
            // Observations: the newest time all of whose levels are in.
            None if self.info.kind == LayerKind::Observation => {
                let whole = newest_whole_time(|| self.fields.values());
                return candidates()
                    .filter(|f| whole.is_none_or(|t| f.valid <= t))
                    .max_by_key(|f| f.valid)
                    .ok_or(ResolveError::Empty);
            }
            None => default_run(candidates(), &self.info.expected_valid_times)
                .ok_or(ResolveError::Empty)?,
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
mod tests;
