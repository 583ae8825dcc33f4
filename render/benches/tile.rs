//! One 256 px tile from a cached grid: sample + style + encode, the work of
//! every cache miss once the grid is decoded. Gradient, then the contour
//! styles on a pressure-like field.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use protocol::Grid;
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{RenderJob, StyleSpec, TileMatrixSetId};
use render::{TileFrame, render_tile, sample};

fn gfs_temperature() -> Grid {
    common::gfs_like(|lon, lat| {
        (300.0 - lat.abs() * 0.6
            + 5.0 * (lon.to_radians() * 3.0).sin() * (lat.to_radians() * 2.0).cos()) as f32
    })
}

/// A GFS-like 0.25° mean-sea-level pressure field (Pa): large highs and
/// lows plus a shorter wave, so a z4 tile crosses a dozen isobars.
fn gfs_pressure() -> Grid {
    common::gfs_like(|lon, lat| {
        let (lon, lat) = (lon.to_radians(), lat.to_radians());
        (101_000.0
            + 1_500.0 * (3.0 * lon).sin() * (2.0 * lat).cos()
            + 600.0 * (8.0 * lon + 3.0 * lat).sin()) as f32
    })
}

fn job(tms: TileMatrixSetId, z: u8, x: u32, y: u32) -> RenderJob {
    let style = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Temperature,
        (-40.0, 45.0),
        Units::Kelvin,
        Units::Celsius,
    );
    common::sized_job(tms, (z, x, y), 256, style)
}

/// A z4 Web Mercator pressure tile in hPa (isobars every 4 hPa).
fn pressure_job(kind: StyleKind) -> RenderJob {
    let style = StyleSpec::new(
        kind,
        ColorMapName::Pressure,
        (960.0, 1050.0),
        Units::Pascal,
        Units::Hectopascal,
    );
    common::sized_job(TileMatrixSetId::WebMercatorQuad, (4, 3, 5), 256, style)
}

fn tile(c: &mut Criterion) {
    let grid = gfs_temperature();
    let mercator = job(TileMatrixSetId::WebMercatorQuad, 4, 3, 5);
    c.bench_function(
        "gradient tile 256px mercator z4 (sample+style+encode)",
        |b| b.iter(|| render_tile(&[&grid], black_box(&mercator)).expect("render")),
    );
    let crs84 = job(TileMatrixSetId::WorldCRS84Quad, 3, 9, 2);
    c.bench_function("gradient tile 256px crs84 z3 (sample+style+encode)", |b| {
        b.iter(|| render_tile(&[&grid], black_box(&crs84)).expect("render"))
    });
    let frame = TileFrame {
        tms: TileMatrixSetId::WebMercatorQuad,
        z: 4,
        x: 3,
        y: 5,
        size: 256,
    };
    c.bench_function("sample only 256px mercator z4", |b| {
        b.iter(|| sample(&grid, black_box(&frame)))
    });
    let pressure = gfs_pressure();
    let isolines = pressure_job(StyleKind::Isolines);
    c.bench_function(
        "isolines 256px mercator z4 (MSLP every 4 hPa, labels)",
        |b| b.iter(|| render_tile(&[&pressure], black_box(&isolines)).expect("render")),
    );
    let filled = pressure_job(StyleKind::FilledContours);
    c.bench_function(
        "filled_contours 256px mercator z4 (MSLP every 4 hPa)",
        |b| b.iter(|| render_tile(&[&pressure], black_box(&filled)).expect("render")),
    );
}

criterion_group!(benches, tile);
criterion_main!(benches);
