//! A 1024×1024 WMS map of a GFS-like 0.25° field in EPSG:3413 (NSIDC polar
//! stereographic north): the PROJ transform grid alone against the whole
//! render (transform grid + sample + style + encode); a UTM 33N map of
//! Central Europe, whose cells mostly take the plain lon/lat path; and a
//! map in EPSG:3857's closed form for scale.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{MapArea, MapCrs, RenderJob, StyleSpec, TileMatrixSetId};
use render::crs::Mesh;
use render::render_tile;

fn map_job(crs: MapCrs, bbox: [f64; 4]) -> RenderJob {
    let style = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::Temperature,
        (-40.0, 45.0),
        Units::Kelvin,
        Units::Celsius,
    );
    let mut job = common::sized_job(TileMatrixSetId::WebMercatorQuad, (0, 0, 0), 256, style);
    job.area = Some(MapArea {
        crs,
        bbox,
        width: 1024,
        height: 1024,
    });
    job
}

fn crs(c: &mut Criterion) {
    let grid = common::gfs_like(|lon, lat| {
        (300.0 - lat.abs() * 0.6
            + 5.0 * (lon.to_radians() * 3.0).sin() * (lat.to_radians() * 2.0).cos()) as f32
    });
    let polar = map_job(MapCrs::Epsg(3413), [-5.0e6, -5.0e6, 5.0e6, 5.0e6]);
    let area = polar.area.clone().expect("area");
    // The thread's transformer exists before timing (created once per thread).
    Mesh::build(&area, 0).expect("mesh");
    c.bench_function("EPSG:3413 1024px: PROJ transform grid (65x65 nodes)", |b| {
        b.iter(|| Mesh::build(black_box(&area), 0).expect("mesh"))
    });
    c.bench_function("EPSG:3413 1024px: whole gradient render", |b| {
        b.iter(|| render_tile(&[&grid], black_box(&polar)).expect("render"))
    });
    let utm = map_job(MapCrs::Epsg(32633), [-2.0e5, 4.2e6, 1.3e6, 5.7e6]);
    c.bench_function("EPSG:32633 1024px: whole gradient render", |b| {
        b.iter(|| render_tile(&[&grid], black_box(&utm)).expect("render"))
    });
    let h = 20_037_508.342_789_244 / 4.0;
    let mercator = map_job(MapCrs::WebMercator, [-h, 0.0, h, 2.0 * h]);
    c.bench_function("EPSG:3857 1024px: whole gradient render", |b| {
        b.iter(|| render_tile(&[&grid], black_box(&mercator)).expect("render"))
    });
}

criterion_group!(benches, crs);
criterion_main!(benches);
