//! The MRMS-like CONUS reflectivity mosaic: 0.01° regular lat/lon,
//! 7000 × 3500 points, centre 161 (NOAA/OAR), discipline 209 (MRMS local),
//! PNG-packed (template 5.41) like the operational files.
//!
//! Product: `MergedReflectivityQCComposite` = discipline 209, category 10
//! ("composite reflectivity"), parameter 0, on a 500 m above-MSL level
//! (the `_00.50` in MRMS file names). Values are dBZ with MRMS' sentinels:
//! −999 where no radar sees ([`NO_COVERAGE`]) and −99 where radars see but
//! detect no echo ([`NO_ECHO`]).

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::message::OneFieldMessage;
use super::noise::{Rng, ValueNoise};
use super::png_packing::PngPacked;
use super::sections::{self, Ident, LatLonGridSpec, Product, Surface};
use super::{DemoError, DemoFile, DemoFileKind, DemoOptions};

/// NOAA Office of Oceanic and Atmospheric Research (code table C-11).
pub const CENTRE_MRMS: u16 = 161;
/// MRMS' local discipline.
pub const DISCIPLINE_MRMS: u8 = 209;
/// MRMS category 10: composite reflectivity.
pub const CATEGORY: u8 = 10;
/// MRMS parameter 10/0: MergedReflectivityQCComposite.
pub const PARAMETER: u8 = 0;
/// MRMS' product name, used in file names.
pub const PRODUCT_NAME: &str = "MergedReflectivityQCComposite";
/// Value where no radar covers the point.
pub const NO_COVERAGE: f32 = -999.0;
/// Value where radars cover the point but detect no echo (MRMS' "missing").
pub const NO_ECHO: f32 = -99.0;
/// Echoes weaker than this are not painted (they become [`NO_ECHO`]).
pub const MIN_ECHO_DBZ: f64 = 5.0;

/// Decimal scale: MRMS stores tenths of dBZ.
const DECIMAL: i16 = 1;
const KM_PER_DEG: f64 = 111.2;
const RADAR_RANGE_KM: f64 = 230.0;

/// The grid for `opts`: 0.01° × `grid_coarsening`, cell-centred in
/// 55..20 N, 230..300 E as MRMS' CONUS domain.
pub fn grid(opts: &DemoOptions) -> LatLonGridSpec {
    let k = opts.grid_coarsening.max(1);
    LatLonGridSpec {
        ni: 7000 / k,
        nj: 3500 / k,
        lat_first: 55_000_000 - 5_000 * k as i32,
        lon_first: 230_000_000 + 5_000 * k,
        step: 10_000 * k,
    }
}

/// Observation time of frame `frame`: the run time plus whole steps.
pub fn frame_time(opts: &DemoOptions, frame: u32) -> DateTime<Utc> {
    opts.run + Duration::minutes(frame as i64 * opts.radar_step_minutes as i64)
}

/// `MRMS_MergedReflectivityQCComposite_00.50_YYYYMMDD-HHMMSS.grib2`.
pub fn file_name(opts: &DemoOptions, frame: u32) -> String {
    format!(
        "MRMS_{PRODUCT_NAME}_00.50_{}.grib2",
        frame_time(opts, frame).format("%Y%m%d-%H%M%S")
    )
}

/// A rough outline of the contiguous US (lon °E, lat °N), enough to place
/// radars where the real network is.
const CONUS: [(f64, f64); 39] = [
    (-124.7, 48.4),
    (-123.0, 49.0),
    (-95.2, 49.0),
    (-89.6, 48.0),
    (-84.5, 46.5),
    (-82.4, 43.0),
    (-79.0, 43.3),
    (-76.5, 44.2),
    (-74.7, 45.0),
    (-71.5, 45.0),
    (-69.2, 47.4),
    (-67.0, 45.0),
    (-70.0, 41.7),
    (-74.0, 40.5),
    (-75.5, 38.0),
    (-76.0, 35.2),
    (-81.0, 31.5),
    (-80.0, 26.0),
    (-80.5, 25.1),
    (-82.8, 28.5),
    (-84.3, 30.0),
    (-89.5, 30.2),
    (-90.0, 29.0),
    (-94.0, 29.6),
    (-97.3, 26.0),
    (-99.5, 27.5),
    (-101.5, 29.8),
    (-103.0, 29.0),
    (-104.7, 30.0),
    (-106.5, 31.8),
    (-108.2, 31.3),
    (-111.1, 31.3),
    (-114.8, 32.5),
    (-117.1, 32.5),
    (-118.5, 34.0),
    (-120.6, 34.6),
    (-122.5, 37.5),
    (-124.2, 40.4),
    (-124.5, 43.0),
];

/// Whether (lon °E in −180..180, lat) lies inside [`CONUS`] (even-odd rule).
fn in_conus(lon: f64, lat: f64) -> bool {
    let mut inside = false;
    let mut prev = CONUS[CONUS.len() - 1];
    for &cur in &CONUS {
        let ((x1, y1), (x2, y2)) = (prev, cur);
        if (y1 > lat) != (y2 > lat) && lon < x1 + (lat - y1) / (y2 - y1) * (x2 - x1) {
            inside = !inside;
        }
        prev = cur;
    }
    inside
}

/// Seeded radar sites (lat, lon °E in −180..180): a jittered lattice
/// clipped to the outline, about as dense as the real network.
pub fn radar_sites(opts: &DemoOptions) -> Vec<(f64, f64)> {
    let mut r = Rng::new(opts.seed, 20);
    let mut sites = Vec::new();
    for row in 0..10 {
        for col in 0..20 {
            let lat = 25.5 + row as f64 * 2.6 + r.range(-0.6, 0.6);
            let lon = -124.0 + col as f64 * 3.0 + r.range(-0.8, 0.8);
            if in_conus(lon, lat) {
                sites.push((lat, lon));
            }
        }
    }
    sites
}

/// [`NO_ECHO`] within radar range of a site, [`NO_COVERAGE`] elsewhere.
fn coverage(g: &LatLonGridSpec, sites: &[(f64, f64)]) -> Vec<f32> {
    let mut out = vec![NO_COVERAGE; g.len()];
    let step = g.step_deg();
    let (lat0, lon0) = (g.lat(0), g.lon(0) - 360.0);
    for &(slat, slon) in sites {
        let dlat = RADAR_RANGE_KM / KM_PER_DEG;
        let j_lo = (((lat0 - slat - dlat) / step).floor().max(0.0)) as u32;
        let j_hi = (((lat0 - slat + dlat) / step).ceil() as i64).min(g.nj as i64 - 1);
        for j in j_lo as i64..=j_hi {
            let lat = g.lat(j as u32);
            let dy = (lat - slat) * KM_PER_DEG;
            let half = RADAR_RANGE_KM * RADAR_RANGE_KM - dy * dy;
            if half <= 0.0 {
                continue;
            }
            let dlon = half.sqrt() / (KM_PER_DEG * lat.to_radians().cos());
            let i_lo = ((slon - dlon - lon0) / step).ceil().max(0.0) as usize;
            let i_hi = (((slon + dlon - lon0) / step).floor() as i64).min(g.ni as i64 - 1);
            if i_hi < i_lo as i64 {
                continue;
            }
            let row = j as usize * g.ni as usize;
            out[row + i_lo..=row + i_hi as usize].fill(NO_ECHO);
        }
    }
    out
}

/// One echo blob: an elliptical Gaussian in linear reflectivity, which is a
/// paraboloid in dBZ, drifting at constant velocity.
#[derive(Debug, Clone)]
struct Cell {
    lat: f64,
    lon: f64,
    /// Eastward and northward drift, m/s.
    u: f64,
    v: f64,
    peak_dbz: f64,
    /// Semi-axes (σ) along and across `theta`, km.
    major_km: f64,
    minor_km: f64,
    theta: f64,
    /// Life cycle: peak varies by ±`pulse_dbz` with this period and phase.
    pulse_dbz: f64,
    period_min: f64,
    phase: f64,
    /// Amplitude and feature size of the noise that breaks the smooth blob
    /// into bands and ragged edges.
    texture_dbz: f64,
    texture_km: f64,
}

/// Seeded storm systems: each a broad stratiform shield with a handful of
/// convective cores (30–65 dBZ) embedded, all moving with the system.
fn storm_cells(opts: &DemoOptions) -> Vec<Cell> {
    let mut r = Rng::new(opts.seed, 21);
    let mut cells = Vec::new();
    let mut systems = 0;
    while systems < 7 {
        let (lat, lon) = (r.range(28.0, 46.0), r.range(-118.0, -74.0));
        if !in_conus(lon, lat) {
            continue;
        }
        systems += 1;
        let (u, v) = (r.range(8.0, 18.0), r.range(-3.0, 6.0));
        let theta = r.range(0.0, std::f64::consts::PI);
        let sigma = r.range(35.0, 65.0);
        cells.push(Cell {
            lat,
            lon,
            u,
            v,
            peak_dbz: r.range(22.0, 30.0),
            major_km: sigma * r.range(1.5, 2.5),
            minor_km: sigma,
            theta,
            pulse_dbz: 2.0,
            period_min: r.range(90.0, 180.0),
            phase: r.range(0.0, 6.3),
            texture_dbz: 9.0,
            texture_km: 25.0,
        });
        let cores = 3 + (r.next_u64() % 6) as usize;
        for _ in 0..cores {
            let along = r.range(-120.0, 120.0);
            let across = r.range(-25.0, 25.0);
            let (st, ct) = theta.sin_cos();
            let (east, north) = (along * ct - across * st, along * st + across * ct);
            let sigma = r.range(5.0, 12.0);
            cells.push(Cell {
                lat: lat + north / KM_PER_DEG,
                lon: lon + east / (KM_PER_DEG * lat.to_radians().cos()),
                u: u + r.range(-2.0, 2.0),
                v: v + r.range(-2.0, 2.0),
                // Skewed toward moderate cores; a few severe ones.
                peak_dbz: 38.0 + 27.0 * r.unit().powi(2),
                major_km: sigma * r.range(1.0, 1.8),
                minor_km: sigma,
                theta: r.range(0.0, std::f64::consts::PI),
                pulse_dbz: r.range(2.0, 6.0),
                period_min: r.range(40.0, 90.0),
                phase: r.range(0.0, 6.3),
                texture_dbz: 3.0,
                texture_km: 5.0,
            });
        }
    }
    cells
}

/// Paints `cell` at `minutes` after the first frame into `buf` (max of
/// overlapping echoes), touching only its bounding box.
fn paint(
    g: &LatLonGridSpec,
    buf: &mut [f32],
    cell: &Cell,
    minutes: f64,
    texture: &ValueNoise,
    texture_offset: f64,
) {
    let lat_c = cell.lat + cell.v * 0.06 * minutes / KM_PER_DEG;
    let km_per_deg_lon = KM_PER_DEG * lat_c.to_radians().cos();
    let lon_c = cell.lon + cell.u * 0.06 * minutes / km_per_deg_lon + 360.0;
    let peak = cell.peak_dbz
        + cell.pulse_dbz
            * (cell.phase + 2.0 * std::f64::consts::PI * minutes / cell.period_min).sin();
    // dBZ = peak − 10·log10(e)/2 · r²  (r in σ units), ± the texture.
    const DB_PER_R2: f64 = 2.171_472_4;
    let r2_max = (peak + cell.texture_dbz - MIN_ECHO_DBZ) / DB_PER_R2;
    if r2_max <= 0.0 {
        return;
    }
    let extent_km = cell.major_km * r2_max.sqrt();
    let (step, lat0, lon0) = (g.step_deg(), g.lat(0), g.lon(0));
    let dlat = extent_km / KM_PER_DEG;
    let dlon = extent_km / km_per_deg_lon;
    let j_lo = ((lat0 - lat_c - dlat) / step).floor().max(0.0) as i64;
    let j_hi = (((lat0 - lat_c + dlat) / step).ceil() as i64).min(g.nj as i64 - 1);
    let i_lo = ((lon_c - dlon - lon0) / step).floor().max(0.0) as i64;
    let i_hi = (((lon_c + dlon - lon0) / step).ceil() as i64).min(g.ni as i64 - 1);
    let (st, ct) = cell.theta.sin_cos();
    let t = minutes / 30.0;
    for j in j_lo..=j_hi {
        let y = (g.lat(j as u32) - lat_c) * KM_PER_DEG;
        let row = j as usize * g.ni as usize;
        for i in i_lo..=i_hi {
            let x = (g.lon(i as u32) - lon_c) * km_per_deg_lon;
            let (a, b) = (x * ct + y * st, -x * st + y * ct);
            let r2 = (a / cell.major_km).powi(2) + (b / cell.minor_km).powi(2);
            if r2 > r2_max {
                continue;
            }
            let k = row + i as usize;
            if buf[k] == NO_COVERAGE {
                continue;
            }
            // Texture fixed to the storm so it moves with it, evolving
            // slowly; each cell has its own patch of the noise.
            let n = texture.fbm(
                a / cell.texture_km + texture_offset,
                b / cell.texture_km,
                t,
                2,
            );
            let dbz = peak - DB_PER_R2 * r2 + cell.texture_dbz * n;
            if dbz >= MIN_ECHO_DBZ && dbz as f32 > buf[k] {
                buf[k] = dbz as f32;
            }
        }
    }
}

/// Everything that does not change between frames.
struct Scene {
    grid: LatLonGridSpec,
    coverage: Vec<f32>,
    cells: Vec<Cell>,
    texture: ValueNoise,
}

impl Scene {
    fn new(opts: &DemoOptions) -> Self {
        let grid = grid(opts);
        Self {
            coverage: coverage(&grid, &radar_sites(opts)),
            grid,
            cells: storm_cells(opts),
            texture: ValueNoise::new(opts.seed, 22),
        }
    }

    fn frame(&self, opts: &DemoOptions, frame: u32) -> Vec<f32> {
        let minutes = frame as f64 * opts.radar_step_minutes as f64;
        let mut buf = self.coverage.clone();
        for (n, c) in self.cells.iter().enumerate() {
            paint(
                &self.grid,
                &mut buf,
                c,
                minutes,
                &self.texture,
                n as f64 * 37.3,
            );
        }
        buf
    }
}

/// The dBZ values of frame `frame` (row-major on [`grid`]) before packing.
pub fn frame_values(opts: &DemoOptions, frame: u32) -> Vec<f32> {
    Scene::new(opts).frame(opts, frame)
}

fn encode_frame(
    opts: &DemoOptions,
    g: &LatLonGridSpec,
    frame: u32,
    values: &[f32],
) -> Result<Vec<u8>, DemoError> {
    let time = frame_time(opts, frame);
    let ident = Ident {
        centre: CENTRE_MRMS,
        ref_significance: 3,
        data_type: 7,
    };
    let product = Product {
        category: CATEGORY,
        number: PARAMETER,
        process_type: 0,
        process_id: 0,
        time_unit: 0,
        lead: 0,
        surface: Surface {
            kind: 102,
            value: 500,
        },
    };
    // `Fast` (fdeflate) compresses these mostly-constant images well at a
    // fraction of zlib's time.
    let data = PngPacked::encode(values, g.ni, g.nj, DECIMAL, png::Compression::Fast)?;
    OneFieldMessage {
        discipline: DISCIPLINE_MRMS,
        ident: sections::section1(ident, time),
        grid: g.section3(),
        product: sections::section4(product),
        data,
    }
    .to_bytes()
}

/// Writes the radar frames under `dir/mrms`.
pub(crate) fn write_frames(dir: &Path, opts: &DemoOptions) -> Result<Vec<DemoFile>, DemoError> {
    if opts.radar_frames == 0 {
        return Ok(Vec::new());
    }
    let scene = Scene::new(opts);
    // A full-size frame needs ~150 MB while encoding: two at a time at most.
    super::parallel_map(opts.radar_frames as usize, 2, |frame| {
        let frame = frame as u32;
        let values = scene.frame(opts, frame);
        let bytes = encode_frame(opts, &scene.grid, frame, &values)?;
        drop(values);
        super::write_file(
            &dir.join("mrms"),
            &file_name(opts, frame),
            &bytes,
            DemoFileKind::Radar,
            frame_time(opts, frame),
        )
    })
}
