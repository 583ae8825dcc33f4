//! Stroking contour polylines so that every image draws the same pixels.
//!
//! tiny-skia strokes in f32 image coordinates, and the rounding of the
//! stroke outline depends on the coordinates' magnitude: the same line
//! shifted by 256 pixels can land one antialiasing step apart. So lines are
//! always stroked in fixed [`BLOCK`]-pixel world blocks, in block-relative
//! coordinates, from the pieces of polylines that reach each block, put in
//! a canonical order and direction. A block's pixels are then the same in
//! a tile and in any larger image containing it; a tile on the block grid
//! is a single block and is drawn in place.

use protocol::style::Rgba;
use tiny_skia::{LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::march::LevelLines;
use crate::Canvas;

/// World block size, pixels.
const BLOCK: f64 = 256.0;
/// Segments within this many pixels of a block can touch its pixels
/// (half the widest stroke plus antialiasing). Must stay below the node
/// step, the margin every image traces beyond its label cells.
const REACH: f64 = 3.0;

/// Strokes every polyline onto `pix` (which covers `canvas` and is still
/// blank): each `(colour, width)` pass in order, each as one path so
/// crossings and joins are not blended twice.
pub fn stroke_lines(
    pix: &mut Pixmap,
    levels: &[LevelLines],
    canvas: &Canvas,
    passes: &[(Rgba, f32)],
) {
    let (ox, oy) = canvas.origin();
    let (w, h) = (canvas.width as f64, canvas.height as f64);
    if ox.fract() != 0.0 || oy.fract() != 0.0 {
        // Off the pixel lattice (a WMS map not aligned with the tiles), no
        // other image shares these pixels: stroke in place.
        stroke(pix, &pieces(levels, (ox, oy, w, h)), (ox, oy), passes);
        return;
    }
    let blocks = |o: f64, len: f64| ((o / BLOCK).floor() as i64)..((o + len) / BLOCK).ceil() as i64;
    for by in blocks(oy, h) {
        for bx in blocks(ox, w) {
            let (x0, y0) = (bx as f64 * BLOCK, by as f64 * BLOCK);
            let pieces = pieces(levels, (x0, y0, BLOCK, BLOCK));
            if pieces.is_empty() {
                continue;
            }
            if (x0, y0) == (ox, oy) && pix.width() as f64 == BLOCK && pix.height() as f64 == BLOCK {
                stroke(pix, &pieces, (x0, y0), passes);
                continue;
            }
            let Some(mut block) = Pixmap::new(BLOCK as u32, BLOCK as u32) else {
                continue;
            };
            stroke(&mut block, &pieces, (x0, y0), passes);
            copy(&block, pix, (x0 - ox, y0 - oy));
        }
    }
}

/// A piece of polyline in world pixels, and whether it closes on itself.
type Piece = (Vec<(f64, f64)>, bool);

/// The runs of each polyline whose segments come within [`REACH`] of the
/// world rectangle (x0, y0, width, height), in canonical form.
fn pieces(levels: &[LevelLines], (x0, y0, w, h): (f64, f64, f64, f64)) -> Vec<Piece> {
    let near = |a: (f64, f64), b: (f64, f64)| {
        a.0.min(b.0) <= x0 + w + REACH
            && a.0.max(b.0) >= x0 - REACH
            && a.1.min(b.1) <= y0 + h + REACH
            && a.1.max(b.1) >= y0 - REACH
    };
    let mut out = Vec::new();
    for line in levels.iter().flat_map(|l| &l.lines) {
        let kept: Vec<bool> = line.windows(2).map(|s| near(s[0], s[1])).collect();
        if !kept.iter().any(|&k| k) {
            continue;
        }
        let closed = line.len() > 3 && line.first() == line.last();
        if closed && kept.iter().all(|&k| k) {
            out.push((canonical_ring(&line[..line.len() - 1]), true));
            continue;
        }
        // Maximal runs of kept segments; on a ring, the run through the
        // closing point is one run whatever the ring's starting point.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut open = false;
        for (s, &k) in kept.iter().enumerate() {
            match (k, open) {
                (true, false) => runs.push(vec![line[s], line[s + 1]]),
                (true, true) => {
                    if let Some(run) = runs.last_mut() {
                        run.push(line[s + 1]);
                    }
                }
                _ => {}
            }
            open = k;
        }
        if closed && kept.first() == Some(&true) && kept.last() == Some(&true) && runs.len() > 1 {
            let first = runs.remove(0);
            if let Some(last) = runs.last_mut() {
                last.extend_from_slice(&first[1..]);
            }
        }
        for mut run in runs {
            // Orientation must not depend on which end the tracer met first.
            if run.last() < run.first() {
                run.reverse();
            }
            out.push((run, false));
        }
    }
    // Pieces in a fixed order, so the path (and its rasterisation) does not
    // depend on the order lines were traced in.
    out.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// A ring (without its repeated closing point) starting at its smallest
/// point and heading towards the smaller of that point's neighbours.
fn canonical_ring(ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = ring.len();
    let start = (0..n)
        .min_by(|&a, &b| {
            ring[a]
                .partial_cmp(&ring[b])
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .unwrap_or(0);
    let forward = ring[(start + 1) % n] <= ring[(start + n - 1) % n];
    (0..n)
        .map(|k| {
            let i = if forward { start + k } else { start + n - k };
            ring[i % n]
        })
        .collect()
}

/// Strokes `pieces` onto `pix`, whose top-left is at world `origin`.
fn stroke(pix: &mut Pixmap, pieces: &[Piece], origin: (f64, f64), passes: &[(Rgba, f32)]) {
    let mut pb = PathBuilder::new();
    for (points, closed) in pieces {
        let mut local = points
            .iter()
            .map(|&(x, y)| ((x - origin.0) as f32, (y - origin.1) as f32));
        let Some(first) = local.next() else { continue };
        pb.move_to(first.0, first.1);
        local.for_each(|(x, y)| pb.line_to(x, y));
        if *closed {
            pb.close();
        }
    }
    let Some(path) = pb.finish() else { return };
    for &(color, width) in passes {
        let mut paint = Paint {
            anti_alias: true,
            ..Paint::default()
        };
        paint.set_color_rgba8(color[0], color[1], color[2], color[3]);
        let stroke = Stroke {
            width,
            line_join: LineJoin::Round,
            line_cap: LineCap::Butt,
            ..Stroke::default()
        };
        pix.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
    }
}

/// Copies `src` into `dst` with its top-left at (`dx`, `dy`) in `dst`'s
/// pixels (whole pixels: the caller checked the image is on the lattice),
/// clipped.
fn copy(src: &Pixmap, dst: &mut Pixmap, (dx, dy): (f64, f64)) {
    let (dx, dy) = (dx as i64, dy as i64);
    let (sw, sh) = (i64::from(src.width()), i64::from(src.height()));
    let (dw, dh) = (i64::from(dst.width()), i64::from(dst.height()));
    let (x0, x1) = (dx.max(0), (dx + sw).min(dw));
    if x0 >= x1 {
        return;
    }
    let src_data = src.data();
    let dst_data = dst.data_mut();
    for y in dy.max(0)..(dy + sh).min(dh) {
        let s = (((y - dy) * sw + x0 - dx) * 4) as usize;
        let d = ((y * dw + x0) * 4) as usize;
        let len = ((x1 - x0) * 4) as usize;
        dst_data[d..d + len].copy_from_slice(&src_data[s..s + len]);
    }
}
