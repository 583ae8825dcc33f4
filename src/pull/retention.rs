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
