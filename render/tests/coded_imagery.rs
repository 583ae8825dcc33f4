//! Satellite scans are kept as their raw integer codes with one value per
//! code (`GridValues::Coded`), and coded imagery renders through a palette
//! per code instead of per pixel. Both must be invisible: every tile and
//! every sampled value equals what the same scan as plain f32 gives, on
//! the real GOES-R files, for every style family and for tiles half off
//! the disk.

#[path = "common/mod.rs"]
mod common;
#[path = "../../tests/support/require.rs"]
mod require;

use protocol::grid::{Grid, GridValues};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{StyleSpec, TileMatrixSetId};
use render::{TileFrame, render_tile};

const FILES: [&str; 4] = [
    "OR_ABI-L1b-RadC-M6C01_G16_s20200040316182_e20200040318554_c20200040319012.nc",
    "OR_ABI-L1b-RadC-M6C16_G16_s20200040316182_e20200040318566_c20200040319074.nc",
    "OR_ABI-L1b-RadM1-M6C13_G17_s20193002000275_e20193002000344_c20193002000386.nc",
    "OR_ABI-L2-CMIPM1-M3C01_G16_s20171931811268_e20171931811326_c20171931811382.nc",
];

fn as_floats(grid: &Grid) -> Grid {
    Grid {
        values: GridValues::Floats(grid.values.iter().collect()),
        ..grid.clone()
    }
}

/// Tiles over the scan's centre at several zooms, and their neighbours
/// (some partly or wholly off the scan).
fn tiles_over(grid: &Grid) -> Vec<(u8, u32, u32)> {
    let (lon, lat) = grid.lonlat(grid.ni as f64 / 2.0, grid.nj as f64 / 2.0);
    let mut out = Vec::new();
    for z in [3u8, 5, 7, 9] {
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n).floor() as i64;
        let lat_r = lat.to_radians();
        let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .floor() as i64;
        for (dx, dy) in [(0, 0), (1, 0), (-2, 1), (3, -3)] {
            let (tx, ty) = (x + dx, y + dy);
            if tx >= 0 && ty >= 0 && tx < n as i64 && ty < n as i64 {
                out.push((z, tx as u32, ty as u32));
            }
        }
    }
    out
}

fn styles() -> Vec<StyleSpec> {
    let ir = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::EnhancedIr,
        (-90.0, 50.0),
        Units::Kelvin,
        Units::Celsius,
    );
    let visible = StyleSpec::new(
        StyleKind::GradientSqrt,
        ColorMapName::Visible,
        (0.0, 1.0),
        Units::Other,
        Units::Other,
    );
    // Missing scan pixels tinted, values under a threshold transparent,
    // out-of-range colours: every branch of the palette index.
    let mut tinted = StyleSpec::new(
        StyleKind::Gradient,
        ColorMapName::WaterVapor,
        (-60.0, 0.0),
        Units::Kelvin,
        Units::Celsius,
    );
    tinted.no_data = Some([200, 0, 200, 120]);
    tinted.transparent_below = Some(-80.0);
    tinted.above_max = Some([255, 255, 0, 255]);
    tinted.bands = Some(12);
    vec![ir, visible, tinted]
}

#[test]
fn coded_scans_render_and_sample_exactly_as_f32() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/goes");
    let mut compared = 0;
    let mut with_no_value = 0;
    for name in FILES {
        let Ok(bytes) = std::fs::read(dir.join(name)) else {
            require::missing(&dir.join(name).display().to_string());
            continue;
        };
        let coded = decode::decode_field(&bytes, 0).expect("decode");
        let GridValues::Coded(c) = &coded.values else {
            panic!("{name}: ABI counts are kept as codes");
        };
        assert!(c.table().len() <= 65_536, "{name}");
        eprintln!("{name}: {} codes", c.table().len());
        let floats = as_floats(&coded);
        assert!(
            coded.size_bytes() * 3 / 2 < floats.size_bytes(),
            "{name}: codes take about half the memory"
        );
        for (z, x, y) in tiles_over(&coded) {
            let frame = TileFrame {
                tms: TileMatrixSetId::WebMercatorQuad,
                z,
                x,
                y,
                size: 256,
            };
            let (a, b) = (
                render::sample(&coded, &frame),
                render::sample(&floats, &frame),
            );
            let same = a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "{name} z{z}/{x}/{y}: sampled values differ");
            with_no_value += usize::from(a.iter().any(|v| v.is_nan()));
            for style in styles() {
                let job = common::sized_job(frame.tms, (z, x, y), 256, style.clone());
                let fast = render_tile(&[&coded], &job).expect("render coded");
                let slow = render_tile(&[&floats], &job).expect("render f32");
                assert!(
                    fast == slow,
                    "{name} z{z}/{x}/{y} {:?}: the coded tile differs",
                    style.colormap
                );
                compared += 1;
            }
        }
    }
    if compared > 0 {
        assert!(compared >= 100, "{compared} tiles compared");
        assert!(with_no_value > 0, "some tiles reach off the scan");
    }
}
