//! Rendered tiles checked by content: pixel values and colours at known
//! places, decoded back from the PNG.

mod common;

use common::{decode_rgba, frame, gfs_like, job};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{Grid, GridGeometry};
use protocol::{StyleSpec, TileMatrixSetId};
use render::{Gradient, render_tile, sample};

#[test]
fn bilinear_sampling_reproduces_a_linear_field() {
    // Linear in lon and lat away from the seam: bilinear interpolation is exact.
    let grid = gfs_like(|lon, lat| (lon * 0.1 + lat * 0.5) as f32);
    for (tms, z, x, y) in [
        (TileMatrixSetId::WebMercatorQuad, 3, 4, 2),
        (TileMatrixSetId::WorldCRS84Quad, 2, 5, 1),
        (TileMatrixSetId::WebMercatorQuad, 9, 300, 200),
    ] {
        let f = frame(tms, z, x, y);
        let values = sample(&grid, &f);
        let lons = tms.pixel_lons(z, x, 256);
        let lats = tms.pixel_lats(z, y, 256);
        for (py, px) in [(0, 0), (17, 200), (128, 128), (255, 255)] {
            let lon = lons[px].rem_euclid(360.0);
            let expect = lon * 0.1 + lats[py] * 0.5;
            let got = values[py * 256 + px];
            assert!(
                (f64::from(got) - expect).abs() < 1e-3,
                "{tms:?} z{z} ({px},{py}): {got} vs {expect}"
            );
        }
    }
}

#[test]
fn antimeridian_is_seamless_on_a_0_to_360_grid() {
    let grid = gfs_like(|lon, _| lon.to_radians().cos() as f32);
    let m = TileMatrixSetId::WebMercatorQuad;
    // z1: x=0 spans −180..0, x=1 spans 0..180. The seam at ±180 is between
    // x=0's first column and x=1's last column.
    let west = sample(&grid, &frame(m, 1, 0, 0));
    let east = sample(&grid, &frame(m, 1, 1, 0));
    for py in [10usize, 128, 250] {
        let (w, e) = (west[py * 256], east[py * 256 + 255]);
        assert!(w.is_finite() && e.is_finite());
        // cos(±179.65°) ≈ −0.99998: both sides agree across the seam.
        assert!((w - e).abs() < 1e-3 && w < -0.999, "{w} vs {e}");
    }
    // The gap column between 359.75 and 360 interpolates instead of vanishing.
    let lons = m.pixel_lons(6, 31, 256);
    let v = sample(&grid, &frame(m, 6, 31, 31));
    let px = lons
        .iter()
        .position(|&l| l > -0.2 && l < -0.05)
        .expect("a pixel in the gap");
    assert!(v[128 * 256 + px].is_finite());
}

fn temperature_style() -> StyleSpec {
    StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Temperature,
        (-40.0, 40.0),
        Units::Kelvin,
        Units::Celsius,
    )
}

#[test]
fn tile_colours_are_the_ramp_colours_of_the_values_underneath() {
    // Temperature falls with latitude: 303 K at the equator to 243 K at the poles.
    let grid = gfs_like(|_, lat| (303.0 - lat.abs() * 60.0 / 90.0) as f32);
    let style = temperature_style();
    let j = job(TileMatrixSetId::WorldCRS84Quad, 1, 1, 0, style.clone());
    let png = render_tile(&[&grid], &j).expect("render");
    let (w, rgba) = decode_rgba(&png);
    assert_eq!(w, 256);
    let gradient = Gradient::new(&style);
    let lats = TileMatrixSetId::WorldCRS84Quad.pixel_lats(1, 0, 256);
    for py in [0usize, 60, 120, 200, 255] {
        let k = (py * 256 + 100) * 4;
        let expect = gradient.color((303.0 - lats[py].abs() * 60.0 / 90.0) as f32);
        assert_eq!(&rgba[k..k + 4], &expect, "row {py}");
    }
    // Opposite ends of the ramp really differ.
    assert_ne!(&rgba[0..4], &rgba[255 * 256 * 4..255 * 256 * 4 + 4]);
}

#[test]
fn missing_data_is_transparent_and_outside_regional_grids_too() {
    // A regional 0.1° grid over 20..30 N, 260..280 E with a NaN hole.
    let geometry = GridGeometry::LatLon {
        lon0: 260.0,
        lat0: 30.0,
        dlon: 0.1,
        dlat: -0.1,
    };
    let (ni, nj) = (201, 101);
    let mut values = vec![280.0f32; ni * nj];
    for j in 40..60 {
        for i in 90..110 {
            values[j * ni + i] = f32::NAN;
        }
    }
    let grid = Grid {
        ni,
        nj,
        values: values.into(),
        geometry,
        winds_grid_relative: false,
    };
    let tms = TileMatrixSetId::WorldCRS84Quad;
    // z3 CRS84 tiles are 22.5° wide: x=3 covers −112.5..−90, y=2 covers 45..22.5 N.
    let png = render_tile(&[&grid], &job(tms, 3, 3, 2, temperature_style())).expect("render");
    let (_, rgba) = decode_rgba(&png);
    let lons = tms.pixel_lons(3, 3, 256);
    let lats = tms.pixel_lats(3, 2, 256);
    let px_of = |lon: f64| lons.iter().position(|&l| l >= lon).expect("lon in tile");
    let py_of = |lat: f64| lats.iter().position(|&l| l <= lat).expect("lat in tile");
    let alpha = |px: usize, py: usize| rgba[(py * 256 + px) * 4 + 3];
    assert_eq!(alpha(px_of(-95.0), py_of(27.0)), 255, "inside data");
    assert_eq!(alpha(px_of(-91.0), py_of(25.0)), 0, "NaN hole");
    assert_eq!(alpha(px_of(-105.0), py_of(25.0)), 0, "west of the grid");
    assert_eq!(alpha(px_of(-95.0), py_of(40.0)), 0, "north of the grid");
}

#[test]
fn a_cancelled_render_stops_with_cancelled_for_every_style() {
    let grid = gfs_like(|_, lat| (303.0 - lat.abs() * 60.0 / 90.0) as f32);
    let cancel = protocol::Cancel::new();
    cancel.cancel();
    for kind in [
        StyleKind::Gradient,
        StyleKind::FilledContours,
        StyleKind::Isolines,
        StyleKind::WindBarbs,
    ] {
        let mut style = temperature_style();
        style.kind = kind;
        let j = job(TileMatrixSetId::WebMercatorQuad, 2, 1, 1, style);
        let grids = [&grid, &grid];
        let r = render::render_tile_until(&grids, &j, &cancel);
        assert!(
            matches!(r, Err(protocol::RenderError::Cancelled)),
            "{kind:?}: {r:?}"
        );
        // Uncancelled, the same job draws.
        assert!(render_tile(&grids, &j).is_ok(), "{kind:?}");
    }
}
