//! Ingest: read a file from the object store, index its fields without
//! decoding values, and add them to the catalog. A file or field that cannot
//! be served is rejected with its name and reason; everything already in the
//! catalog keeps serving.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use decode::{IndexedField, index_file};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use protocol::FieldRef;
use protocol::catalog::{FieldEntry, FieldId, GridSummary, LayerInfo, SharedCatalog};
use protocol::layers::LayerCatalogue;

use crate::naming::{name_field, vector_layer};
use crate::satellite::satellite_entry;

/// Why a whole file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{key}: cannot read: {message}")]
    Read { key: String, message: String },
    #[error("{key}: not a usable GRIB2 or NetCDF file: {message}")]
    NotGrib { key: String, message: String },
    #[error("{name}: invalid object name (use letters, digits, '.', '-', '_' and '/')")]
    BadName { name: String },
}

/// What one file contributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReport {
    /// The object the catalog points at (decompressed copy for .gz/.xz).
    pub object_key: String,
    pub fields_added: usize,
    pub layers: BTreeSet<String>,
    /// The models (or observing systems) of the fields added, as in the
    /// layer names.
    pub models: BTreeSet<String>,
    /// Fields skipped, each naming the file, message and reason.
    pub rejected: Vec<String>,
    /// The fields added, by layer (for warming).
    pub fields: Vec<(String, FieldId)>,
    /// Fields of other files that this file's fields replaced (same layer,
    /// run, valid time and elevation), each naming both files.
    pub replaced: Vec<String>,
}

/// Ingests objects of one store into one catalog.
#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn ObjectStore>,
    layers: Arc<LayerCatalogue>,
    catalog: SharedCatalog,
}

impl Ingestor {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        layers: LayerCatalogue,
        catalog: SharedCatalog,
    ) -> Self {
        Self {
            store,
            layers: Arc::new(layers),
            catalog,
        }
    }

    /// The layer catalogue files are named and warmed by.
    pub fn layers(&self) -> &LayerCatalogue {
        &self.layers
    }

    pub fn catalog(&self) -> &SharedCatalog {
        &self.catalog
    }

    /// Stores `bytes` as object `name` (decompressing `.gz`/`.xz`, since
    /// workers need byte ranges of the raw GRIB) and ingests it.
    pub async fn ingest_bytes(
        &self,
        name: &str,
        bytes: Bytes,
    ) -> Result<IngestReport, IngestError> {
        let key = object_key(name)?;
        let (key, bytes) = decompress(&key, bytes)?;
        let path = Path::parse(&key).map_err(|_| IngestError::BadName { name: key.clone() })?;
        // Index before storing: a file we cannot serve never enters the store.
        let (report, additions) = self.index(&key, bytes.clone()).await?;
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| IngestError::Read {
                key: key.clone(),
                message: e.to_string(),
            })?;
        let mut report = report;
        report.replaced = self.commit(additions);
        Ok(report)
    }

    /// Ingests an object already in the store (decompressing `.gz`/`.xz`
    /// into a sibling object first).
    pub async fn ingest_object(&self, key: &str) -> Result<IngestReport, IngestError> {
        let result = self.read_and_index(key).await;
        self.count(&result);
        result
    }

    /// Counts an ingest's outcome (`wxfarm_ingest_files_total{result}`,
    /// `wxfarm_ingest_fields_total{result}`) and the catalog's size.
    fn count(&self, result: &Result<IngestReport, IngestError>) {
        match result {
            Ok(report) => {
                metrics::counter!("wxfarm_ingest_files_total", "result" => "ingested").increment(1);
                metrics::counter!("wxfarm_ingest_fields_total", "result" => "added")
                    .increment(report.fields_added as u64);
                metrics::counter!("wxfarm_ingest_fields_total", "result" => "rejected")
                    .increment(report.rejected.len() as u64);
            }
            Err(_) => {
                metrics::counter!("wxfarm_ingest_files_total", "result" => "rejected").increment(1)
            }
        }
        let catalog = self.catalog.snapshot();
        metrics::gauge!("wxfarm_catalog_layers").set(catalog.layers.len() as f64);
        metrics::gauge!("wxfarm_catalog_fields").set(
            catalog
                .layers
                .values()
                .map(|l| l.fields.len())
                .sum::<usize>() as f64,
        );
    }

    async fn read_and_index(&self, key: &str) -> Result<IngestReport, IngestError> {
        let path = Path::parse(key).map_err(|_| IngestError::BadName {
            name: key.to_owned(),
        })?;
        let read_err = |e: object_store::Error| IngestError::Read {
            key: key.to_owned(),
            message: e.to_string(),
        };
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(read_err)?
            .bytes()
            .await
            .map_err(read_err)?;
        if is_compressed(key) {
            return self.ingest_bytes(key, bytes).await;
        }
        let (mut report, additions) = self.index(key, bytes).await?;
        report.replaced = self.commit(additions);
        Ok(report)
    }

    /// Applies `additions` to the catalog. A field that replaces one from
    /// another file (same identity) is logged and counted, never silent;
    /// returns those replacements.
    fn commit(&self, additions: Vec<(LayerInfo, FieldEntry)>) -> Vec<String> {
        let mut replaced = Vec::new();
        self.catalog.update(|c| {
            for (info, entry) in additions {
                let new_source = entry.source.clone();
                if let Some(old) = c.insert(&info, entry)
                    && old.source.object_key != new_source.object_key
                {
                    replaced.push(format!(
                        "{}: run {}, valid {} from {} now comes from {}",
                        info.name,
                        old.run.format("%Y-%m-%dT%H:%MZ"),
                        old.valid.format("%Y-%m-%dT%H:%MZ"),
                        old.source.object_key,
                        new_source.object_key,
                    ));
                }
            }
        });
        for r in &replaced {
            tracing::warn!(replaced = %r, "field replaced by a newer file");
            metrics::counter!("wxfarm_ingest_replaced_fields_total").increment(1);
        }
        replaced
    }

    /// Indexes `bytes` into catalog entries without applying them.
    async fn index(
        &self,
        key: &str,
        bytes: Bytes,
    ) -> Result<(IngestReport, Vec<(LayerInfo, FieldEntry)>), IngestError> {
        let k = key.to_owned();
        let indexed = tokio::task::spawn_blocking(move || index_file(&bytes))
            .await
            .map_err(|e| IngestError::NotGrib {
                key: k.clone(),
                message: e.to_string(),
            })?
            .map_err(|e| IngestError::NotGrib {
                key: k,
                message: e.to_string(),
            })?;
        let mut report = IngestReport {
            object_key: key.to_owned(),
            ..Default::default()
        };
        let mut additions = Vec::new();
        for field in indexed {
            match field {
                Err(e) => report.rejected.push(format!("{key}: {e}")),
                Ok(IndexedField::Satellite(s)) => {
                    let (model, info, entry) = satellite_entry(&self.layers, key, &s);
                    report.layers.insert(info.name.clone());
                    report.models.insert(model);
                    additions.push((info, entry));
                }
                Ok(IndexedField::Grib(f)) => {
                    let named = name_field(&self.layers, &f);
                    report.layers.insert(named.info.name.clone());
                    report.models.insert(named.model.clone());
                    let vector = vector_layer(&self.layers, &f, &named);
                    let entry = FieldEntry {
                        layer: named.info.name.clone(),
                        parameter: named.parameter,
                        level: named.level,
                        run: f.reference_time,
                        valid: f.valid_time,
                        elevation: named.elevation,
                        grid: GridSummary {
                            template: f.grid_template,
                            ni: f.ni,
                            nj: f.nj,
                            bbox: f.bbox,
                        },
                        source: FieldRef {
                            object_key: key.to_owned(),
                            offset: f.offset,
                            length: f.length,
                            submessage: f.id.field as u32,
                        },
                    };
                    if let Some(info) = vector {
                        report.layers.insert(info.name.clone());
                        additions.push((
                            info.clone(),
                            FieldEntry {
                                layer: info.name,
                                ..entry.clone()
                            },
                        ));
                    }
                    additions.push((named.info, entry));
                }
            }
        }
        for r in &report.rejected {
            tracing::warn!(rejected = %r, "field not ingested");
        }
        // Vector layers re-use their u fields: count each GRIB field once.
        report.fields_added = additions
            .iter()
            .filter(|(info, _)| info.pair.is_none())
            .count();
        report.fields = additions
            .iter()
            .map(|(info, e)| {
                (
                    info.name.clone(),
                    FieldId {
                        run: e.run,
                        valid: e.valid,
                        elevation: e.elevation.clone(),
                    },
                )
            })
            .collect();
        Ok((report, additions))
    }

    /// Ingests every object under `prefix` that is new or has changed
    /// since `state` last saw it. A file that fails is logged with its
    /// reason and retried only once its size or modification time changes
    /// (a copy caught half-written is picked up when complete); after the
    /// first scan, objects modified within [`SETTLE`] wait for the next
    /// one, and names ending
    /// in `.tmp`, `.part` or `.partial` (or starting with `.` or `_`) are
    /// never read: write there, then rename. Returns the reports of the
    /// files ingested.
    pub async fn scan(&self, prefix: Option<&str>, state: &mut ScanState) -> Vec<IngestReport> {
        use futures::TryStreamExt;
        let prefix = prefix.map(Path::from);
        let listed: Vec<_> = match self.store.list(prefix.as_ref()).try_collect().await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "listing the object store failed");
                return Vec::new();
            }
        };
        let known: BTreeSet<String> = {
            let c = self.catalog.snapshot();
            c.layers
                .values()
                .flat_map(|l| l.fields.values().map(|f| f.source.object_key.clone()))
                .collect()
        };
        let settled_before = chrono::Utc::now() - SETTLE;
        // Forget objects that are gone, so the state stays as large as the
        // store (radar files arrive and expire every few minutes).
        let present: BTreeSet<String> = listed.iter().map(|m| m.location.to_string()).collect();
        state.seen.retain(|k, _| present.contains(k));
        state.failed.retain(|k| present.contains(k));
        let mut todo = Vec::new();
        for meta in listed {
            let key = meta.location.to_string();
            if key
                .split('/')
                .any(|part| part.starts_with('.') || part.starts_with('_'))
                || IN_PROGRESS_SUFFIXES.iter().any(|s| key.ends_with(s))
            {
                continue;
            }
            let version = (meta.size, meta.last_modified);
            match state.seen.get(&key) {
                Some(v) if *v == version => continue,
                // Indexed before this process saw it (a catalog loaded at
                // start, or the decompressed sibling): remember, don't redo.
                None if known.contains(&key)
                    || is_compressed(&key) && known.contains(strip_compression(&key)) =>
                {
                    state.seen.insert(key, version);
                    continue;
                }
                _ => {}
            }
            if state.scanned && meta.last_modified > settled_before {
                continue; // still being written, perhaps: next scan
            }
            todo.push((key, version));
        }
        todo.sort();
        let mut out = Vec::with_capacity(todo.len());
        for (key, version) in todo {
            let retry = state.failed.contains(&key);
            match self.ingest_object(&key).await {
                Ok(report) => {
                    if retry {
                        tracing::info!(object = %key, "file changed and now ingests");
                    }
                    state.failed.remove(&key);
                    out.push(report);
                }
                Err(e) => {
                    tracing::error!(error = %e, "file rejected (retried when it changes)");
                    state.failed.insert(key.clone());
                }
            }
            state.seen.insert(key, version);
        }
        state.scanned = true;
        out
    }
}

/// How long an object must be unchanged before a scan reads it.
pub const SETTLE: chrono::Duration = chrono::Duration::seconds(1);

/// Names of files still being written; never read (rename them when done).
pub const IN_PROGRESS_SUFFIXES: [&str; 3] = [".tmp", ".part", ".partial"];

/// What scans have seen: each object's size and modification time when it
/// was last read, and which of them failed.
#[derive(Debug, Default)]
pub struct ScanState {
    seen: std::collections::HashMap<String, (u64, chrono::DateTime<chrono::Utc>)>,
    failed: BTreeSet<String>,
    /// After the first scan (which reads everything present at start),
    /// objects must have settled for [`SETTLE`].
    scanned: bool,
}

impl ScanState {
    /// Objects whose last read failed.
    pub fn failed(&self) -> &BTreeSet<String> {
        &self.failed
    }
}

fn is_compressed(key: &str) -> bool {
    key.ends_with(".gz") || key.ends_with(".xz")
}

/// `key` without a `.gz` or `.xz` suffix: the name its decompressed
/// contents are stored under.
pub fn strip_compression(key: &str) -> &str {
    key.strip_suffix(".gz")
        .or_else(|| key.strip_suffix(".xz"))
        .unwrap_or(key)
}

/// Most bytes one compressed file may expand to.
pub const MAX_DECOMPRESSED_BYTES: u64 = 2 << 30;
/// Most a file may expand by: GRIB2 is already packed, so real `.gz`/`.xz`
/// files shrink little; a bomb expands by thousands.
pub const MAX_EXPANSION_RATIO: u64 = 100;

/// Decompresses `.gz`/`.xz` (reading at most the bound of
/// [`MAX_DECOMPRESSED_BYTES`] and [`MAX_EXPANSION_RATIO`] times the input,
/// so a decompression bomb is rejected before it is in memory).
fn decompress(key: &str, bytes: Bytes) -> Result<(String, Bytes), IngestError> {
    let err = |e: std::io::Error| IngestError::Read {
        key: key.to_owned(),
        message: format!("decompressing: {e}"),
    };
    let limit =
        MAX_DECOMPRESSED_BYTES.min((bytes.len() as u64).saturating_mul(MAX_EXPANSION_RATIO));
    let reader: Box<dyn Read + '_> = if key.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(&bytes[..]))
    } else if key.ends_with(".xz") {
        Box::new(xz2::read::XzDecoder::new(&bytes[..]))
    } else {
        return Ok((key.to_owned(), bytes));
    };
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "more".
    reader.take(limit + 1).read_to_end(&mut out).map_err(err)?;
    if out.len() as u64 > limit {
        return Err(IngestError::Read {
            key: key.to_owned(),
            message: format!(
                "decompresses to more than {limit} bytes ({MAX_EXPANSION_RATIO}× its size, at most {MAX_DECOMPRESSED_BYTES}): refused"
            ),
        });
    }
    Ok((strip_compression(key).to_owned(), Bytes::from(out)))
}

/// Object names come from users (file names, notification keys): allow only
/// a safe alphabet and no `.`/`..` segments, so a name can never point
/// outside the store's root.
pub fn object_key(name: &str) -> Result<String, IngestError> {
    let bad = || IngestError::BadName {
        name: name.to_owned(),
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
    if name.is_empty() || name.starts_with('/') || !name.chars().all(ok_char) {
        return Err(bad());
    }
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(bad());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_in_memory() {
        // 64 MB of zeros packs into ~64 KB: far past 100× expansion.
        let bomb = gz(&vec![0u8; 64 << 20]);
        let err = decompress("bomb.grib2.gz", bomb).unwrap_err();
        assert!(
            err.to_string().contains("bomb.grib2.gz") && err.to_string().contains("refused"),
            "{err}"
        );
        // Ordinary data expands a little and passes, named without `.gz`.
        let data: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let (key, out) = decompress("f.grib2.gz", gz(&data)).unwrap();
        assert_eq!((key.as_str(), &out[..]), ("f.grib2", &data[..]));
    }
}
