//! Wind symbol tiles from cached GFS 0.25° u/v grids: lattice sampling,
//! sprite compositing and RGBA encoding. Target: barbs under 1 ms per
//! 256 px tile on one core.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{RenderJob, StyleSpec, TileMatrixSetId};
use render::render_tile;

fn job(kind: StyleKind, color_by_speed: bool) -> RenderJob {
    let mut style = StyleSpec::new(
        kind,
        ColorMapName::Wind,
        (0.0, 80.0),
        Units::MetresPerSecond,
        Units::Knots,
    );
    style.color_by_speed = color_by_speed;
    let mut job = common::sized_job(TileMatrixSetId::WebMercatorQuad, (4, 3, 5), 256, style);
    // The u and v components.
    job.sources.push(job.sources[0].clone());
    job
}

fn wind(c: &mut Criterion) {
    let u = common::gfs_like(|lon, lat| {
        (15.0 * (lat.to_radians() * 3.0).cos() * (lon.to_radians() * 2.0).sin()) as f32
    });
    let v = common::gfs_like(|lon, lat| {
        (12.0 * (lon.to_radians() * 3.0).cos() + 3.0 * lat.to_radians().sin()) as f32
    });
    for (name, kind, by_speed) in [
        ("wind_barbs 256px mercator z4", StyleKind::WindBarbs, false),
        (
            "wind_barbs by speed 256px mercator z4",
            StyleKind::WindBarbs,
            true,
        ),
        (
            "wind_arrows 256px mercator z4",
            StyleKind::WindArrows,
            false,
        ),
    ] {
        let j = job(kind, by_speed);
        // Sprites are drawn on first use; measure the steady state.
        render_tile(&[&u, &v], &j).expect("render");
        c.bench_function(name, |b| {
            b.iter(|| render_tile(&[&u, &v], black_box(&j)).expect("render"))
        });
    }
}

criterion_group!(benches, wind);
criterion_main!(benches);
