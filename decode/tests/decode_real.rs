//! Decoding real producers' GRIB2 files, checked against wgrib2's dumps of
//! the same messages (`../shared/data/grib/reference/`, see its README).
//!
//! Every test skips with a message when the shared data folder is absent.

#[path = "../../tests/support/require.rs"]
mod require;

use std::io::Read;
use std::path::PathBuf;

use decode::{DecodeError, GridGeometry, decode_message, decode_raw, list_messages};
use grib::LatLons as _;
use protocol::grid::projection::{Earth, Lambert, PolarStereo, Projection};

/// wgrib2's missing value in its binary dumps.
const WGRIB2_MISSING: f32 = 9.999e20;

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/grib");
    if dir.is_dir() {
        Some(dir)
    } else {
        require::missing(&format!("the shared GRIB samples ({})", dir.display()));
        None
    }
}

/// A sample file, decompressed according to its extension.
fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let raw = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = Vec::new();
    if name.ends_with(".xz") {
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else {
        out = raw;
    }
    out
}

/// A wgrib2 reference dump: little-endian f32 in file order.
fn reference(dir: &std::path::Path, name: &str) -> Vec<f32> {
    read(dir, &format!("reference/{name}"))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Start offsets of the messages in a buffer, by walking section 0
/// headers ("GRIB", total length in octets 9–16).
fn message_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(k) = bytes[pos..].windows(4).position(|w| w == b"GRIB") {
        let start = pos + k;
        let len = u64::from_be_bytes(bytes[start + 8..start + 16].try_into().unwrap());
        out.push(start);
        pos = start + len as usize;
    }
    out
}

/// Section `num` of the message at `start` (first occurrence).
fn section(bytes: &[u8], start: usize, num: u8) -> &[u8] {
    let mut p = start + 16;
    loop {
        let len = u32::from_be_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        if bytes[p + 4] == num {
            return &bytes[p..p + len];
        }
        p += len;
    }
}

/// Sign-and-magnitude 2-octet integer.
fn signed16(b: &[u8]) -> i32 {
    let mag = i32::from(u16::from_be_bytes([b[0] & 0x7f, b[1]]));
    if b[0] & 0x80 != 0 { -mag } else { mag }
}

/// Rounding bound of a simple-packed field: the packed integers are exact,
/// so wgrib2's value and ours differ only by float rounding of
/// `(R + X·2^E)/10^D`. Half a packing step bounds that generously; the
/// relative term covers f32 rounding of large values.
fn tolerance(bytes: &[u8], start: usize) -> (f32, f32) {
    let s5 = section(bytes, start, 5);
    let (e, d) = (signed16(&s5[15..17]), signed16(&s5[17..19]));
    let step = 2f64.powi(e) / 10f64.powi(d);
    ((0.5 * step) as f32, 4.0 * f32::EPSILON)
}

/// Asserts `ours` equals wgrib2's dump: same length, missing at the same
/// points, values within tolerance.
fn assert_matches(label: &str, ours: &[f32], wgrib2: &[f32], (abs, rel): (f32, f32)) {
    assert_eq!(ours.len(), wgrib2.len(), "{label}: length");
    let mut missing = 0;
    for (k, (&a, &b)) in ours.iter().zip(wgrib2).enumerate() {
        if b == WGRIB2_MISSING {
            assert!(a.is_nan(), "{label}[{k}]: wgrib2 missing, ours {a}");
            missing += 1;
        } else {
            assert!(
                (a - b).abs() <= abs + rel * b.abs(),
                "{label}[{k}]: ours {a}, wgrib2 {b}"
            );
        }
    }
    eprintln!(
        "{label}: {} values match wgrib2 ({missing} missing)",
        ours.len()
    );
}

/// Every sample against its wgrib2 dump: (file, field index, reference).
const CASES: [(&str, usize, &str); 7] = [
    (
        "gdas.t12z.pgrb2.0p25.f000.12.xz",
        0,
        "gdas-12-wgrib2-le.bin.xz",
    ),
    (
        "gdas.t12z.pgrb2.0p25.f000.46.xz",
        0,
        "gdas-46-wgrib2-le.bin.xz",
    ),
    ("ds.critfireo.bin.xz", 0, "ds.critfireo.bin.0.xz"),
    ("ds.critfireo.bin.xz", 1, "ds.critfireo.bin.1.xz"),
    (
        "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2",
        0,
        "cmc-glb-wgrib2-le.bin.xz",
    ),
    (
        "20250912120000-0h-oper-fc.grib2.89.xz",
        0,
        "ecmwf-realtime-oper-fc-89-le.bin.xz",
    ),
    (
        "MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz",
        0,
        "mrms-reflectivity-wgrib2-le.bin.xz",
    ),
];

#[test]
fn raw_values_match_wgrib2() {
    let Some(dir) = data_dir() else { return };
    for (file, index, refname) in CASES {
        let bytes = read(&dir, file);
        let start = message_offsets(&bytes)[index];
        let ours = decode_raw(&bytes, index).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_matches(
            file,
            &ours,
            &reference(&dir, refname),
            tolerance(&bytes, start),
        );
    }
}

/// The grib crate splits PNG pixels by the declared bit width; MRMS files
/// declare 8, 16 or 24 bits whatever the PNG holds. Declaring a width that
/// disagrees with the real 16-bit PNG must not change the result.
#[test]
fn mrms_png_decodes_whatever_bit_width_is_declared() {
    let Some(dir) = data_dir() else { return };
    let mut bytes = read(&dir, CASES[6].0);
    let wgrib2 = reference(&dir, CASES[6].2);
    let tol = tolerance(&bytes, 0);
    // Octet 20 of section 5 is the declared number of bits.
    let s5 = section(&bytes, 0, 5).as_ptr() as usize - bytes.as_ptr() as usize;
    assert_eq!(bytes[s5 + 19], 16, "the sample declares 16 bits");
    for declared in [8u8, 24] {
        bytes[s5 + 19] = declared;
        let ours = decode_raw(&bytes, 0).unwrap();
        assert_matches(&format!("MRMS declared {declared}"), &ours, &wgrib2, tol);
    }
}

#[test]
fn mrms_grid_has_no_coverage_as_nan_no_echo_as_value_and_north_to_south_rows() {
    let Some(dir) = data_dir() else { return };
    let bytes = read(&dir, CASES[6].0);
    let wgrib2 = reference(&dir, CASES[6].2);
    let grid = decode_message(&bytes, 0).unwrap();
    assert_eq!((grid.ni, grid.nj), (7000, 3500));
    // Scan mode 0: file order is already rows from the north, eastward.
    let (mut no_coverage, mut no_echo) = (0, 0);
    for (k, (g, &w)) in grid.values.iter().zip(&wgrib2).enumerate() {
        if w == -999.0 {
            assert!(g.is_nan(), "[{k}] no coverage {g} kept as a value");
            no_coverage += 1;
        } else {
            no_echo += usize::from(w == -99.0);
            assert!((g - w).abs() < 0.05, "[{k}] {g} vs {w}");
        }
    }
    // Kept as the PNG's 16-bit integers, each read as exactly the value
    // the f32 unpacking gives (no coverage aside).
    let protocol::grid::GridValues::Coded(coded) = &grid.values else {
        panic!("MRMS PNG samples are kept as codes");
    };
    assert!(coded.table().len() <= 65_536);
    let raw = decode_raw(&bytes, 0).unwrap();
    for (k, (g, r)) in grid.values.iter().zip(&raw).enumerate() {
        let r = if (r + 999.0).abs() < 1e-3 {
            f32::NAN
        } else {
            *r
        };
        assert!(
            g.to_bits() == r.to_bits() || (g.is_nan() && r.is_nan()),
            "[{k}] {g} vs {r}"
        );
    }
    // The real mosaic has both: no coverage over the oceans, no echo over
    // most of the covered land.
    assert!(
        no_coverage > 1_000_000 && no_echo > 1_000_000,
        "{no_coverage} {no_echo}"
    );
    // Section 3: first point 54.995N 230.005E, 0.01° steps, north to south.
    let (i, j) = grid.locate(-99.995, 35.005).unwrap();
    assert!(
        (i - 3000.0).abs() < 1e-6 && (j - 1999.0).abs() < 1e-6,
        "{i} {j}"
    );
    assert_eq!(
        grid.value(3000, 1999).to_bits(),
        grid.values[1999 * 7000 + 3000].to_bits()
    );
    let b = grid.bounding_box();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(close(b.west, -130.0) && close(b.east, -60.0), "{b:?}");
    assert!(close(b.south, 20.0) && close(b.north, 55.0), "{b:?}");
}

#[test]
fn gdas_grid_uses_0_to_360_longitudes() {
    let Some(dir) = data_dir() else { return };
    let bytes = read(&dir, CASES[0].0);
    let wgrib2 = reference(&dir, CASES[0].2);
    let grid = decode_message(&bytes, 0).unwrap();
    assert!(grid.wraps_globally() && grid.is_separable());
    // 0.25° global grid from (90N, 0E), rows north to south: (lon, lat) is
    // file index ((90 − lat)/0.25)·1440 + (lon mod 360)/0.25.
    for (lon, lat) in [
        (-75.5, 40.25),
        (284.5, 40.25),
        (0.0, 90.0),
        (359.75, -90.0),
        (139.75, 35.75),
    ] {
        let (i, j) = grid.locate(lon, lat).unwrap();
        let (i, j) = (i.round() as usize, j.round() as usize);
        let k =
            ((90.0 - lat) / 0.25) as usize * 1440 + (f64::rem_euclid(lon, 360.0) / 0.25) as usize;
        assert_eq!(j * 1440 + i, k, "({lon}, {lat})");
        assert!((grid.value(i, j) - wgrib2[k]).abs() <= tolerance(&bytes, 0).0);
    }
    // Just east of 359.75 wraps onto column 0's cell.
    assert!(grid.locate_lon(359.9).unwrap() > 1439.0);
    let (lon, lat) = grid.lonlat(1438.0, 1.0);
    assert_eq!((lon, lat), (359.5, 89.75));
}

#[test]
fn cmc_grid_scans_south_to_north() {
    let Some(dir) = data_dir() else { return };
    let bytes = read(&dir, CASES[4].0);
    let wgrib2 = reference(&dir, CASES[4].2);
    let grid = decode_message(&bytes, 0).unwrap();
    // 1500×751 from (90S, 180E) northward, 0.24° steps.
    assert_eq!((grid.ni, grid.nj), (1500, 751));
    let (i, j) = grid.locate(-179.76, -89.76).unwrap();
    assert!((i - 1.0).abs() < 1e-6 && (j - 1.0).abs() < 1e-6, "{i} {j}");
    assert_eq!(grid.value(1, 1), wgrib2[1501]);
    let (i, j) = grid.locate(0.0, 0.0).unwrap();
    assert!(
        (i - 750.0).abs() < 1e-6 && (j - 375.0).abs() < 1e-6,
        "{i} {j}"
    );
    assert_eq!(grid.value(750, 375), wgrib2[375 * 1500 + 750]);
}

/// NDFD scans rows south to north in alternating directions (scan mode
/// 0x50), on a Lambert grid. Compare corners with the grib crate's own
/// lat/lon computation and check the boustrophedon reordering.
#[test]
fn ndfd_lambert_grid_against_grib_crate() {
    let Some(dir) = data_dir() else { return };
    let bytes = read(&dir, CASES[2].0);
    let wgrib2 = reference(&dir, CASES[2].2);
    let grid = decode_message(&bytes, 0).unwrap();
    let (ni, nj) = (grid.ni, grid.nj);
    assert_eq!((ni, nj), (2145, 1377));
    assert!(!grid.is_separable() && !grid.winds_grid_relative);
    let grib2 = grib::from_bytes(&bytes).unwrap();
    let (_, sub) = grib2.iter().next().unwrap();
    let crate_latlons: Vec<(f64, f64)> = sub.latlons().unwrap().collect();
    // File index → normalised (i, j): odd rows run westward.
    let file_to_ij = |k: usize| {
        let (row, pos) = (k / ni, k % ni);
        (if row % 2 == 1 { ni - 1 - pos } else { pos }, row)
    };
    let last = ni * nj - 1;
    for k in [
        0,
        ni - 1,
        ni,
        2 * ni - 1,
        (nj - 1) * ni,
        last,
        1000 * ni + 77,
        555 * ni + 1500,
    ] {
        let (i, j) = file_to_ij(k);
        let (lon, lat) = grid.lonlat(i as f64, j as f64);
        let (clat, clon) = crate_latlons[k];
        let dlon = ((lon - clon + 180.0).rem_euclid(360.0) - 180.0).abs();
        assert!(
            dlon < 1e-6 && (lat - clat).abs() < 1e-6,
            "[{k}] ours ({lon}, {lat}) crate ({clon}, {clat})"
        );
        let (fi, fj) = grid.locate(clon, clat).unwrap();
        assert!((fi - i as f64).abs() < 1e-5 && (fj - j as f64).abs() < 1e-5);
        let (v, w) = (grid.value(i, j), wgrib2[k]);
        assert!(
            if w == WGRIB2_MISSING {
                v.is_nan()
            } else {
                (v - w).abs() < 0.06
            },
            "[{k}] {v} {w}"
        );
    }
    // The box holds every corner.
    let b = grid.bounding_box();
    for k in [0, ni - 1, (nj - 1) * ni, last] {
        let (lat, lon) = crate_latlons[k];
        let lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
        assert!(
            lon >= b.west && lon <= b.east && lat >= b.south && lat <= b.north,
            "{b:?} {lon} {lat}"
        );
    }
    assert!(
        b.west > -140.0 && b.east < -55.0 && b.south > 15.0 && b.north < 60.0,
        "{b:?}"
    );
}

#[test]
fn inventory_lists_every_field() {
    let Some(dir) = data_dir() else { return };
    let bytes = read(&dir, "ds.critfireo.bin.xz");
    let list = list_messages(&bytes).unwrap();
    let offsets: Vec<u64> = message_offsets(&bytes).iter().map(|&o| o as u64).collect();
    assert_eq!(list.iter().map(|m| m.offset).collect::<Vec<_>>(), offsets);
    assert_eq!(list[1].to_string().split(':').next(), Some("2"));
    for m in &list {
        eprintln!("{m}");
    }
    let gdas = list_messages(&read(&dir, CASES[0].0)).unwrap();
    assert_eq!(gdas.len(), 1);
    let line = gdas[0].to_string();
    assert!(line.starts_with("1:0:d=2023011112:"), "{line}");
    assert!(
        line.ends_with(":VRATE:planetary boundary layer:anl:"),
        "{line}"
    );
    let rh = list_messages(&read(&dir, CASES[1].0)).unwrap();
    assert!(rh[0].to_string().ends_with(":RH:0.07 mb:anl:"), "{}", rh[0]);
    let cmc = list_messages(&read(&dir, CASES[4].0)).unwrap();
    assert!(cmc[0].to_string().ends_with(":TMP:1 mb:anl:"), "{}", cmc[0]);
}

#[test]
fn errors_name_the_message_and_never_panic() {
    let Some(dir) = data_dir() else { return };
    let small = read(&dir, CASES[1].0); // 210 bytes, template 5.3
    assert!(matches!(
        decode_raw(&small, 1),
        Err(DecodeError::NoSuchField { index: 1, count: 1 })
    ));
    // An unsupported data template: relabel 5.3 as 5.4 (IEEE).
    let mut relabelled = small.clone();
    let s5 = section(&small, 0, 5).as_ptr() as usize - small.as_ptr() as usize;
    relabelled[s5 + 10] = 4;
    let err = decode_raw(&relabelled, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "message 1: data representation template 5.4 is not supported"
    );
    // An unsupported grid template: relabel 3.0 as 3.90 (space view).
    let mut relabelled = small.clone();
    let s3 = section(&small, 0, 3).as_ptr() as usize - small.as_ptr() as usize;
    relabelled[s3 + 13] = 90;
    let err = decode_message(&relabelled, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "message 1: grid definition template 3.90 is not supported"
    );
    // Every truncation, and every byte of the message overwritten, must be
    // an error or a value, never a panic.
    for len in 0..small.len() {
        assert!(decode_message(&small[..len], 0).is_err(), "prefix {len}");
    }
    for k in 0..small.len() {
        for b in [0x00, 0xff, small[k] ^ 0x5a] {
            let mut bad = small.clone();
            bad[k] = b;
            let _ = decode_message(&bad, 0);
            let _ = list_messages(&bad);
        }
    }
    let ndfd = read(&dir, CASES[2].0);
    for len in (0..ndfd.len()).step_by(ndfd.len() / 40) {
        let _ = decode_raw(&ndfd[..len], 0);
    }
    assert!(decode_message(b"GRIB garbage that is not a message at all....", 0).is_err());
    assert!(decode_message(&[0u8; 1000], 0).is_err());
}

/// Projects `points` (lon, lat) with PROJ's `cs2cs` from geographic
/// coordinates on `earth` (a PROJ ellipsoid/sphere clause) to `proj`;
/// `None` when cs2cs is not installed.
fn cs2cs(earth: &str, proj: &str, points: &[(f64, f64)]) -> Option<Vec<(f64, f64)>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut args: Vec<String> = vec!["-f".into(), "%.6f".into(), "+proj=longlat".into()];
    args.extend(earth.split_whitespace().map(String::from));
    args.push("+to".into());
    args.extend(proj.split_whitespace().map(String::from));
    args.extend(earth.split_whitespace().map(String::from));
    args.push("+units=m".into());
    let mut child = match Command::new("cs2cs")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            require::missing(&format!(
                "cs2cs for the PROJ comparison ({e}; Debian proj-bin)"
            ));
            return None;
        }
    };
    let input: String = points
        .iter()
        .map(|(lon, lat)| format!("{lon:.12} {lat:.12}\n"))
        .collect();
    child.stdin.take()?.write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "cs2cs {args:?} failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .map(|l| {
                let v: Vec<f64> = l
                    .split_whitespace()
                    .take(2)
                    .map(|t| t.parse().unwrap())
                    .collect();
                (v[0], v[1])
            })
            .collect(),
    )
}

/// Our forward projection against PROJ at every point: < 1 mm apart, and
/// our inverse brings PROJ's plane coordinates back to the input.
fn assert_matches_proj(
    label: &str,
    p: &Projection,
    earth: &str,
    proj: &str,
    points: &[(f64, f64)],
) {
    assert!(points.len() >= 20);
    let Some(theirs) = cs2cs(earth, proj, points) else {
        return;
    };
    assert_eq!(theirs.len(), points.len(), "{label}");
    let mut worst = 0.0f64;
    for (&(lon, lat), &(x, y)) in points.iter().zip(&theirs) {
        let (ox, oy) = p.forward(lon, lat).unwrap();
        let err = (ox - x).hypot(oy - y);
        worst = worst.max(err);
        assert!(
            err < 1e-3,
            "{label} ({lon}, {lat}): ours ({ox}, {oy}) PROJ ({x}, {y})"
        );
        let (ilon, ilat) = p.inverse(x, y);
        let dlon = ((ilon - lon + 180.0).rem_euclid(360.0) - 180.0).abs();
        assert!(
            dlon < 1e-8 && (ilat - lat).abs() < 1e-8,
            "{label} inverse ({lon}, {lat})"
        );
    }
    eprintln!(
        "{label}: {} points, worst {worst:.2e} m from PROJ",
        points.len()
    );
}

#[test]
fn projections_match_proj() {
    // The NDFD grid's Lambert definition, read from its section 3 with the
    // grib crate, against the projection our decoder built.
    if let Some(dir) = data_dir() {
        let bytes = read(&dir, CASES[2].0);
        let grid = decode_message(&bytes, 0).unwrap();
        let GridGeometry::Projected { projection, .. } = &grid.geometry else {
            panic!("NDFD is projected");
        };
        let grib2 = grib::from_bytes(&bytes).unwrap();
        let (_, sub) = grib2.iter().next().unwrap();
        let grib::def::grib2::GridDefinitionTemplate::_3_30(t) =
            sub.section3().unwrap().payload.template
        else {
            panic!("NDFD is template 3.30");
        };
        let r = &t.earth_shape.spherical_earth_radius;
        assert_eq!((t.earth_shape.shape, r.scale_factor), (1, 0));
        let earth = format!("+R={}", r.scaled_value);
        let d = |v: i32| f64::from(v) * 1e-6;
        let proj = format!(
            "+proj=lcc +lat_1={} +lat_2={} +lat_0={} +lon_0={}",
            d(t.latin1),
            d(t.latin2),
            d(t.lad),
            f64::from(t.lov) * 1e-6
        );
        let points: Vec<(f64, f64)> = (0..5)
            .flat_map(|a| (0..5).map(move |b| (a, b)))
            .map(|(a, b)| grid.lonlat(a as f64 * 536.0, b as f64 * 344.0))
            .collect();
        assert_matches_proj("NDFD Lambert", projection, &earth, &proj, &points);
    }

    let wgs84 = Earth::from_inverse_flattening(6_378_137.0, 298.257_223_563);
    let lattice = |lats: [f64; 4]| -> Vec<(f64, f64)> {
        (0..6)
            .flat_map(|k| lats.map(|lat| (-180.0 + 60.0 * k as f64 + 7.5, lat)))
            .collect()
    };
    let north =
        Projection::PolarStereographic(PolarStereo::new(wgs84, false, 60.0, -105.0).unwrap());
    assert_matches_proj(
        "north polar stereographic, WGS84",
        &north,
        "+ellps=WGS84",
        "+proj=stere +lat_0=90 +lat_ts=60 +lon_0=-105",
        &lattice([20.0, 45.0, 70.0, 89.5]),
    );
    let south = Projection::PolarStereographic(PolarStereo::new(wgs84, true, -71.0, 0.0).unwrap());
    assert_matches_proj(
        "south polar stereographic, WGS84",
        &south,
        "+ellps=WGS84",
        "+proj=stere +lat_0=-90 +lat_ts=-71 +lon_0=0",
        &lattice([-20.0, -45.0, -70.0, -89.5]),
    );
    let ncep = Earth::sphere(6_371_229.0);
    let polar_sphere =
        Projection::PolarStereographic(PolarStereo::new(ncep, false, 60.0, 255.0).unwrap());
    assert_matches_proj(
        "north polar stereographic, NCEP sphere",
        &polar_sphere,
        "+R=6371229",
        "+proj=stere +lat_0=90 +lat_ts=60 +lon_0=255",
        &lattice([10.0, 40.0, 65.0, 88.0]),
    );
    let lcc2 = Projection::LambertConformal(Lambert::new(wgs84, 33.0, 45.0, 40.0, -97.0).unwrap());
    assert_matches_proj(
        "Lambert 2SP, WGS84",
        &lcc2,
        "+ellps=WGS84",
        "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=40 +lon_0=-97",
        &lattice([15.0, 35.0, 50.0, 70.0]),
    );
}
