//! Real GOES-R ABI files (`../shared/data/goes/`, see its README) through
//! the NetCDF reader: every reference point's pixel, stored value and
//! brightness temperature or reflectance factor, and the geostationary
//! projection against PROJ's `+proj=geos` (`cs2cs`).

#[path = "../../tests/support/goes_reference.rs"]
mod goes_reference;
#[path = "../../tests/support/require.rs"]
mod require;

use decode::netcdf::{ProductKind, Quantity, Sector, decode_band, describe_netcdf, index_netcdf};
use decode::{GridGeometry, IndexedField, index_file};
use goes_reference::{close, goes_dir, goes_files, reference_points};
use protocol::grid::projection::Projection;

fn dir() -> Option<std::path::PathBuf> {
    let d = goes_dir(env!("CARGO_MANIFEST_DIR"));
    if d.is_none() {
        require::missing("the shared GOES-R samples (../shared/data/goes)");
    }
    d
}

#[test]
fn every_reference_point_matches_through_the_reader() {
    let Some(dir) = dir() else { return };
    let files = goes_files(&dir);
    assert_eq!(files.len(), 4, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).unwrap();
        let (grid, stored) = decode_band(&bytes, 0, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        let points = reference_points(&file);
        assert_eq!(points.len(), 12, "{name}");
        for p in points {
            let at = grid.locate(p.lon, p.lat);
            let Some((row, col)) = p.row_col else {
                // Outside the sector or off the disk: no value.
                let v = at.map(|(i, j)| grid.value(i.round() as usize, j.round() as usize));
                assert!(v.is_none_or(f32::is_nan), "{name} {p:?}: {v:?}");
                continue;
            };
            let (i, j) = at.unwrap_or_else(|| panic!("{name}: {p:?} not located"));
            assert_eq!(
                (j.round() as usize, i.round() as usize),
                (row, col),
                "{name} {p:?}: fractional ({i}, {j})"
            );
            let k = row * grid.ni + col;
            assert!(
                close(f64::from(stored[k]), p.value, 1e-5),
                "{name} {p:?}: stored {}",
                stored[k]
            );
            assert!(
                close(f64::from(grid.values[k]), p.shown, 1e-5),
                "{name} {p:?}: shown {}",
                grid.values[k]
            );
        }
    }
}

#[test]
fn products_are_recognised_by_content_and_described() {
    let Some(dir) = dir() else { return };
    for file in goes_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).unwrap();
        let fields = index_file(&bytes).unwrap();
        assert_eq!(fields.len(), 1, "{name}");
        let Ok(IndexedField::Satellite(s)) = &fields[0] else {
            panic!("{name}: {:?}", fields[0]);
        };
        // What the file name says, read from the contents instead.
        let kind = if name.contains("L1b-Rad") {
            ProductKind::L1bRadiance
        } else {
            ProductKind::L2Cmip
        };
        assert_eq!(s.kind, kind, "{name}");
        assert!(
            name.contains(&format!("_{}_", s.platform)),
            "{name}: {}",
            s.platform
        );
        assert!(
            name.contains(&format!("C{:02}_", s.band)),
            "{name}: {}",
            s.band
        );
        let stamp = s.start.format("s%Y%j%H%M%S").to_string();
        assert!(name.contains(&stamp), "{name}: {stamp}");
        let sector = if name.contains("RadC") {
            Sector::Conus
        } else {
            Sector::Meso(1)
        };
        assert_eq!(s.sector, sector, "{name}");
        let quantity = if s.band <= 6 {
            Quantity::ReflectanceFactor
        } else {
            Quantity::BrightnessTemperature
        };
        assert_eq!(s.quantity, quantity);
        assert_eq!(index_netcdf(&bytes).unwrap()[0], *s);
        let (product, variables) = describe_netcdf(&bytes).unwrap();
        assert!(
            variables
                .iter()
                .any(|v| v.starts_with("goes_imager_projection "))
        );
        assert_eq!((product.ni as u32, product.nj as u32), (s.ni, s.nj));
    }
    // Not NetCDF, and NetCDF-like garbage: errors, not panics.
    assert!(index_file(b"\x89HDF\r\n\x1a\nnot really hdf5 at all").is_err());
    assert!(decode::decode_field(b"CDF\x01\0\0\0\0garbage", 0).is_err());
}

/// Projects with PROJ's cs2cs, forward (`inverse == false`: lon lat → x y)
/// or inverse; `None` when cs2cs is not installed.
fn cs2cs(proj: &str, points: &[(f64, f64)], inverse: bool) -> Option<Vec<(f64, f64)>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut args: Vec<String> = vec!["-f".into(), "%.9f".into()];
    if inverse {
        args.push("-I".into());
    }
    args.push("+proj=longlat".into());
    args.extend(["+a=6378137", "+b=6356752.31414", "+to"].map(String::from));
    args.extend(proj.split_whitespace().map(String::from));
    let mut child = match Command::new("cs2cs")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            require::missing(&format!("cs2cs ({e}; Debian proj-bin)"));
            return None;
        }
    };
    let input: String = points
        .iter()
        .map(|(a, b)| format!("{a:.12} {b:.12}\n"))
        .collect();
    child.stdin.take()?.write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "cs2cs {args:?}");
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v: Vec<f64> = l
                    .split_whitespace()
                    .take(2)
                    .map(|t| t.parse().unwrap_or(f64::NAN))
                    .collect();
                (v[0], v[1])
            })
            .collect(),
    )
}

#[test]
fn geostationary_grid_agrees_with_proj_geos_within_a_tenth_of_a_pixel() {
    let Some(dir) = dir() else { return };
    for file in goes_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).unwrap();
        let (product, _) = describe_netcdf(&bytes).unwrap();
        let GridGeometry::Projected {
            projection: Projection::Geostationary(g),
            x0,
            y0,
            dx,
            dy,
        } = product.geometry.clone()
        else {
            panic!("{name}: {:?}", product.geometry)
        };
        // The file's own projection parameters, read independently here.
        let lon0 = if name.contains("_G17_") {
            -137.0
        } else if name.contains("s2017") {
            -89.5
        } else {
            -75.0
        };
        let proj = format!(
            "+proj=geos +h=35786023 +a=6378137 +b=6356752.31414 +lon_0={lon0} +sweep=x +units=m"
        );
        assert_eq!(g.height(), 35786023.0);
        // Pixel centres over the grid (16 × 16), with their lon/lat.
        let grid = decode::Grid {
            ni: product.ni,
            nj: product.nj,
            values: Vec::new().into(),
            geometry: product.geometry.clone(),
            winds_grid_relative: false,
        };
        let mut pix = Vec::new();
        let mut lonlat = Vec::new();
        for a in 0..16 {
            for b in 0..16 {
                let (i, j) = (
                    (a as f64 + 0.5) / 16.0 * product.ni as f64,
                    (b as f64 + 0.5) / 16.0 * product.nj as f64,
                );
                let (lon, lat) = grid.lonlat(i, j);
                if lon.is_finite() {
                    pix.push((i, j));
                    lonlat.push((lon, lat));
                } else {
                    // Off the disk for us: PROJ must not find it either.
                    let xy = (x0 + i * dx, y0 + j * dy);
                    let back = cs2cs(&proj, &[xy], true).map(|v| v[0]);
                    assert!(
                        back.is_none_or(|(l, _)| !l.is_finite()),
                        "{name} ({i}, {j}) {back:?}"
                    );
                }
            }
        }
        assert!(pix.len() > 100, "{name}: {}", pix.len());
        let Some(theirs) = cs2cs(&proj, &lonlat, false) else {
            return;
        };
        let mut worst = 0.0f64;
        for ((i, j), (x, y)) in pix.iter().zip(&theirs) {
            let (pi, pj) = ((x - x0) / dx, (y - y0) / dy);
            let err = (pi - i).hypot(pj - j);
            worst = worst.max(err);
            assert!(err < 0.1, "{name}: pixel ({i}, {j}) PROJ ({pi}, {pj})");
        }
        // PROJ's inverse of our plane coordinates gives our lon/lat.
        let xy: Vec<(f64, f64)> = pix
            .iter()
            .map(|(i, j)| (x0 + i * dx, y0 + j * dy))
            .collect();
        let back = cs2cs(&proj, &xy, true).unwrap();
        for ((lon, lat), (bl, bb)) in lonlat.iter().zip(&back) {
            assert!(
                (lon - bl).abs() < 1e-7 && (lat - bb).abs() < 1e-7,
                "{name}: {lon} {lat} vs {bl} {bb}"
            );
        }
        eprintln!("{name}: worst {worst:.2e} px over {} points", pix.len());
    }
}

/// A file declaring a grid past the decode budget (its chunks never
/// written, so it is a few KB) is refused before its values are read.
#[test]
fn a_grid_over_the_budget_is_refused_before_reading() {
    let dir = tempfile_dir();
    let path = dir.join("huge.nc");
    {
        let mut f = netcdf::create(&path).unwrap();
        f.add_attribute("platform_ID", "G16").unwrap();
        f.add_attribute("time_coverage_start", "2020-01-01T00:00:00.0Z")
            .unwrap();
        let n = 9000;
        f.add_dimension("y", n).unwrap();
        f.add_dimension("x", n).unwrap();
        f.add_dimension("band", 1).unwrap();
        let mut v = f.add_variable::<i16>("CMI", &["y", "x"]).unwrap();
        v.set_chunking(&[250, 250]).unwrap();
        v.set_compression(1, false).unwrap();
        v.put_attribute("grid_mapping", "goes_imager_projection")
            .unwrap();
        for (axis, step) in [("x", 1e-5f32), ("y", -1e-5f32)] {
            let mut a = f.add_variable::<i16>(axis, &[axis]).unwrap();
            a.put_attribute("scale_factor", step).unwrap();
            a.put_attribute("add_offset", 0.0f32).unwrap();
            let raw: Vec<i16> = (0..n as i32).map(|k| (k - 4500) as i16).collect();
            a.put_values(&raw, ..).unwrap();
        }
        let mut b = f.add_variable::<i8>("band_id", &["band"]).unwrap();
        b.put_values(&[13i8], ..).unwrap();
        let mut p = f
            .add_variable::<i32>("goes_imager_projection", &[])
            .unwrap();
        p.put_attribute("grid_mapping_name", "geostationary")
            .unwrap();
        p.put_attribute("perspective_point_height", 35786023.0)
            .unwrap();
        p.put_attribute("semi_major_axis", 6378137.0).unwrap();
        p.put_attribute("semi_minor_axis", 6356752.31414).unwrap();
        p.put_attribute("longitude_of_projection_origin", -75.0)
            .unwrap();
        p.put_attribute("sweep_angle_axis", "x").unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let err = index_netcdf(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("9000 × 9000") && err.contains("budget"),
        "{err}"
    );
    let err = decode::decode_field(&bytes, 0).unwrap_err().to_string();
    assert!(err.contains("budget"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wxfarm-goes-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
