//! Wind symbol tiles from cached GFS 0.25° u/v grids: lattice sampling,
//! sprite compositing and RGBA encoding. Target: barbs under 1 ms per
//! 256 px tile on one core.

use chrono::{TimeZone, Utc};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{FieldRef, ImageFormat, Priority, RenderJob, StyleSpec, TileKey, TileMatrixSetId};
use worker::data::{Grid, GridGeometry};
use worker::render::render_tile;

/// A global 0.25° component filled by `f(lon, lat)` in m/s.
fn gfs_component(f: impl Fn(f32, f32) -> f32) -> Grid {
    let (ni, nj) = (1440, 721);
    let mut values = Vec::with_capacity(ni * nj);
    for j in 0..nj {
        let lat = 90.0 - j as f32 * 0.25;
        for i in 0..ni {
            values.push(f(i as f32 * 0.25, lat));
        }
    }
    Grid {
        ni,
        nj,
        values,
        geometry: GridGeometry::LatLon {
            lon0: 0.0,
            lat0: 90.0,
            dlon: 0.25,
            dlat: -0.25,
        },
        winds_grid_relative: false,
    }
}

fn job(kind: StyleKind, color_by_speed: bool) -> RenderJob {
    let run = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let key = TileKey {
        layer: "gfs_WIND_10m".into(),
        style: kind.name().into(),
        style_params: String::new(),
        tms: TileMatrixSetId::WebMercatorQuad,
        z: 4,
        x: 3,
        y: 5,
        tile_size: 256,
        run,
        valid: run,
        elevation: None,
        format: ImageFormat::Png,
    };
    let mut style = StyleSpec::new(
        kind,
        ColorMapName::Wind,
        (0.0, 80.0),
        Units::MetresPerSecond,
        Units::Knots,
    );
    style.color_by_speed = color_by_speed;
    let source = FieldRef {
        object_key: "k".into(),
        offset: 0,
        length: 0,
        submessage: 0,
    };
    RenderJob::new(
        key,
        vec![source.clone(), source],
        style,
        Priority::Interactive,
    )
}

fn wind(c: &mut Criterion) {
    let u = gfs_component(|lon, lat| {
        15.0 * (lat.to_radians() * 3.0).cos() * (lon.to_radians() * 2.0).sin()
    });
    let v = gfs_component(|lon, lat| {
        12.0 * (lon.to_radians() * 3.0).cos() + 3.0 * lat.to_radians().sin()
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
