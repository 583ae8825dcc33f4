//! Contour labels, placed so that they never overlap and agree across
//! tiles by construction.
//!
//! World pixel space is cut into fixed [`LABEL_CELL`]-pixel cells. Each cell
//! holds at most one label, whose box lies wholly inside the cell, so labels
//! of different cells cannot overlap. The choice is a pure function of the
//! contour crossings inside the cell (the crossing nearest the cell centre
//! whose box is not crowded by another level), and every image touching a
//! cell traces the whole cell, so they all make the same choice.
//!
//! A level may only be labelled in every other cell, checkerboard fashion
//! (cell column + row + level index even), so a line is labelled about
//! every two cells rather than in each one, and neighbouring levels take
//! turns.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::march::LevelLines;
use crate::Canvas;
use crate::font::{GLYPH, text_width};

/// Label cell size, world pixels (a multiple of the node step).
pub const LABEL_CELL: f64 = 128.0;
/// Gap kept between a label's box and its cell's border, pixels.
const INSET: i64 = 2;
/// Blank margin cleared around the text's halo, pixels.
const PAD: i64 = 1;
/// Another level's line passing within this many pixels of a box makes
/// the spot too crowded to label.
const CROWD: f64 = 2.0;

/// A label: its text with the ink's top-left corner at world pixel (x, y).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub text: String,
    pub x: i64,
    pub y: i64,
}

impl Label {
    /// A label of `text` centred on world position (`cx`, `cy`).
    fn centred(text: String, cx: f64, cy: f64) -> Self {
        let w = text_width(&text) as f64;
        // floor(v + 0.5): ties round the same way in every image.
        let x = (cx - w / 2.0 + 0.5).floor() as i64;
        let y = (cy - GLYPH as f64 / 2.0 + 0.5).floor() as i64;
        Self { text, x, y }
    }

    /// The box the label occupies (text, its one-pixel halo and a blank
    /// margin), `[x0, x1) × [y0, y1)` in world pixels. The contour lines
    /// underneath are cleared so the label reads.
    pub fn bounds(&self) -> (i64, i64, i64, i64) {
        let w = text_width(&self.text) as i64;
        let m = 1 + PAD;
        (
            self.x - m,
            self.y - m,
            self.x + w + m,
            self.y + GLYPH as i64 + m,
        )
    }
}

/// The level's value as labelled: no more decimals than the interval has
/// ("1012", "-5", "2.5"), and never "-0".
pub fn format_level(n: i64, interval: f32) -> String {
    let step = f64::from(interval);
    let decimals = (0..=4usize)
        .find(|&d| {
            let s = step * 10f64.powi(d as i32);
            (s - s.round()).abs() < 1e-3 * s.abs().max(1.0)
        })
        .unwrap_or(4);
    let text = format!("{:.*}", decimals, n as f64 * step);
    if text.chars().all(|c| matches!(c, '-' | '0' | '.')) {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// Column and row indices of the label cells that intersect `canvas`: the
/// only ones whose labels can reach it.
pub fn cells_for(canvas: &Canvas) -> (RangeInclusive<i64>, RangeInclusive<i64>) {
    let (ox, oy) = canvas.origin();
    let span = |o: f64, len: usize| {
        let first = (o / LABEL_CELL).floor() as i64;
        let last = ((o + len.max(1) as f64) / LABEL_CELL).ceil() as i64 - 1;
        first..=last.max(first)
    };
    (span(ox, canvas.width), span(oy, canvas.height))
}

/// A crossing of level `n` at a world position.
#[derive(Debug, Clone, Copy)]
struct Point {
    n: i64,
    x: f64,
    y: f64,
    /// Whether the level may be labelled in this cell.
    due: bool,
}

/// Chooses at most one label for every cell in `cols` × `rows` from the
/// traced `levels`. The caller must have traced every node of those cells.
pub fn place(
    levels: &[LevelLines],
    interval: f32,
    cols: RangeInclusive<i64>,
    rows: RangeInclusive<i64>,
) -> Vec<Label> {
    // Crossings by cell. A ring's closing point repeats its first one,
    // which changes nothing below.
    let mut cells: BTreeMap<(i64, i64), Vec<Point>> = BTreeMap::new();
    for level in levels {
        for &(x, y) in level.lines.iter().flatten() {
            let cell = (
                (x / LABEL_CELL).floor() as i64,
                (y / LABEL_CELL).floor() as i64,
            );
            let due = (cell.0 + cell.1 + level.n).rem_euclid(2) == 0;
            if cols.contains(&cell.0) && rows.contains(&cell.1) {
                cells.entry(cell).or_default().push(Point {
                    n: level.n,
                    x,
                    y,
                    due,
                });
            }
        }
    }
    cells
        .into_iter()
        .filter_map(|(cell, points)| choose(cell, points, interval))
        .collect()
}

/// The label of one cell, if a crossing has room for one.
fn choose(cell: (i64, i64), mut points: Vec<Point>, interval: f32) -> Option<Label> {
    let x0 = cell.0 * LABEL_CELL as i64;
    let y0 = cell.1 * LABEL_CELL as i64;
    let (cx, cy) = (x0 as f64 + LABEL_CELL / 2.0, y0 as f64 + LABEL_CELL / 2.0);
    let d2 = |p: &Point| (p.x - cx).powi(2) + (p.y - cy).powi(2);
    // A total order, so the choice never depends on input order.
    points.sort_by(|a, b| {
        d2(a)
            .total_cmp(&d2(b))
            .then(a.n.cmp(&b.n))
            .then(a.x.total_cmp(&b.x))
            .then(a.y.total_cmp(&b.y))
    });
    let inner = (
        x0 + INSET,
        y0 + INSET,
        x0 + LABEL_CELL as i64 - INSET,
        y0 + LABEL_CELL as i64 - INSET,
    );
    // Every crossing counts for crowding; only due ones may be labelled.
    points.iter().filter(|p| p.due).find_map(|p| {
        let label = Label::centred(format_level(p.n, interval), p.x, p.y);
        let (bx0, by0, bx1, by1) = label.bounds();
        let inside = bx0 >= inner.0 && by0 >= inner.1 && bx1 <= inner.2 && by1 <= inner.3;
        let crowded = || {
            points.iter().any(|q| {
                q.n != p.n
                    && q.x > bx0 as f64 - CROWD
                    && q.x < bx1 as f64 + CROWD
                    && q.y > by0 as f64 - CROWD
                    && q.y < by1 as f64 + CROWD
            })
        };
        (inside && !crowded()).then_some(label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_print_with_the_interval_s_decimals() {
        assert_eq!(format_level(253, 4.0), "1012");
        assert_eq!(format_level(-1, 5.0), "-5");
        assert_eq!(format_level(1, 2.5), "2.5");
        assert_eq!(format_level(3, 0.1), "0.3");
        assert_eq!(format_level(0, 0.5), "0.0");
        assert_eq!(format_level(0, 4.0), "0");
    }

    #[test]
    fn each_cell_labels_the_crossing_nearest_its_centre_inside_its_border() {
        // Horizontal lines at y = 40, 70, 100 and 250 (world px) across x 0..256.
        let line = |n: i64, y: f64| LevelLines {
            n,
            lines: vec![(0..=64).map(|k| (k as f64 * 4.0, y)).collect()],
        };
        let levels = [line(1, 40.0), line(2, 70.0), line(3, 100.0), line(4, 250.0)];
        let labels = place(&levels, 10.0, 0..=1, 0..=1);
        // Cell (0,0) may label the even level 2 only: the 20 line at y = 70.
        // Cell (1,0) labels odd levels: 10 (y = 40) is nearer its centre
        // (y = 64) than 30 (y = 100). Cells (0,1) and (1,1): the 40 line
        // at 250 is too close to the bottom border (256) for the box.
        let texts: Vec<(&str, i64)> = labels.iter().map(|l| (l.text.as_str(), l.y)).collect();
        assert_eq!(texts, [("20", 66), ("10", 36)]);
        let (x0, _, x1, _) = labels[1].bounds();
        assert!(x0 >= 128 + INSET && x1 <= 256 - INSET);
        // Lines 4 px apart crowd every candidate: no label at all.
        let dense = [line(1, 60.0), line(2, 64.0), line(3, 68.0)];
        assert!(place(&dense, 10.0, 0..=0, 0..=0).is_empty());
    }
}
