//! Helpers shared by the rendering tests: synthetic grids, jobs and PNG
//! decoding.
#![allow(dead_code)] // each test binary uses a subset

use chrono::{TimeZone, Utc};
use protocol::{FieldRef, ImageFormat, Priority, RenderJob, StyleSpec, TileKey, TileMatrixSetId};
use protocol::{Grid, GridGeometry};
use render::TileFrame;

/// A global 0.25° grid like GFS (0..359.75 E, 90..−90 N) filled by `f(lon, lat)`.
pub fn gfs_like(f: impl Fn(f64, f64) -> f32) -> Grid {
    let (ni, nj) = (1440, 721);
    let geometry = GridGeometry::LatLon {
        lon0: 0.0,
        lat0: 90.0,
        dlon: 0.25,
        dlat: -0.25,
    };
    let mut values = Vec::with_capacity(ni * nj);
    for j in 0..nj {
        for i in 0..ni {
            values.push(f(i as f64 * 0.25, 90.0 - j as f64 * 0.25));
        }
    }
    Grid {
        ni,
        nj,
        values: values.into(),
        geometry,
        winds_grid_relative: false,
    }
}

pub fn frame(tms: TileMatrixSetId, z: u8, x: u32, y: u32) -> TileFrame {
    TileFrame {
        tms,
        z,
        x,
        y,
        size: 256,
    }
}

/// A job for tile (z, x, y) of `tile_size` pixels.
pub fn sized_job(
    tms: TileMatrixSetId,
    (z, x, y): (u8, u32, u32),
    tile_size: u32,
    style: StyleSpec,
) -> RenderJob {
    let run = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let key = TileKey {
        layer: "t".into(),
        style: style.kind.name().into(),
        style_params: String::new(),
        tms,
        z,
        x,
        y,
        tile_size,
        run,
        valid: run,
        elevation: None,
        format: ImageFormat::Png,
    };
    let source = FieldRef {
        object_key: "k".into(),
        offset: 0,
        length: 0,
        submessage: 0,
    };
    RenderJob::new(key, vec![source], style, Priority::Interactive)
}

/// A 256 px job.
pub fn job(tms: TileMatrixSetId, z: u8, x: u32, y: u32, style: StyleSpec) -> RenderJob {
    sized_job(tms, (z, x, y), 256, style)
}

/// Decodes any PNG to RGBA: (width, pixels) plus the colour type it had.
pub fn decode_any(png_bytes: &[u8]) -> (u32, Vec<u8>, png::ColorType) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("png header");
    let stored = reader.info().color_type;
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, buf, stored)
}

/// Decodes a palette PNG to RGBA.
pub fn decode_rgba(png_bytes: &[u8]) -> (u32, Vec<u8>) {
    let (w, px, stored) = decode_any(png_bytes);
    assert_eq!(stored, png::ColorType::Indexed, "palette PNG");
    (w, px)
}

/// Pastes four `n`×`n` RGBA tiles (top-left, top-right, bottom-left,
/// bottom-right) into one 2n×2n image.
pub fn stitch(tiles: [&[u8]; 4], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; 4 * n * n * 4];
    for (k, tile) in tiles.iter().enumerate() {
        let (ox, oy) = ((k % 2) * n, (k / 2) * n);
        for y in 0..n {
            let src = &tile[y * n * 4..(y + 1) * n * 4];
            let start = ((oy + y) * 2 * n + ox) * 4;
            out[start..start + n * 4].copy_from_slice(src);
        }
    }
    out
}
