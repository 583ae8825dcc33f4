//! `wxfarm demo-data`: realistic, deterministic sample GRIB2 data.
//!
//! [`write_demo_data`] writes
//!
//! * a GFS-like global 0.25° forecast run (`gfs.YYYYMMDD/gfs.tHHz.pgrb2.0p25.fFFF`,
//!   one file per lead hour, five messages each: 2 m temperature, MSL
//!   pressure, 10 m wind components, precipitation rate), complex-packed;
//! * an MRMS-like CONUS radar mosaic
//!   (`mrms/MRMS_MergedReflectivityQCComposite_00.50_YYYYMMDD-HHMMSS.grib2`,
//!   one file per frame), PNG-packed like the real thing.
//!
//! The same [`DemoOptions`] always give byte-identical files: all randomness
//! comes from [`DemoOptions::seed`] through a hand-rolled generator.

pub mod gfs;
mod message;
mod noise;
pub mod png_packing;
pub mod radar;
pub mod satellite;
pub mod sections;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Forecast reference time of the GFS-like run; the radar frames start
    /// at the same time.
    pub run: DateTime<Utc>,
    /// Seed of every random choice (continents, weather systems, storms).
    pub seed: u64,
    /// Last forecast hour: files f000 to f`hours` are written.
    pub hours: u32,
    /// Number of radar frames.
    pub radar_frames: u32,
    /// Minutes between radar frames.
    pub radar_step_minutes: u32,
    /// Divides both grids' resolution (1 = the real 0.25° and 0.01°): tests
    /// use coarser grids to stay fast. Must divide 720 and 3500 (e.g. 1, 2,
    /// 4, 5, 10, 20).
    pub grid_coarsening: u32,
}

impl Default for DemoOptions {
    /// Today's 00Z run, seed 42, 24 hours, 6 radar frames 10 minutes apart,
    /// full resolution.
    fn default() -> Self {
        let now = Utc::now();
        let run = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        Self {
            run,
            seed: 42,
            hours: 24,
            radar_frames: 6,
            radar_step_minutes: 10,
            grid_coarsening: 1,
        }
    }
}

/// What a written file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoFileKind {
    /// One lead hour of the GFS-like run (five messages).
    Gfs {
        /// Forecast lead time in hours.
        lead_hours: u32,
    },
    /// One radar mosaic frame (one message).
    Radar,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    /// Where it was written (under the output directory).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// What it holds.
    pub kind: DemoFileKind,
    /// Valid (or observation) time of its fields.
    pub valid: DateTime<Utc>,
}

/// What [`write_demo_data`] wrote, GFS files first, each group in time
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoReport {
    /// The files, in writing order.
    pub files: Vec<DemoFile>,
}

impl DemoReport {
    /// Sum of the files' sizes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Why sample data could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options cannot be honoured.
    #[error("invalid demo options: {0}")]
    InvalidOptions(String),
    /// A file or directory could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// GRIB2 encoding failed.
    #[error("GRIB2 encoding: {0}")]
    Encode(String),
    /// PNG encoding failed.
    #[error("PNG encoding: {0}")]
    Png(#[from] png::EncodingError),
}

impl DemoOptions {
    fn validate(&self) -> Result<(), DemoError> {
        let k = self.grid_coarsening;
        if k == 0 || 720 % k != 0 || 3500 % k != 0 {
            return Err(DemoError::InvalidOptions(format!(
                "grid_coarsening {k} must divide 720 and 3500"
            )));
        }
        if self.radar_frames > 0 && self.radar_step_minutes == 0 {
            return Err(DemoError::InvalidOptions(
                "radar_step_minutes must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Writes the sample GFS-like run and MRMS-like radar frames under `dir`
/// (created if missing) and lists what it wrote.
pub fn write_demo_data(dir: &Path, opts: &DemoOptions) -> Result<DemoReport, DemoError> {
    opts.validate()?;
    let mut files = gfs::write_run(dir, opts)?;
    files.extend(radar::write_frames(dir, opts)?);
    Ok(DemoReport { files })
}

/// Creates `dir` and writes `bytes` to `dir/name`, reporting the file.
fn write_file(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    kind: DemoFileKind,
    valid: DateTime<Utc>,
) -> Result<DemoFile, DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| DemoError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(DemoFile {
        path,
        bytes: bytes.len() as u64,
        kind,
        valid,
    })
}

/// Runs `f(0..n)` on up to `max_threads` scoped threads (fewer if the
/// machine has fewer cores) and returns the results in index order, so the
/// output never depends on timing.
fn parallel_map<T: Send>(
    n: usize,
    max_threads: usize,
    f: impl Fn(usize) -> Result<T, DemoError> + Sync,
) -> Result<Vec<T>, DemoError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(max_threads)
        .min(n)
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<T, DemoError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        out.push((i, f(i)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
