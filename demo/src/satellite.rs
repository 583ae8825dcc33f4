//! A GOES-16-like infrared scan (ABI band 13, 10.3 µm) of a CONUS-like
//! sector, written as NetCDF4 with the real L2 CMIP product's structure:
//! `CMI` int16 with `_Unsigned`, `scale_factor`/`add_offset` and a raw
//! `_FillValue`; int16 `x`/`y` scan angles; `goes_imager_projection`;
//! `DQF`; `band_id`, `band_wavelength`, `t`; `time_coverage_start`/`end`,
//! `platform_ID`, `scene_id`, `dataset_name`. Pixels off the Earth's disk
//! (the sector's north-west corner) are fill, as in the real files.
//!
//! The scene: surface brightness temperature falling with latitude under
//! a deck of clouds from fractal noise, drifting east from scan to scan.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use protocol::grid::projection::{Geostationary, Projection};

use super::noise::{ValueNoise, smoothstep};
use super::{DemoError, DemoOptions};

/// GOES-East's sub-satellite longitude.
const LON0: f64 = -75.0;
const HEIGHT: f64 = 35_786_023.0;
const SEMI_MAJOR: f64 = 6_378_137.0;
const SEMI_MINOR: f64 = 6_356_752.314_14;
/// Scan-angle step (8 × the 2 km infrared pixel: about 16 km).
const STEP: f64 = 4.48e-4;
const NI: usize = 313;
const NJ: usize = 188;
/// The real CONUS sector's first x and y (pixel centres), radians.
const X0: f64 = -0.101_332;
const Y0: f64 = 0.128_212;
/// CMI packing: K = raw · SCALE + OFFSET, 12 bits; raw 65535 is fill.
const SCALE: f32 = 0.05;
const OFFSET: f32 = 170.0;
const FILL: i16 = -1;
/// Minutes between scans (CONUS every 5 minutes in mode 6).
const STEP_MINUTES: i64 = 5;

/// Start time of scan `k`.
pub fn scan_time(opts: &DemoOptions, k: u32) -> DateTime<Utc> {
    opts.run + Duration::minutes(i64::from(k) * STEP_MINUTES)
}

/// Writes `scans` scans (each 5 minutes after the last, from `opts.run`)
/// under `dir/goes16/` and returns their paths.
pub fn write_scans(
    dir: &Path,
    opts: &DemoOptions,
    scans: u32,
) -> Result<Vec<std::path::PathBuf>, DemoError> {
    let out = dir.join("goes16");
    std::fs::create_dir_all(&out).map_err(|source| DemoError::Io {
        path: out.clone(),
        source,
    })?;
    (0..scans)
        .map(|k| {
            let start = scan_time(opts, k);
            let end = start + Duration::seconds(150);
            let stamp = |t: DateTime<Utc>| t.format("%Y%j%H%M%S0").to_string();
            let name = format!(
                "OR_ABI-L2-CMIPC-M6C13_G16_s{}_e{}_c{}.nc",
                stamp(start),
                stamp(end),
                stamp(end)
            );
            let path = out.join(&name);
            // Written aside, then renamed: a scanning server never reads
            // half a file.
            let partial = out.join(format!("{name}.partial"));
            write_scan(&partial, &name, opts, k, start, end)
                .map_err(|e| DemoError::Encode(format!("NetCDF {name}: {e}")))?;
            std::fs::rename(&partial, &path).map_err(|source| DemoError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// Brightness temperature (K) at (lon, lat) in scan `k`.
fn brightness(noise: &ValueNoise, lon: f64, lat: f64, k: u32) -> f64 {
    let surface = 300.0 - 0.55 * (lat.abs() - 15.0).max(0.0);
    let drift = f64::from(k) * 0.15;
    let cover = noise.fbm((lon - drift) / 9.0, lat / 9.0, 0.5, 5);
    let cloud = smoothstep(0.0, 0.35, cover);
    let height = 0.5 + 0.5 * noise.fbm((lon - drift) / 4.0 + 40.0, lat / 4.0, 3.5, 4);
    let top = 275.0 - 80.0 * height.clamp(0.0, 1.0);
    surface + (top.min(surface) - surface) * cloud
}

fn write_scan(
    path: &Path,
    name: &str,
    opts: &DemoOptions,
    k: u32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), netcdf::Error> {
    let view = Geostationary::new(SEMI_MAJOR, SEMI_MINOR, HEIGHT, LON0, true)
        .ok_or("the demo's geostationary view")?;
    let projection = Projection::Geostationary(view);
    let noise = ValueNoise::new(opts.seed, 13);
    let mut cmi = Vec::with_capacity(NI * NJ);
    let mut dqf = Vec::with_capacity(NI * NJ);
    for j in 0..NJ {
        for i in 0..NI {
            let (x, y) = (X0 + i as f64 * STEP, Y0 - j as f64 * STEP);
            let (lon, lat) = projection.inverse(x * HEIGHT, y * HEIGHT);
            if lon.is_finite() {
                let bt = brightness(&noise, lon, lat, k);
                let raw = ((bt - f64::from(OFFSET)) / f64::from(SCALE)).round();
                cmi.push(raw.clamp(0.0, 4095.0) as u16 as i16);
                dqf.push(0i8);
            } else {
                cmi.push(FILL);
                dqf.push(-1i8);
            }
        }
    }
    let mut file = netcdf::create(path)?;
    let globals: [(&str, &str); 9] = [
        ("Conventions", "CF-1.7"),
        (
            "title",
            "ABI L2 Cloud and Moisture Imagery (wxfarm sample data)",
        ),
        ("platform_ID", "G16"),
        ("orbital_slot", "GOES-East"),
        ("scene_id", "CONUS"),
        ("instrument_type", "GOES R Series Advanced Baseline Imager"),
        ("dataset_name", name),
        ("cdm_data_type", "Image"),
        (
            "summary",
            "Synthetic infrared scan written by wxfarm demo-data",
        ),
    ];
    for (k, v) in globals {
        file.add_attribute(k, v)?;
    }
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.0Z").to_string();
    file.add_attribute("time_coverage_start", iso(start).as_str())?;
    file.add_attribute("time_coverage_end", iso(end).as_str())?;
    file.add_dimension("y", NJ)?;
    file.add_dimension("x", NI)?;
    file.add_dimension("band", 1)?;

    let mut v = file.add_variable::<i16>("CMI", &["y", "x"])?;
    v.set_chunking(&[NJ.min(250), NI.min(250)])?;
    v.set_compression(1, false)?;
    v.set_fill_value(FILL)?;
    v.put_attribute(
        "long_name",
        "ABI L2+ Cloud and Moisture Imagery brightness temperature",
    )?;
    v.put_attribute("standard_name", "toa_brightness_temperature")?;
    v.put_attribute("_Unsigned", "true")?;
    v.put_attribute("valid_range", vec![0i16, 4095])?;
    v.put_attribute("scale_factor", SCALE)?;
    v.put_attribute("add_offset", OFFSET)?;
    v.put_attribute("units", "K")?;
    v.put_attribute("grid_mapping", "goes_imager_projection")?;
    v.put_attribute("ancillary_variables", "DQF")?;
    v.put_values(&cmi, ..)?;

    let mut q = file.add_variable::<i8>("DQF", &["y", "x"])?;
    q.set_chunking(&[NJ.min(250), NI.min(250)])?;
    q.set_compression(1, false)?;
    q.set_fill_value(-1i8)?;
    q.put_attribute("_Unsigned", "true")?;
    q.put_attribute("flag_values", vec![0i8, 1, 2, 3])?;
    q.put_attribute(
        "flag_meanings",
        "good_pixel_qf conditionally_usable_pixel_qf out_of_range_pixel_qf no_value_pixel_qf",
    )?;
    q.put_values(&dqf, ..)?;

    for (axis, n, first, step) in [("x", NI, X0, STEP), ("y", NJ, Y0, -STEP)] {
        let mut a = file.add_variable::<i16>(axis, &[axis])?;
        a.put_attribute("scale_factor", step as f32)?;
        a.put_attribute("add_offset", first as f32)?;
        a.put_attribute("units", "rad")?;
        a.put_attribute("standard_name", format!("projection_{axis}_coordinate"))?;
        let raw: Vec<i16> = (0..n as i16).collect();
        a.put_values(&raw, ..)?;
    }

    let mut p = file.add_variable::<i32>("goes_imager_projection", &[])?;
    p.put_attribute("long_name", "GOES-R ABI fixed grid projection")?;
    p.put_attribute("grid_mapping_name", "geostationary")?;
    p.put_attribute("perspective_point_height", HEIGHT)?;
    p.put_attribute("semi_major_axis", SEMI_MAJOR)?;
    p.put_attribute("semi_minor_axis", SEMI_MINOR)?;
    p.put_attribute("latitude_of_projection_origin", 0.0f64)?;
    p.put_attribute("longitude_of_projection_origin", LON0)?;
    p.put_attribute("sweep_angle_axis", "x")?;
    p.put_value(-2_147_483_647i32, ..)?;

    let mut b = file.add_variable::<i8>("band_id", &["band"])?;
    b.put_attribute("long_name", "ABI band number")?;
    b.put_values(&[13i8], ..)?;
    let mut w = file.add_variable::<f32>("band_wavelength", &["band"])?;
    w.put_attribute("units", "um")?;
    w.put_values(&[10.33f32], ..)?;
    let mut t = file.add_variable::<f64>("t", &[])?;
    t.put_attribute("units", "seconds since 2000-01-01 12:00:00")?;
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .ok_or("epoch")?
        .and_utc();
    let mid = start + (end - start) / 2;
    t.put_value((mid - epoch).num_milliseconds() as f64 / 1000.0, ..)?;
    file.close()
}
