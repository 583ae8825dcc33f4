//! The lattice sampler against the exact transform on real projected grids
//! (NDFD CONUS 2.5 km Lambert; GOES-16 CONUS 2 km geostationary):
//! interpolation error stays within 0.125 output pixels. (The exact
//! transforms themselves are checked against PROJ in `decode_real` and
//! `goes_real`.)

#[path = "../../tests/support/require.rs"]
mod require;

use std::io::Read;
use std::path::Path;

use protocol::TileMatrixSetId;
use render::TileFrame;
use render::{MAX_LATTICE_ERROR_PX, pixel_coords};

#[test]
fn lattice_sampling_is_within_an_eighth_of_a_pixel_of_exact() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/grib/ds.critfireo.bin.xz");
    if !path.exists() {
        require::missing(&path.display().to_string());
        return;
    }
    let mut bytes = Vec::new();
    xz2::read::XzDecoder::new(std::fs::File::open(&path).expect("open"))
        .read_to_end(&mut bytes)
        .expect("unxz");
    let grid = decode::decode_message(&bytes, 0).expect("decode");
    assert!(!grid.is_separable(), "Lambert grids take the lattice path");
    check_lattice(&grid);
}

#[test]
fn geostationary_lattice_sampling_is_within_an_eighth_of_a_pixel_of_exact() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/data/goes/OR_ABI-L1b-RadC-M6C16_G16_s20200040316182_e20200040318566_c20200040319074.nc",
    );
    let Ok(bytes) = std::fs::read(&path) else {
        require::missing(&path.display().to_string());
        return;
    };
    let grid = decode::decode_field(&bytes, 0).expect("decode");
    assert!(grid.is_imagery(), "a geostationary scan");
    check_lattice(&grid);
}

/// Every third pixel of tiles from the whole of CONUS down to single
/// counties, against the exact transform.
fn check_lattice(grid: &decode::Grid) {
    let m = TileMatrixSetId::WebMercatorQuad;
    let mut checked = 0;
    // From the whole of CONUS in one tile down to single counties.
    for (z, x, y) in [
        (3, 1, 3),
        (4, 3, 6),
        (5, 8, 12),
        (7, 35, 50),
        (9, 140, 200),
        (12, 1130, 1630),
    ] {
        let frame = TileFrame {
            tms: m,
            z,
            x,
            y,
            size: 256,
        };
        let coords = pixel_coords(grid, &frame);
        let (lons, lats) = (m.pixel_lons(z, x, 256), m.pixel_lats(z, y, 256));
        for py in (0..256).step_by(3) {
            for px in (0..255).step_by(3) {
                let k = py * 256 + px;
                let (Some(exact), Some(next)) = (
                    grid.locate(lons[px], lats[py]),
                    grid.locate(lons[px + 1], lats[py]),
                ) else {
                    continue;
                };
                if coords.i[k].is_nan() {
                    // Only allowed on the grid's very edge.
                    assert!(
                        exact.0 < 0.0
                            || exact.1 < 0.0
                            || exact.0 > grid.ni as f64 - 1.5
                            || exact.1 > grid.nj as f64 - 1.5,
                        "z{z} ({px},{py}) dropped inside the grid"
                    );
                    continue;
                }
                let cells_per_px = (next.0 - exact.0).hypot(next.1 - exact.1);
                let err_cells =
                    (f64::from(coords.i[k]) - exact.0).hypot(f64::from(coords.j[k]) - exact.1);
                // f32 storage of grid indices adds ~1e-4 cells at 2145 columns.
                let err_px = (err_cells - 2e-4).max(0.0) / cells_per_px;
                assert!(
                    err_px <= MAX_LATTICE_ERROR_PX,
                    "z{z} ({px},{py}): {err_px} px"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} pixels fell on the grid");
}
