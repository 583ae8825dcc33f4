//! Maps in any EPSG CRS through PROJ ([`protocol::MapCrs::Epsg`]).
//!
//! EPSG:3857, EPSG:4326 and CRS:84 keep their closed forms (the tile
//! matrix sets'). Every other code goes through PROJ 9 (`proj` crate,
//! Debian's libproj): a [`Mesh`] runs the exact transform from the map's
//! CRS to longitude/latitude at every 16th pixel and interpolates in
//! between, so a 1024 px map costs a few thousand PROJ calls, not a million.
//!
//! Axis order: PROJ transforms are normalised for visualisation (easting or
//! longitude first), and so is a [`protocol::MapArea`]'s box; [`info`]
//! says which codes a WMS 1.3.0 client writes northing (or latitude) first.
//!
//! PROJ objects are neither `Send` nor `Sync` and creating one reads
//! `proj.db` (a few milliseconds), so each thread keeps its own
//! [`Transformer`]s ([`with_transformer`]).

mod axis;
mod mesh;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

pub use axis::AxisInfo;
pub use mesh::{MAX_MESH_ERROR_PX, Mesh};

/// Why a CRS cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrsError {
    /// PROJ's database has no such EPSG code.
    #[error("no such EPSG code")]
    Unknown,
    /// A code of another kind (geocentric, vertical, 3-D, …).
    #[error("{0}, not a 2-D projected or geographic CRS")]
    Unsupported(String),
    /// PROJ failed.
    #[error("PROJ: {0}")]
    Proj(String),
}

/// Most codes remembered by [`info`]: bounded, since any client can name
/// any number.
const MAX_REMEMBERED: usize = 4096;
/// Most transformers each thread keeps.
const PER_THREAD: usize = 8;

/// What an EPSG code is, checked once against PROJ (the code must have a
/// transform to WGS 84 longitude/latitude) and remembered.
pub fn info(code: u32) -> Result<AxisInfo, CrsError> {
    static KNOWN: OnceLock<Mutex<HashMap<u32, Result<AxisInfo, CrsError>>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(r) = known.lock().ok().and_then(|m| m.get(&code).cloned()) {
        return r;
    }
    let r = axis::axis_info(code).and_then(|a| with_transformer(code, |_| a));
    if let Ok(mut m) = known.lock() {
        if m.len() >= MAX_REMEMBERED {
            m.clear();
        }
        m.insert(code, r.clone());
    }
    r
}

/// The transforms between one EPSG CRS and WGS 84 longitude/latitude
/// (EPSG:4326, longitude first), both ways.
pub struct Transformer {
    code: u32,
    /// Map CRS → longitude/latitude; its inverse direction the other way.
    proj: proj::Proj,
}

impl Transformer {
    fn new(code: u32) -> Result<Self, CrsError> {
        let proj = proj::Proj::new_known_crs(&format!("EPSG:{code}"), "EPSG:4326", None)
            .map_err(|e| CrsError::Proj(e.to_string()))?;
        Ok(Self { code, proj })
    }

    /// The EPSG code.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// Longitude and latitude (degrees) of CRS position (`x`, `y`), easting
    /// first; `None` where PROJ has no answer (outside the projection's
    /// domain) or the answer does not map back onto the point.
    pub fn to_lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (lon, lat) = self.proj.convert((x, y)).ok()?;
        if !(lon.is_finite() && lat.is_finite() && lat.abs() <= 90.0) {
            return None;
        }
        // Round trip: projections answer far outside their domain with
        // finite nonsense (a transverse Mercator half a world away).
        let (bx, by) = self.from_lonlat(lon, lat)?;
        let tolerance = 1e-6 * x.abs().max(y.abs()).max(1.0);
        ((bx - x).abs() <= tolerance && (by - y).abs() <= tolerance).then_some((lon, lat))
    }

    /// CRS position (easting first) of a longitude/latitude.
    pub fn from_lonlat(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let (x, y) = self.proj.project((lon, lat), true).ok()?;
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }
}

/// Runs `f` with this thread's transformer for `EPSG:code`, creating it
/// on first use (keeping at most [`PER_THREAD`] per thread).
pub fn with_transformer<R>(code: u32, f: impl FnOnce(&Transformer) -> R) -> Result<R, CrsError> {
    thread_local! {
        static CACHE: RefCell<Vec<Rc<Transformer>>> = const { RefCell::new(Vec::new()) };
    }
    let cached = CACHE.with(|c| c.borrow().iter().find(|t| t.code == code).cloned());
    let t = match cached {
        Some(t) => t,
        None => {
            let t = Rc::new(Transformer::new(code)?);
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= PER_THREAD {
                    c.remove(0);
                }
                c.push(t.clone());
            });
            t
        }
    };
    Ok(f(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unsupported_codes_are_refused() {
        assert_eq!(info(99999), Err(CrsError::Unknown));
        assert!(matches!(info(4978), Err(CrsError::Unsupported(_))));
        assert!(info(3413).is_ok());
    }

    /// Creating a transformer reads proj.db; reusing this thread's is free.
    #[test]
    fn transformers_are_created_once_per_thread() {
        let t0 = std::time::Instant::now();
        with_transformer(32633, |_| ()).unwrap();
        let first = t0.elapsed();
        let t1 = std::time::Instant::now();
        let p = with_transformer(32633, |t| t.to_lonlat(500_000.0, 0.0)).unwrap();
        let again = t1.elapsed();
        let (lon, lat) = p.unwrap();
        assert!((lon - 15.0).abs() < 1e-9 && lat.abs() < 1e-9, "{lon} {lat}");
        eprintln!("PROJ transformer: created in {first:?}, reused in {again:?}");
        assert!(again < first);
    }

    #[test]
    fn points_outside_the_projection_have_no_position() {
        // UTM 33N half a world east of its zone.
        let p = with_transformer(32633, |t| t.to_lonlat(3.0e7, 1.0e6)).unwrap();
        assert_eq!(p, None);
    }
}
