//! The GOES-R reference points (`../shared/data/goes/reference/*.csv`,
//! see that folder's README): lon, lat, nearest row and column, the scaled
//! stored value and, for L1b files, brightness temperature or reflectance
//! factor. Included by path from the test crates that compare with them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One reference point.
#[derive(Debug, Clone, PartialEq)]
pub struct RefPoint {
    pub lon: f64,
    pub lat: f64,
    /// `None` for the points outside the sector or off the disk.
    pub row_col: Option<(usize, usize)>,
    /// raw · scale + offset.
    pub value: f64,
    /// Brightness temperature (K) or reflectance factor: what the reader
    /// shows (the value itself for L2 files).
    pub shown: f64,
}

/// The shared GOES folder, `None` (after reporting) when absent.
pub fn goes_dir(manifest_dir: &str) -> Option<PathBuf> {
    let dir = Path::new(manifest_dir).join("../../shared/data/goes");
    let dir = if dir.is_dir() {
        dir
    } else {
        Path::new(manifest_dir).join("../shared/data/goes")
    };
    if dir.join("reference").is_dir() {
        Some(dir)
    } else {
        eprintln!("GOES data folder not found near {manifest_dir}");
        None
    }
}

/// The `.nc` files of the folder, sorted.
pub fn goes_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reading the GOES folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nc"))
        .collect();
    v.sort();
    v
}

/// The reference points of `file`.
pub fn reference_points(file: &Path) -> Vec<RefPoint> {
    let dir = file.parent().expect("file in a folder").join("reference");
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("file name");
    let text = std::fs::read_to_string(dir.join(format!("{stem}.csv")))
        .unwrap_or_else(|e| panic!("reference for {stem}: {e}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let num = |k: usize| -> f64 { f[k].trim().parse().expect("a number") };
            let (row, col) = (num(2), num(3));
            let value = num(4);
            RefPoint {
                lon: num(0),
                lat: num(1),
                row_col: (row >= 0.0).then_some((row as usize, col as usize)),
                value,
                shown: if f.len() > 5 { num(5) } else { value },
            }
        })
        .collect()
}

/// Whether `got` is within relative `tol` of `want`.
pub fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(f64::MIN_POSITIVE)
}
