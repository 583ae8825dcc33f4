//! Whole-image tests of the contour styles on synthetic grids.

use protocol::TileMatrixSetId;
use protocol::style::{ColorMapName, StyleKind, Units};

use super::lattice::tests::global_grid;
use super::*;
use crate::TileFrame;

fn style(kind: StyleKind, range: (f32, f32), interval: f32) -> StyleSpec {
    let mut s = StyleSpec::new(
        kind,
        ColorMapName::Temperature,
        range,
        Units::Other,
        Units::Other,
    );
    s.contour_interval = Some(interval);
    s
}

fn frame(tms: TileMatrixSetId, z: u8, x: u32, y: u32, size: u32) -> TileFrame {
    TileFrame { tms, z, x, y, size }
}

/// Decodes any PNG to non-premultiplied RGBA: (width, pixels).
fn decode(png_bytes: &[u8]) -> (usize, Vec<[u8; 4]>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let px = buf
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    (info.width as usize, px)
}

/// Whether a pixel is (mostly) line ink rather than halo.
fn inked(p: [u8; 4]) -> bool {
    p[3] >= 160 && p[0] < 140
}

#[test]
fn a_latitude_field_gives_straight_lines_on_the_expected_rows() {
    let grid = global_grid(|_, lat| lat as f32);
    // CRS84 z3 (9, 2): latitudes 45 … 22.5, 0.088° per pixel.
    let f = frame(TileMatrixSetId::WorldCRS84Quad, 3, 9, 2, 256);
    let canvas = Canvas::for_tile(&f);
    let mut pix = raster::canvas(256, 256).expect("canvas");
    let s = style(StyleKind::Isolines, (0.0, 90.0), 2.0);
    draw(&mut pix, &grid, &s, &canvas, false).expect("draw");
    // Levels 24, 26, … 44: image rows from the canvas's own maths.
    let rows: Vec<f64> = (12..=22)
        .map(|n| canvas.world_y_of_lat(2.0 * n as f64) - canvas.origin().1)
        .collect();
    let px = |x: usize, y: usize| {
        let c = pix.pixels()[y * 256 + x].demultiply();
        [c.red(), c.green(), c.blue(), c.alpha()]
    };
    for x in 0..256 {
        for &row in &rows {
            // The pixel whose centre is nearest the line is inked.
            let y = row.floor() as usize;
            assert!(inked(px(x, y)), "column {x}: no line at row {row}");
        }
        for y in 0..256 {
            let near = rows.iter().any(|&r| (y as f64 + 0.5 - r).abs() <= 1.2);
            assert!(near || !inked(px(x, y)), "stray ink at ({x}, {y})");
        }
    }
}

#[test]
fn a_bump_traces_closed_rings() {
    // 10 at (20° E, 10° N), falling off over ~5°.
    let grid = global_grid(|lon, lat| {
        let d2 = (lon - 20.0).powi(2) + (lat - 10.0).powi(2);
        10.0 * (-d2 / 25.0).exp() as f32
    });
    let canvas = Canvas::for_tile(&frame(TileMatrixSetId::WebMercatorQuad, 3, 4, 3, 256));
    // The peak is near world pixel (1138, 967), node (284, 241).
    let lat = lattice::sample_nodes(&[&grid], &canvas, 260..=310, 220..=265, (1.0, 0.0));
    let levels = march::trace(&lat, 2.0);
    assert_eq!(levels.iter().map(|l| l.n).collect::<Vec<_>>(), [1, 2, 3, 4]);
    for level in &levels {
        assert_eq!(level.lines.len(), 1, "level {}", level.n);
        let ring = &level.lines[0];
        assert_eq!(ring.first(), ring.last(), "level {} is closed", level.n);
    }
}

#[test]
fn labels_never_overlap_and_sit_inside_their_cells() {
    let grid = global_grid(|lon, lat| {
        (1000.0 + 15.0 * (3.0 * lon.to_radians()).sin() * (2.0 * lat.to_radians()).cos()) as f32
    });
    let canvas = Canvas::for_tile(&frame(TileMatrixSetId::WebMercatorQuad, 4, 9, 6, 512));
    let mut pix = raster::canvas(512, 512).expect("canvas");
    let s = style(StyleKind::Isolines, (980.0, 1020.0), 1.0);
    let labels = draw(&mut pix, &grid, &s, &canvas, true).expect("draw");
    assert!(labels.len() >= 8, "only {} labels", labels.len());
    let boxes: Vec<_> = labels.iter().map(Label::bounds).collect();
    for (i, a) in boxes.iter().enumerate() {
        let cell = |v: i64| v.div_euclid(labels::LABEL_CELL as i64);
        assert_eq!(
            (cell(a.0), cell(a.1)),
            (cell(a.2 - 1), cell(a.3 - 1)),
            "inside one cell"
        );
        for b in &boxes[i + 1..] {
            let overlap = a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
            assert!(!overlap, "{a:?} overlaps {b:?}");
        }
    }
    for l in &labels {
        let n: f32 = l.text.parse().expect("a number");
        assert!(
            (980.0..=1020.0).contains(&n) && n.fract() == 0.0,
            "{}",
            l.text
        );
    }
}

#[test]
fn a_2x2_block_of_tiles_matches_one_double_size_parent() {
    let grid = global_grid(|lon, lat| {
        (1000.0
            + 15.0 * (3.0 * lon.to_radians()).sin() * (2.0 * lat.to_radians()).cos()
            + 0.2 * lat) as f32
    });
    let s = style(StyleKind::Isolines, (980.0, 1030.0), 1.0);
    let tms = TileMatrixSetId::WebMercatorQuad;
    let parent_canvas = Canvas::for_tile(&frame(tms, 4, 9, 6, 512));
    let parent = render_isolines(&[&grid], &s, &parent_canvas, &protocol::Cancel::default())
        .expect("parent");
    let (w, parent) = decode(&parent);
    assert_eq!(w, 512);
    let mut labels = 0;
    let (mut differing, mut worst) = (0, 0);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let canvas = Canvas::for_tile(&frame(tms, 5, 18 + dx, 12 + dy, 256));
        let mut pix = raster::canvas(256, 256).expect("canvas");
        labels += draw(&mut pix, &grid, &s, &canvas, true)
            .expect("child")
            .len();
        let (_, child) = decode(&raster::encode_rgba_png(&pix).expect("png"));
        for y in 0..256 {
            for x in 0..256 {
                let a = child[y * 256 + x];
                let b = parent[(y + 256 * dy as usize) * 512 + x + 256 * dx as usize];
                let d = (0..4).map(|k| a[k].abs_diff(b[k])).max().unwrap_or(0);
                worst = worst.max(d);
                differing += usize::from(d > 0);
            }
        }
    }
    assert!(labels >= 6, "only {labels} labels");
    let seam_ink = (0..512).filter(|&y| inked(parent[y * 512 + 256])).count();
    assert!(seam_ink >= 5, "lines cross the vertical seam");
    // Exact by construction: same nodes, same labels, and lines stroked in
    // the same world blocks.
    assert_eq!(differing, 0, "pixels differ (worst by {worst})");
}

#[test]
fn filled_bands_take_their_band_colour_and_no_data_is_transparent() {
    // v = latitude, no data east of 30° E.
    let grid = global_grid(|lon, lat| if lon >= 30.0 { f32::NAN } else { lat as f32 });
    // CRS84 z2 (4, 1): lon 0 … 45, lat 45 … 0, 45/256 ° per pixel.
    let f = frame(TileMatrixSetId::WorldCRS84Quad, 2, 4, 1, 256);
    let s = style(StyleKind::FilledContours, (0.0, 50.0), 5.0);
    let (w, px) = decode(
        &render_filled(
            &[&grid],
            &s,
            &crate::Footprint::Axes(f.axes()),
            &protocol::Cancel::default(),
        )
        .expect("render"),
    );
    let lat_row = |lat: f64| ((45.0 - lat) / 45.0 * 256.0) as usize;
    let at = |lon: f64, lat: f64| px[lat_row(lat) * w + (lon / 45.0 * 256.0) as usize];
    let colour = |t: f32| ColorMapName::Temperature.color_at(t);
    assert_eq!(at(10.0, 41.0), colour(42.5 / 50.0), "band 40..45");
    assert_eq!(at(10.0, 39.0), colour(37.5 / 50.0), "band 35..40");
    assert_eq!(at(10.0, 2.0), colour(2.5 / 50.0), "band 0..5");
    assert_ne!(at(10.0, 40.2), at(10.0, 39.8));
    assert_eq!(at(40.0, 20.0)[3], 0, "no data");
}

/// [`draw_isolines`] of one grid, never cancelled.
fn draw(
    pix: &mut tiny_skia::Pixmap,
    grid: &Grid,
    s: &StyleSpec,
    canvas: &Canvas,
    with_labels: bool,
) -> Result<Vec<Label>, protocol::RenderError> {
    draw_isolines(
        pix,
        &[grid],
        s,
        canvas,
        with_labels,
        &protocol::Cancel::default(),
    )
}
