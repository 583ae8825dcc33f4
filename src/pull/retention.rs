//! Retention: a followed source keeps its newest N runs (models) or H hours
//! (observations); older objects leave the catalog, then the store. The run
//! a layer serves by default, and an observation layer's newest time, are
//! never deleted.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use object_store::ObjectStore;
use object_store::path::Path;
use protocol::catalog::SharedCatalog;

use super::sources::{Source, SourceKind};

/// What to keep of one source's objects (those under `prefix/` in the store).
#[derive(Debug, Clone)]
pub struct Keep {
    /// Store prefix of the source's objects (its bucket's name).
    pub prefix: String,
    pub runs: Option<usize>,
    pub hours: Option<u32>,
    pub kind: SourceKind,
}

impl Keep {
    pub fn of(source: &Source) -> Self {
        Self {
            prefix: source.bucket.clone(),
            runs: source.keep_runs,
            hours: source.keep_hours,
            kind: source.kind,
        }
    }
}

/// The objects `keep` lets go, from the catalog's fields.
pub fn doomed(catalog: &protocol::Catalog, keep: &Keep, now: DateTime<Utc>) -> BTreeSet<String> {
    let prefix = format!("{}/", keep.prefix);
    let ours = || {
        catalog.layers.values().flat_map(|l| {
            l.fields
                .values()
                .filter(|f| f.source.object_key.starts_with(&prefix))
                .map(move |f| (l, f))
        })
    };
    // Never what a layer serves by default.
    let mut protected_runs = BTreeSet::new();
    let mut protected_valid = BTreeSet::new();
    for (layer, _) in ours() {
        if let Some(run) = layer.default_run() {
            protected_runs.insert(run);
        }
        if let Some(newest) = layer.fields.keys().map(|k| k.valid).max() {
            protected_valid.insert(newest);
        }
    }
    let mut out = BTreeSet::new();
    match (keep.kind, keep.runs, keep.hours) {
        (SourceKind::Model, Some(n), _) => {
            let runs: BTreeSet<_> = ours().map(|(_, f)| f.run).collect();
            let kept: BTreeSet<_> = runs.iter().rev().take(n.max(1)).copied().collect();
            for (_, f) in ours() {
                if !kept.contains(&f.run) && !protected_runs.contains(&f.run) {
                    out.insert(f.source.object_key.clone());
                }
            }
        }
        (SourceKind::Observation | SourceKind::Satellite, _, Some(h)) => {
            let cutoff = now - chrono::Duration::hours(h.into());
            for (_, f) in ours() {
                if f.valid < cutoff && !protected_valid.contains(&f.valid) {
                    out.insert(f.source.object_key.clone());
                }
            }
        }
        _ => {}
    }
    out
}

/// Applies `keep`: removes the doomed fields from the catalog, then their
/// objects from the store. Returns the layers changed (to publish).
pub async fn apply(
    catalog: &SharedCatalog,
    store: &Arc<dyn ObjectStore>,
    keep: &Keep,
) -> Vec<String> {
    let doomed = doomed(&catalog.snapshot(), keep, Utc::now());
    if doomed.is_empty() {
        return Vec::new();
    }
    // A layer emptied (a field no longer pulled) stays, empty, so that a
    // farm's published catalog has no dangling layer.
    let changed = catalog.update(|c| {
        let mut changed = Vec::new();
        for (name, layer) in c.layers.iter_mut() {
            let before = layer.fields.len();
            layer
                .fields
                .retain(|_, f| !doomed.contains(&f.source.object_key));
            if layer.fields.len() != before {
                changed.push(name.clone());
            }
        }
        changed
    });
    let mut deleted = Vec::new();
    for key in doomed {
        match store.delete(&Path::from(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted.push(key),
            Err(e) => tracing::warn!(object = %key, error = %e, "retention: delete failed"),
        }
    }
    metrics::counter!("wxfarm_pull_retention_deleted_total").increment(deleted.len() as u64);
    tracing::info!(prefix = %keep.prefix, deleted = deleted.len(), layers = ?changed, "retention");
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use protocol::catalog::{GridSummary, LayerInfo, LayerKind, Level, Parameter};
    use protocol::style::{ColorMapName, Units};
    use protocol::{Catalog, FieldEntry, FieldRef};

    fn info(kind: LayerKind, expected: Option<u32>) -> LayerInfo {
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
            expected_valid_times: expected
                .map(|n| [("default".to_owned(), n)].into())
                .unwrap_or_default(),
        }
    }

    fn field(run: DateTime<Utc>, h: i64, key: &str) -> FieldEntry {
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
            elevation: None,
            grid: GridSummary {
                template: 0,
                ni: 4,
                nj: 3,
                bbox: protocol::tms::LonLatBox {
                    west: 0.0,
                    south: -10.0,
                    east: 30.0,
                    north: 10.0,
                },
            },
            source: FieldRef {
                object_key: key.into(),
                offset: 0,
                length: 1,
                submessage: 0,
            },
        }
    }

    fn keep(kind: SourceKind, runs: Option<usize>, hours: Option<u32>) -> Keep {
        Keep {
            prefix: "bkt".into(),
            runs,
            hours,
            kind,
        }
    }

    #[test]
    fn old_runs_go_but_never_the_default_run_nor_other_sources() {
        let run = |h| Utc.with_ymd_and_hms(2026, 11, 29, h, 0, 0).unwrap();
        // Two hours make a run complete: 00 and 06 are, 12 is arriving.
        let info = info(LayerKind::Model, Some(2));
        let mut c = Catalog::default();
        for (r, hours) in [(0, 2), (6, 2), (12, 1)] {
            for h in 0..hours {
                c.insert(&info, field(run(r), h, &format!("bkt/r{r}f{h}")));
            }
        }
        c.insert(&info, field(run(18), 0, "elsewhere/x"));
        // Newest of ours (12, arriving) kept, 06 (the default run) kept,
        // 00 goes; the object under another prefix is not ours.
        let now = run(23);
        let gone = doomed(&c, &keep(SourceKind::Model, Some(1), None), now);
        assert_eq!(c.layers["gfs_TMP_2m"].default_run(), Some(run(6)));
        assert_eq!(gone, ["bkt/r0f0", "bkt/r0f1"].map(String::from).into());
    }

    #[test]
    fn observations_older_than_the_window_go_but_never_the_newest() {
        let t = |m| Utc.with_ymd_and_hms(2026, 11, 29, 0, m, 0).unwrap();
        let info = info(LayerKind::Observation, None);
        let mut c = Catalog::default();
        for m in [0, 2, 4] {
            c.insert(&info, field(t(m), 0, &format!("bkt/m{m}")));
        }
        let k = keep(SourceKind::Observation, None, Some(1));
        // An hour after minute 3: minutes 0 and 2 go.
        let gone = doomed(&c, &k, t(3) + Duration::hours(1));
        assert_eq!(gone, ["bkt/m0", "bkt/m2"].map(String::from).into());
        // Long after: all are old, the newest still stays.
        let gone = doomed(&c, &k, t(0) + Duration::days(2));
        assert_eq!(gone, ["bkt/m0", "bkt/m2"].map(String::from).into());
    }
}
