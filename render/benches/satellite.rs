//! One 256 px satellite tile from a cached grid: the GOES-16 CONUS band 16
//! file (`../shared/data/goes/`) decoded once, then a z4 Web Mercator tile
//! over the central US in the enhanced-IR ramp (geostationary lattice
//! sampling + style + encode).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{StyleSpec, TileMatrixSetId};
use render::render_tile;

fn satellite(c: &mut Criterion) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/data/goes/OR_ABI-L1b-RadC-M6C16_G16_s20200040316182_e20200040318566_c20200040319074.nc",
    );
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return;
    };
    let grid = decode::decode_field(&bytes, 0).expect("decodes");
    let style = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::EnhancedIr,
        (-90.0, 50.0),
        Units::Kelvin,
        Units::Celsius,
    );
    let job = common::sized_job(TileMatrixSetId::WebMercatorQuad, (4, 3, 6), 256, style);
    c.bench_function(
        "satellite tile 256px mercator z4 (geos sample+style+encode)",
        |b| b.iter(|| render_tile(&[&grid], black_box(&job)).expect("render")),
    );
    let frame = render::TileFrame {
        tms: TileMatrixSetId::WebMercatorQuad,
        z: 4,
        x: 3,
        y: 6,
        size: 256,
    };
    c.bench_function("satellite sampling only 256px mercator z4", |b| {
        b.iter(|| render::sample(&grid, black_box(&frame)))
    });
}

criterion_group!(benches, satellite);
criterion_main!(benches);
