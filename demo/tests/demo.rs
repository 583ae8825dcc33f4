//! Decodes `write_demo_data`'s files with the `grib` crate and checks their
//! metadata and physics. Grids are coarsened so the suite stays fast.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chrono::{TimeZone, Utc};
use demo::gfs::{self, angular_distance_deg};
use demo::radar;
use demo::sections::LatLonGridSpec;
use demo::{DemoFileKind, DemoOptions, write_demo_data};
use grib::def::grib2::{DataRepresentationTemplate, ProductDefinitionTemplate};

/// One decoded message.
#[derive(Debug)]
struct Field {
    discipline: u8,
    centre: u16,
    category: u8,
    number: u8,
    process_id: u8,
    lead: i32,
    surface: (u8, i32),
    repr_template: u16,
    simple: Option<grib::def::grib2::template::param_set::SimplePacking>,
    shape: (usize, usize),
    values: Vec<f32>,
}

fn decode(path: &Path) -> Vec<Field> {
    let f = BufReader::new(File::open(path).unwrap());
    let grib2 = grib::from_reader(f).unwrap();
    let mut out = Vec::new();
    for (_, sub) in grib2.iter() {
        let s1 = sub.section1().unwrap().payload;
        let s5 = sub.section5().unwrap().payload;
        let ProductDefinitionTemplate::_4_0(t) = sub.section4().unwrap().payload.template else {
            panic!("expected product template 4.0");
        };
        let simple = match &s5.template {
            DataRepresentationTemplate::_5_41(t) => Some(t.simple.clone()),
            _ => None,
        };
        let shape = sub.grid_shape().unwrap();
        let discipline = sub.indicator().discipline;
        let values: Vec<f32> = grib::Grib2SubmessageDecoder::from(sub)
            .unwrap()
            .dispatch()
            .unwrap()
            .collect();
        out.push(Field {
            discipline,
            centre: s1.centre_id,
            category: t.param.category,
            number: t.param.num,
            process_id: t.generating_process.process_id,
            lead: t.forecast_time.time.len,
            surface: (
                t.horizontal.first_surface.surface_type,
                t.horizontal.first_surface.value.scaled_value,
            ),
            repr_template: s5.template_num,
            simple,
            shape,
            values,
        });
    }
    out
}

fn opts(hours: u32, frames: u32, coarsening: u32) -> DemoOptions {
    DemoOptions {
        run: Utc.with_ymd_and_hms(2025, 7, 14, 0, 0, 0).unwrap(),
        seed: 7,
        hours,
        radar_frames: frames,
        radar_step_minutes: 10,
        grid_coarsening: coarsening,
    }
}

fn gfs_path(dir: &Path, o: &DemoOptions, lead: u32) -> std::path::PathBuf {
    let (sub, name) = gfs::file_name(o, lead);
    dir.join(sub).join(name)
}

/// Value at the grid point nearest (lat, lon).
fn at(g: &LatLonGridSpec, v: &[f32], lat: f64, lon: f64) -> f32 {
    let step = g.step_deg();
    let j = ((g.lat(0) - lat) / step).round() as u32;
    let i = ((lon.rem_euclid(360.0) - g.lon(0)) / step).round() as u32 % g.ni;
    v[(j * g.ni + i) as usize]
}

/// (lat, lon, value) of the minimum within `radius_deg` of (lat, lon).
fn min_near(g: &LatLonGridSpec, v: &[f32], lat: f64, lon: f64, radius_deg: f64) -> (f64, f64, f32) {
    let mut best = (0.0, 0.0, f32::INFINITY);
    for j in 0..g.nj {
        for i in 0..g.ni {
            let (la, lo) = (g.lat(j), g.lon(i));
            let x = v[(j * g.ni + i) as usize];
            if x < best.2 && angular_distance_deg(la, lo, lat, lon) < radius_deg {
                best = (la, lo, x);
            }
        }
    }
    best
}

#[test]
fn report_lists_every_file_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(2, 2, 10);
    let report = write_demo_data(dir.path(), &o).unwrap();
    assert_eq!(report.files.len(), 3 + 2);
    for f in &report.files {
        assert_eq!(std::fs::metadata(&f.path).unwrap().len(), f.bytes);
    }
    assert_eq!(report.files[1].kind, DemoFileKind::Gfs { lead_hours: 1 });
    assert!(gfs_path(dir.path(), &o, 2).ends_with("gfs.20250714/gfs.t00z.pgrb2.2p50.f002"));
    assert!(
        report.files[4]
            .path
            .ends_with("mrms/MRMS_MergedReflectivityQCComposite_00.50_20250714-001000.grib2")
    );
    assert_eq!(
        report.total_bytes(),
        report.files.iter().map(|f| f.bytes).sum::<u64>()
    );
}

#[test]
fn same_options_give_identical_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let o = opts(1, 2, 10);
    let ra = write_demo_data(a.path(), &o).unwrap();
    let rb = write_demo_data(b.path(), &o).unwrap();
    for (fa, fb) in ra.files.iter().zip(&rb.files) {
        assert_eq!(
            std::fs::read(&fa.path).unwrap(),
            std::fs::read(&fb.path).unwrap()
        );
    }
    let c = tempfile::tempdir().unwrap();
    let rc = write_demo_data(c.path(), &DemoOptions { seed: 8, ..o }).unwrap();
    assert_ne!(
        std::fs::read(&ra.files[0].path).unwrap(),
        std::fs::read(&rc.files[0].path).unwrap()
    );
}

#[test]
fn invalid_coarsening_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert!(write_demo_data(dir.path(), &opts(0, 0, 3)).is_err());
}

#[test]
fn gfs_messages_carry_gfs_metadata_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(3, 0, 4);
    write_demo_data(dir.path(), &o).unwrap();
    let g = gfs::grid(&o);
    let fields = decode(&gfs_path(dir.path(), &o, 3));
    let ids: Vec<_> = fields
        .iter()
        .map(|f| (f.category, f.number, f.surface))
        .collect();
    assert_eq!(
        ids,
        [
            (0, 0, (103, 2)),
            (3, 1, (101, 0)),
            (2, 2, (103, 10)),
            (2, 3, (103, 10)),
            (1, 7, (1, 0)),
        ]
    );
    for f in &fields {
        assert_eq!(
            (f.discipline, f.centre, f.process_id, f.lead),
            (0, 7, 96, 3)
        );
        assert_eq!(f.repr_template, 2, "complex packing");
        assert_eq!(f.shape, (g.ni as usize, g.nj as usize));
    }
    // Decoded values equal the generated ones within the decimal scale.
    let statics = gfs::Statics::new(&o);
    let generated = gfs::generate_fields(&o, &statics, 3);
    let tol = [0.005, 0.5, 0.005, 0.005, 0.5e-6];
    let arrays = [
        &generated.tmp2m,
        &generated.prmsl,
        &generated.ugrd10,
        &generated.vgrd10,
        &generated.prate,
    ];
    for ((f, want), tol) in fields.iter().zip(arrays).zip(tol) {
        for (k, (&got, &want)) in f.values.iter().zip(want.iter()).enumerate() {
            let err = (got as f64 - want).abs();
            assert!(
                err <= tol * 1.01 + want.abs() * 1e-6,
                "{}/{} point {k}: {got} vs {want}",
                f.category,
                f.number
            );
        }
    }
}

#[test]
fn temperature_is_plausible_and_follows_the_sun() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(12, 0, 4);
    write_demo_data(dir.path(), &o).unwrap();
    let g = gfs::grid(&o);
    let t0 = &decode(&gfs_path(dir.path(), &o, 0))[0].values;
    let t12 = &decode(&gfs_path(dir.path(), &o, 12))[0].values;
    for t in [t0, t12] {
        let (lo, hi) = t
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(lo > 200.0 && hi < 330.0, "range {lo}..{hi}");
        assert!(hi - lo > 50.0, "range {lo}..{hi} too flat");
    }
    let band_mean = |t: &[f32], lat_lo: f64, lat_hi: f64| {
        let (mut sum, mut n) = (0.0, 0);
        for j in 0..g.nj {
            let lat = g.lat(j);
            if (lat_lo..=lat_hi).contains(&lat) {
                for i in 0..g.ni {
                    sum += t[(j * g.ni + i) as usize] as f64;
                    n += 1;
                }
            }
        }
        sum / n as f64
    };
    let tropics = band_mean(t0, -20.0, 20.0);
    assert!(tropics > band_mean(t0, 65.0, 90.0) + 15.0);
    assert!(tropics > band_mean(t0, -90.0, -65.0) + 15.0);
    // Same land points, 12 hours apart: where 00Z is local afternoon
    // (12–18 h, lon 180–270°E) it is warmer at f000; where it is local
    // night (0–6 h, lon 0–90°E) warmer at f012.
    let statics = gfs::Statics::new(&o);
    let (mut afternoon_first, mut night_first) = ((0.0, 0), (0.0, 0));
    for j in 0..g.nj {
        if g.lat(j).abs() > 40.0 {
            continue;
        }
        for i in 0..g.ni {
            let k = (j * g.ni + i) as usize;
            if statics.land(k) < 0.5 {
                continue;
            }
            let diff = (t0[k] - t12[k]) as f64;
            match g.lon(i) / 15.0 {
                h if (12.0..=18.0).contains(&h) => {
                    afternoon_first.0 += diff;
                    afternoon_first.1 += 1;
                }
                h if (0.0..=6.0).contains(&h) => {
                    night_first.0 -= diff;
                    night_first.1 += 1;
                }
                _ => {}
            }
        }
    }
    assert!(
        afternoon_first.1 > 20 && night_first.1 > 20,
        "too little land"
    );
    let a = afternoon_first.0 / afternoon_first.1 as f64;
    let n = night_first.0 / night_first.1 as f64;
    assert!(a > 3.0 && n > 3.0, "afternoon minus night: {a} K, {n} K");
}

#[test]
fn lows_move_and_winds_circulate_around_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(12, 0, 4);
    write_demo_data(dir.path(), &o).unwrap();
    let g = gfs::grid(&o);
    let mut centres = Vec::new();
    for lead in [0, 12] {
        let f = decode(&gfs_path(dir.path(), &o, lead));
        let (p, u, v) = (&f[1].values, &f[2].values, &f[3].values);
        let speed_max = u
            .iter()
            .zip(v)
            .map(|(a, b)| a.hypot(*b))
            .fold(0.0, f32::max);
        assert!((8.0..=30.0).contains(&speed_max), "max wind {speed_max}");
        let systems = gfs::pressure_systems(&o, lead as f64);
        // Index 0: the featured northern low; 2: the southern one.
        for (idx, north) in [(0, true), (2, false)] {
            let s = systems[idx];
            let (lat, lon, pmin) = min_near(&g, p, s.lat, s.lon, 12.0);
            assert!(pmin < 100_000.0, "low {idx} too shallow: {pmin}");
            let off = angular_distance_deg(lat, lon, s.lat, s.lon);
            // The background subpolar trough pulls the minimum poleward a bit.
            assert!(
                off < 4.0,
                "lead {lead} low {idx}: minimum {off}° from centre"
            );
            let d = 5.0;
            let dlon = d / lat.to_radians().cos();
            let ve = at(&g, v, lat, lon + dlon);
            let vw = at(&g, v, lat, lon - dlon);
            let un = at(&g, u, lat + d, lon);
            let us = at(&g, u, lat - d, lon);
            // Anticlockwise in the north, clockwise in the south.
            let sign = if north { 1.0 } else { -1.0 };
            assert!(
                sign * ve > 2.0 && sign * vw < -2.0,
                "low {idx}: v east {ve}, west {vw}"
            );
            assert!(
                sign * un < -2.0 && sign * us > 2.0,
                "low {idx}: u north {un}, south {us}"
            );
            // Friction turns the flow inward: east of a low, it blows west.
            assert!(at(&g, u, lat, lon + dlon) < 0.0);
            if idx == 0 {
                centres.push((lat, lon));
            }
        }
    }
    let moved = angular_distance_deg(centres[0].0, centres[0].1, centres[1].0, centres[1].1);
    assert!(moved > 4.0, "low moved only {moved}°");
}

#[test]
fn rain_falls_only_under_lows() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(6, 0, 4);
    write_demo_data(dir.path(), &o).unwrap();
    let g = gfs::grid(&o);
    let f = decode(&gfs_path(dir.path(), &o, 6));
    let prate = &f[4].values;
    let lows: Vec<_> = gfs::pressure_systems(&o, 6.0)
        .into_iter()
        .filter(|s| s.amplitude_pa < 0.0)
        .collect();
    let mut wet = 0;
    let mut near_main = 0;
    for j in 0..g.nj {
        for i in 0..g.ni {
            let r = prate[(j * g.ni + i) as usize];
            assert!(r >= 0.0);
            if r > 0.0 {
                wet += 1;
                assert!(r < 30.0 / 3600.0, "{r} kg m-2 s-1");
                let (lat, lon) = (g.lat(j), g.lon(i));
                let near = lows.iter().any(|s| {
                    angular_distance_deg(lat, lon, s.lat, s.lon) < 2.0 * s.radius_km / 111.2 + 4.0
                });
                assert!(near, "rain at {lat},{lon} far from every low");
                let main = &lows[0];
                if angular_distance_deg(lat, lon, main.lat, main.lon)
                    < 2.0 * main.radius_km / 111.2 + 4.0
                {
                    near_main += 1;
                }
            }
        }
    }
    assert!(near_main > 10, "no rain under the featured low");
    assert!(wet * 10 < g.len(), "{wet} wet points: most should be dry");
}

/// Bit depth and colour type from the IHDR of the PNG in section 7.
fn png_header(file: &[u8]) -> (u8, u8) {
    let at = file
        .windows(8)
        .position(|w| w == b"\x89PNG\r\n\x1a\n")
        .expect("a PNG in section 7");
    // Signature (8), chunk length (4), "IHDR" (4), width (4), height (4).
    (file[at + 24], file[at + 25])
}

/// Grid indices (i, j) of points at or above `dbz`.
fn strong_points(g: &LatLonGridSpec, v: &[f32], dbz: f32) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for j in 0..g.nj {
        for i in 0..g.ni {
            if v[(j * g.ni + i) as usize] >= dbz {
                out.push((i as i64, j as i64));
            }
        }
    }
    out
}

#[test]
fn radar_frames_are_mrms_like_and_storms_move() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(0, 4, 5);
    let report = write_demo_data(dir.path(), &o).unwrap();
    let g = radar::grid(&o);
    assert_eq!((g.ni, g.nj), (1400, 700));
    let frames: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.kind == DemoFileKind::Radar)
        .collect();
    assert_eq!(frames.len(), 4);
    let mut decoded = Vec::new();
    for (n, file) in frames.iter().enumerate() {
        assert_eq!(png_header(&std::fs::read(&file.path).unwrap()), (16, 0));
        let mut fields = decode(&file.path);
        assert_eq!(fields.len(), 1);
        let f = fields.remove(0);
        assert_eq!(
            (f.discipline, f.centre, f.category, f.number),
            (209, 161, 10, 0)
        );
        assert_eq!((f.repr_template, f.surface), (41, (102, 500)));
        let p = f.simple.clone().unwrap();
        assert_eq!((p.ref_val, p.exp, p.dec, p.num_bits), (-9990.0, 0, 1, 16));
        assert_eq!(f.shape, (g.ni as usize, g.nj as usize));
        // PNG packing round-trips to the packing precision (0.05 dBZ).
        let generated = radar::frame_values(&o, n as u32);
        for (&got, &want) in f.values.iter().zip(&generated) {
            assert!((got - want).abs() <= 0.051, "{got} vs {want}");
        }
        decoded.push(f.values);
    }
    let v0 = &decoded[0];
    let sentinel = |x: f32, s: f32| (x - s).abs() < 1e-3;
    // Far Pacific (NW corner) and Atlantic (SE corner): no coverage.
    assert!(sentinel(v0[0], -999.0));
    assert!(sentinel(*v0.last().unwrap(), -999.0));
    let uncovered = v0.iter().filter(|&&x| sentinel(x, -999.0)).count();
    let clear = v0.iter().filter(|&&x| sentinel(x, -99.0)).count();
    assert!(
        (0.2..0.7).contains(&(uncovered as f64 / v0.len() as f64)),
        "{uncovered}"
    );
    assert!(clear > v0.len() / 10, "{clear}");
    // Only sentinels and echoes between 5 and ~75 dBZ.
    assert!(
        v0.iter()
            .all(|&x| sentinel(x, -999.0) || sentinel(x, -99.0) || (4.9..76.0).contains(&x))
    );
    let strong0 = strong_points(&g, v0, 30.0);
    let strong3 = strong_points(&g, &decoded[3], 30.0);
    assert!(
        strong0.len() > 100 && strong3.len() > 100,
        "too few convective points"
    );
    assert!(v0.iter().any(|&x| x >= 50.0), "no strong core");
    // The shift that best maps frame 0's strong echoes onto frame 3's:
    // 30 minutes at 8–18 m/s eastward is 14–32 km, 3–7 points at 0.05°.
    let set3: std::collections::HashSet<_> = strong3.into_iter().collect();
    let (mut best, mut best_hits) = ((0, 0), 0);
    for di in -4..=12 {
        for dj in -8..=8 {
            let hits = strong0
                .iter()
                .filter(|&&(i, j)| set3.contains(&(i + di, j + dj)))
                .count();
            if hits > best_hits {
                (best, best_hits) = ((di, dj), hits);
            }
        }
    }
    assert!(best.0 >= 2, "storms should drift east: best shift {best:?}");
    assert!(
        best_hits * 3 > strong0.len(),
        "echoes should persist: {best_hits}"
    );
    assert_ne!(v0, &decoded[1], "frames must differ");
}

/// Full-size grids: slow in debug builds, so opt-in
/// (`cargo test --release -p wxfarm-scheduler --test demo -- --ignored`).
#[test]
#[ignore]
fn full_size_files_decode() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(0, 1, 1);
    let report = write_demo_data(dir.path(), &o).unwrap();
    let gfs = decode(&report.files[0].path);
    assert_eq!(gfs.len(), 5);
    assert!(gfs.iter().all(|f| f.shape == (1440, 721)));
    let radar = decode(&report.files[1].path);
    assert_eq!(radar[0].shape, (7000, 3500));
    let generated = radar::frame_values(&o, 0);
    assert!(
        radar[0]
            .values
            .iter()
            .zip(&generated)
            .all(|(a, b)| (a - b).abs() <= 0.051)
    );
    assert!(radar[0].values.iter().any(|&x| x >= 30.0));
}
