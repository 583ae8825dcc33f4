//! The GFS-like global run: 0.25° regular lat/lon, NCEP centre 7, process 96.
//!
//! Fields are analytic, not simulated, but built so their physics holds up
//! to a glance: a latitude gradient and land/sea contrast in temperature, a
//! diurnal cycle following local solar time, travelling lows and highs, wind
//! derived from the pressure gradient, and rain only under the lows.

use std::borrow::Cow;
use std::f64::consts::PI;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use grib::encoder::{
    ComplexPackingStrategy, EncodingMethod, GpvEncoder, SimplePackingStrategy,
    SpatialDifferencingOption,
};

use super::message::OneFieldMessage;
use super::noise::{Rng, ValueNoise, smoothstep, unit_vector};
use super::sections::{self, Ident, LatLonGridSpec, Product, Surface};
use super::{DemoError, DemoFile, DemoFileKind, DemoOptions};

/// NCEP (common code table C-11).
pub const CENTRE_NCEP: u16 = 7;
/// NCEP's generating process for the GFS (NCEP ON388 table A).
pub const PROCESS_GFS: u8 = 96;

const EARTH_RADIUS_M: f64 = 6_371_229.0;
const OMEGA: f64 = 7.292e-5;
const AIR_DENSITY: f64 = 1.2;

/// The grid for `opts`: 0.25° × `grid_coarsening`, 0..360 E, 90..−90 N.
pub fn grid(opts: &DemoOptions) -> LatLonGridSpec {
    let k = opts.grid_coarsening.max(1);
    LatLonGridSpec {
        ni: 1440 / k,
        nj: 720 / k + 1,
        lat_first: 90_000_000,
        lon_first: 0,
        step: 250_000 * k,
    }
}

/// Directory (`gfs.YYYYMMDD`) and file name (`gfs.tHHz.pgrb2.0p25.fFFF`) of
/// one lead hour; the resolution tag follows the grid (`1p00` when
/// coarsened ×4).
pub fn file_name(opts: &DemoOptions, lead_hours: u32) -> (String, String) {
    let hundredths = 25 * opts.grid_coarsening.max(1);
    (
        format!("gfs.{}", opts.run.format("%Y%m%d")),
        format!(
            "gfs.t{:02}z.pgrb2.{}p{:02}.f{:03}",
            opts.run.hour(),
            hundredths / 100,
            hundredths % 100,
            lead_hours
        ),
    )
}

/// A pressure system at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PressureSystem {
    /// Centre latitude, degrees.
    pub lat: f64,
    /// Centre longitude, degrees east in 0..360.
    pub lon: f64,
    /// Central anomaly in Pa: negative for lows.
    pub amplitude_pa: f64,
    /// e-folding radius (Gaussian σ), km.
    pub radius_km: f64,
}

/// The pressure systems at `lead_hours`. Index 0 is the featured northern
/// low (North Atlantic), 1 a northern high upstream of it, 2 a southern
/// ocean low; the rest are weaker seeded systems kept ≥ 30° from the first
/// three so they never blur the featured ones.
pub fn pressure_systems(opts: &DemoOptions, lead_hours: f64) -> Vec<PressureSystem> {
    let mut r = Rng::new(opts.seed, 1);
    // (lat, lon, dlat/h, dlon/h, amplitude, amplitude change/h, radius)
    let mut tracks = vec![
        (
            r.range(42.0, 50.0),
            r.range(300.0, 320.0),
            r.range(0.1, 0.25),
            r.range(0.6, 0.9),
            r.range(-2600.0, -2200.0),
            -40.0,
            r.range(750.0, 900.0),
        ),
        (
            r.range(34.0, 42.0),
            r.range(255.0, 275.0),
            0.0,
            r.range(0.2, 0.4),
            r.range(1200.0, 1800.0),
            5.0,
            r.range(1200.0, 1500.0),
        ),
        (
            r.range(-58.0, -48.0),
            r.range(60.0, 140.0),
            r.range(-0.2, 0.0),
            r.range(0.6, 0.9),
            r.range(-3000.0, -2400.0),
            -20.0,
            r.range(800.0, 1000.0),
        ),
    ];
    while tracks.len() < 9 {
        let lat = r.range(25.0, 65.0) * if r.unit() < 0.5 { -1.0 } else { 1.0 };
        let lon = r.range(0.0, 360.0);
        let low = r.unit() < 0.6;
        let amp = r.range(800.0, 1800.0) * if low { -1.0 } else { 1.0 };
        let (dlon, radius) = (r.range(0.2, 0.8), r.range(500.0, 1100.0));
        let far = tracks
            .iter()
            .take(3)
            .all(|t| angular_distance_deg(lat, lon, t.0, t.1) > 30.0);
        if far {
            tracks.push((lat, lon, 0.0, dlon, amp, 0.0, radius));
        }
    }
    tracks
        .into_iter()
        .map(|(lat, lon, dlat, dlon, amp, damp, radius)| PressureSystem {
            lat: lat + dlat * lead_hours,
            lon: (lon + dlon * lead_hours).rem_euclid(360.0),
            amplitude_pa: amp + damp * lead_hours,
            radius_km: radius,
        })
        .collect()
}

/// Great-circle distance in degrees.
pub fn angular_distance_deg(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (a, b) = (unit_vector(lat1, lon1), unit_vector(lat2, lon2));
    let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    dot.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Time-independent surface properties, computed once per run.
pub struct Statics {
    /// 0 = sea, 1 = land (smooth coasts).
    land: Vec<f64>,
    /// Height above sea level, km.
    elevation_km: Vec<f64>,
    /// Small-scale temperature noise, K.
    t_noise: Vec<f64>,
    /// Small-scale pressure noise, Pa.
    p_noise: Vec<f64>,
}

impl Statics {
    /// The pseudo-continents for `opts.seed`.
    pub fn new(opts: &DemoOptions) -> Self {
        let g = grid(opts);
        let continents = ValueNoise::new(opts.seed, 10);
        let relief = ValueNoise::new(opts.seed, 11);
        let small = ValueNoise::new(opts.seed, 12);
        let n = g.len();
        let (mut land, mut elevation_km) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut t_noise, mut p_noise) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for j in 0..g.nj {
            let lat = g.lat(j);
            for i in 0..g.ni {
                let [x, y, z] = unit_vector(lat, g.lon(i));
                // ~1.7 lattice cells per radian gives continent-sized blobs;
                // the threshold leaves roughly a third of the globe as land.
                let c = continents.fbm(x * 1.7, y * 1.7, z * 1.7, 5);
                let mut l = smoothstep(0.06, 0.16, c);
                // An Antarctica-like polar plateau.
                l = l.max(smoothstep(-66.0, -72.0, lat));
                let r = relief.fbm(x * 4.0, y * 4.0, z * 4.0, 4);
                let plateau = smoothstep(-70.0, -80.0, lat) * 2.5;
                elevation_km.push(l * ((r * 3.0).max(0.0) + 0.1).max(plateau));
                land.push(l);
                t_noise.push(1.5 * small.fbm(x * 12.0, y * 12.0, z * 12.0, 3));
                p_noise.push(80.0 * small.fbm(x * 5.0 + 9.0, y * 5.0, z * 5.0, 3));
            }
        }
        Self {
            land,
            elevation_km,
            t_noise,
            p_noise,
        }
    }

    /// Land fraction at grid point `k`.
    pub fn land(&self, k: usize) -> f64 {
        self.land[k]
    }
}

/// The five fields of one lead hour, row-major on [`grid`], SI units.
#[derive(Debug, Clone)]
pub struct GfsFields {
    /// 2 m temperature, K.
    pub tmp2m: Vec<f64>,
    /// Pressure reduced to mean sea level, Pa.
    pub prmsl: Vec<f64>,
    /// 10 m eastward wind, m/s.
    pub ugrd10: Vec<f64>,
    /// 10 m northward wind, m/s.
    pub vgrd10: Vec<f64>,
    /// Precipitation rate, kg m⁻² s⁻¹ (= mm/s).
    pub prate: Vec<f64>,
}

fn gauss(x: f64, mu: f64, sigma: f64) -> f64 {
    (-((x - mu) / sigma).powi(2)).exp()
}

/// Zonal-mean sea-level pressure: equatorial trough, subtropical highs,
/// subpolar lows.
fn base_pressure(lat: f64) -> f64 {
    101_300.0 + 700.0 * gauss(lat.abs(), 32.0, 12.0)
        - 1000.0 * gauss(lat.abs(), 62.0, 12.0)
        - 250.0 * gauss(lat, 0.0, 10.0)
}

/// The fields of `opts`' run at `lead_hours`.
pub fn generate_fields(opts: &DemoOptions, statics: &Statics, lead_hours: u32) -> GfsFields {
    let g = grid(opts);
    let valid = opts.run + Duration::hours(lead_hours as i64);
    let systems = pressure_systems(opts, lead_hours as f64);
    let prmsl = pressure(&g, statics, &systems);
    let (ugrd10, vgrd10) = wind(&g, statics, &prmsl);
    GfsFields {
        tmp2m: temperature(&g, statics, valid),
        prate: precipitation(&g, opts.seed, &systems, lead_hours as f64),
        prmsl,
        ugrd10,
        vgrd10,
    }
}

fn temperature(g: &LatLonGridSpec, s: &Statics, valid: DateTime<Utc>) -> Vec<f64> {
    // Solar declination, normalised to ±1, moves the thermal equator and
    // warms the summer hemisphere.
    let doy = valid.ordinal0() as f64;
    let season = (2.0 * PI * (doy - 80.0) / 365.25).sin();
    let utc_hours = valid.hour() as f64 + valid.minute() as f64 / 60.0;
    let mut t = Vec::with_capacity(g.len());
    for j in 0..g.nj {
        let lat = g.lat(j);
        let (sin_lat, cos_lat) = lat.to_radians().sin_cos();
        let eff = (lat - 9.0 * season).to_radians().sin();
        let zonal = 301.0 - 50.0 * eff * eff;
        for i in 0..g.ni {
            let k = (j * g.ni + i) as usize;
            let land = s.land[k];
            // Local solar time; the daily maximum comes about 15 h local.
            let local = utc_hours + g.lon(i) / 15.0;
            let amplitude = (0.4 + 6.5 * land) * (0.25 + 0.75 * cos_lat);
            let diurnal = amplitude * (2.0 * PI * (local - 15.0) / 24.0).cos();
            let seasonal = (8.0 + 8.0 * land) * sin_lat * season;
            let lapse = -6.5 * s.elevation_km[k];
            t.push(zonal + seasonal + diurnal + lapse + s.t_noise[k]);
        }
    }
    t
}

fn pressure(g: &LatLonGridSpec, s: &Statics, systems: &[PressureSystem]) -> Vec<f64> {
    let centres: Vec<([f64; 3], f64, f64)> = systems
        .iter()
        .map(|p| {
            let r = p.radius_km * 1000.0 / EARTH_RADIUS_M;
            (unit_vector(p.lat, p.lon), p.amplitude_pa, 0.5 / (r * r))
        })
        .collect();
    let mut out = Vec::with_capacity(g.len());
    for j in 0..g.nj {
        let lat = g.lat(j);
        let base = base_pressure(lat);
        for i in 0..g.ni {
            let p = unit_vector(lat, g.lon(i));
            let mut v = base + s.p_noise[(j * g.ni + i) as usize];
            for (c, amp, inv2r2) in &centres {
                // Chord length ≈ arc length at these radii, and is cheap.
                let d2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
                v += amp * (-d2 * inv2r2).exp();
            }
            out.push(v);
        }
    }
    out
}

/// 10 m wind: geostrophic from the pressure gradient, slowed and turned
/// toward low pressure by surface friction (more over land), plus trade
/// winds where the Coriolis parameter vanishes.
fn wind(g: &LatLonGridSpec, s: &Statics, p: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (ni, nj) = (g.ni as usize, g.nj as usize);
    let dl = g.step_deg().to_radians();
    let dy = EARTH_RADIUS_M * dl;
    let (mut u, mut v) = (vec![0.0; ni * nj], vec![0.0; ni * nj]);
    let sin_floor = 12f64.to_radians().sin();
    for j in 1..nj.saturating_sub(1) {
        let lat = g.lat(j as u32);
        let (sin_lat, cos_lat) = lat.to_radians().sin_cos();
        let dx = EARTH_RADIUS_M * cos_lat * dl;
        // 1/f, floored at 12° and passing smoothly through 0 at the equator
        // where geostrophy breaks down.
        let inv_f = sin_lat / (2.0 * OMEGA * (sin_lat * sin_lat).max(sin_floor * sin_floor));
        let hemisphere = (lat / 3.0).tanh();
        let trade = 7.0 * gauss(lat.abs(), 13.0, 9.0);
        for i in 0..ni {
            let k = j * ni + i;
            let (e, w) = (j * ni + (i + 1) % ni, j * ni + (i + ni - 1) % ni);
            let dpdx = (p[e] - p[w]) / (2.0 * dx);
            // Rows run north to south.
            let dpdy = (p[k - ni] - p[k + ni]) / (2.0 * dy);
            let ug = -inv_f * dpdy / AIR_DENSITY;
            let vg = inv_f * dpdx / AIR_DENSITY;
            let land = s.land[k];
            // Turning toward low pressure: anticlockwise in the north,
            // clockwise in the south.
            let alpha = (20.0 + 15.0 * land).to_radians() * hemisphere;
            let slow = 0.75 - 0.25 * land;
            let (sa, ca) = alpha.sin_cos();
            let mut uu = slow * (ug * ca - vg * sa) - trade;
            let mut vv = slow * (ug * sa + vg * ca) - trade * 0.3 * hemisphere;
            // Soft cap: nothing beyond 30 m/s.
            let speed = uu.hypot(vv);
            if speed > 1e-9 {
                let f = 30.0 * (speed / 30.0).tanh() / speed;
                uu *= f;
                vv *= f;
            }
            u[k] = uu;
            v[k] = vv;
        }
    }
    (u, v)
}

/// Rain under each low, strongest in a warm-conveyor-like patch poleward
/// and east of the centre; exactly zero elsewhere.
fn precipitation(
    g: &LatLonGridSpec,
    seed: u64,
    systems: &[PressureSystem],
    lead_hours: f64,
) -> Vec<f64> {
    let bands = ValueNoise::new(seed, 13);
    let mut out = vec![0.0f64; g.len()];
    for s in systems.iter().filter(|s| s.amplitude_pa < 0.0) {
        let (lat_c, lon_c) = (
            s.lat + 2.0 * s.lat.signum(),
            s.lon + 3.0 / s.lat.to_radians().cos(),
        );
        let c = unit_vector(lat_c, lon_c);
        let r = 0.8 * s.radius_km * 1000.0 / EARTH_RADIUS_M;
        let depth = (-s.amplitude_pa / 2500.0).min(1.5);
        // Only rows within reach: w > 0.3 ⇔ d < 1.56 σ.
        let reach_deg = (1.56 * r).to_degrees() + 0.5;
        for j in 0..g.nj {
            let lat = g.lat(j);
            if (lat - lat_c).abs() > reach_deg {
                continue;
            }
            for i in 0..g.ni {
                let p = unit_vector(lat, g.lon(i));
                let d2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
                let w = (-0.5 * d2 / (r * r)).exp();
                if w <= 0.3 {
                    continue;
                }
                // Rain bands drifting with time.
                let t = lead_hours * 0.05;
                let n = bands.fbm(p[0] * 25.0 + t, p[1] * 25.0, p[2] * 25.0 - t, 3);
                let mm_per_hour = 10.0 * depth * (w - 0.3) / 0.7 * (0.5 + 0.5 * (3.0 * n).tanh());
                if mm_per_hour >= 0.05 {
                    let k = (j * g.ni + i) as usize;
                    out[k] = out[k].max(mm_per_hour / 3600.0);
                }
            }
        }
    }
    out
}

/// One field's product definition and decimal scale factor.
struct FieldSpec {
    category: u8,
    number: u8,
    surface: Surface,
    decimal: i16,
}

const TMP: FieldSpec = FieldSpec {
    category: 0,
    number: 0,
    surface: Surface {
        kind: 103,
        value: 2,
    },
    decimal: 2,
};
const PRMSL: FieldSpec = FieldSpec {
    category: 3,
    number: 1,
    surface: Surface {
        kind: 101,
        value: 0,
    },
    decimal: 0,
};
const UGRD: FieldSpec = FieldSpec {
    category: 2,
    number: 2,
    surface: Surface {
        kind: 103,
        value: 10,
    },
    decimal: 2,
};
const VGRD: FieldSpec = FieldSpec {
    category: 2,
    number: 3,
    ..UGRD
};
const PRATE: FieldSpec = FieldSpec {
    category: 1,
    number: 7,
    surface: Surface { kind: 1, value: 0 },
    // 1e-6 mm/s ≈ 0.004 mm/h.
    decimal: 6,
};

fn encode_field(
    opts: &DemoOptions,
    g: &LatLonGridSpec,
    lead_hours: u32,
    spec: &FieldSpec,
    values: &[f64],
) -> Result<Vec<u8>, DemoError> {
    let ident = Ident {
        centre: CENTRE_NCEP,
        ref_significance: 1,
        data_type: 1,
    };
    let product = Product {
        category: spec.category,
        number: spec.number,
        process_type: 2,
        process_id: PROCESS_GFS,
        time_unit: 1,
        lead: lead_hours as i32,
        surface: spec.surface,
    };
    // The crate's complex packing (template 5.2) has no spatial differencing
    // (5.3) yet; plain grouping still beats simple packing on smooth fields.
    let data = GpvEncoder::new(
        Cow::Borrowed(values),
        EncodingMethod::ComplexPacking(
            SimplePackingStrategy::Decimal(spec.decimal),
            ComplexPackingStrategy::LookAhead(4),
            SpatialDifferencingOption::None,
        ),
    );
    OneFieldMessage {
        discipline: 0,
        ident: sections::section1(ident, opts.run),
        grid: g.section3(),
        product: sections::section4(product),
        data,
    }
    .to_bytes()
}

/// Writes f000..f`hours` under `dir`.
pub(crate) fn write_run(dir: &Path, opts: &DemoOptions) -> Result<Vec<DemoFile>, DemoError> {
    let g = grid(opts);
    let statics = Statics::new(opts);
    super::parallel_map(opts.hours as usize + 1, 8, |lead| {
        let lead = lead as u32;
        let f = generate_fields(opts, &statics, lead);
        let mut bytes = Vec::new();
        for (spec, values) in [
            (&TMP, &f.tmp2m),
            (&PRMSL, &f.prmsl),
            (&UGRD, &f.ugrd10),
            (&VGRD, &f.vgrd10),
            (&PRATE, &f.prate),
        ] {
            bytes.extend(encode_field(opts, &g, lead, spec, values)?);
        }
        let (sub, name) = file_name(opts, lead);
        super::write_file(
            &dir.join(sub),
            &name,
            &bytes,
            DemoFileKind::Gfs { lead_hours: lead },
            opts.run + Duration::hours(lead as i64),
        )
    })
}
