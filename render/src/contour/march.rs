//! Marching squares on a [`Lattice`] and joining of the segments into
//! polylines.
//!
//! A level crosses a lattice edge where one end is at or above it and the
//! other below. Crossing points are keyed by edge id and computed from the
//! edge's two end values only, so the two cells sharing an edge (and two
//! images sharing a node) agree on the point exactly. Cells with a missing
//! corner produce nothing, which breaks lines at no-data edges.

use std::collections::BTreeMap;

use super::lattice::{Lattice, NODE_STEP};

/// Crossing positions are rounded to 1/`QUANTUM` of a node step, so they
/// are exact binary fractions and shifting them into any image's pixel
/// coordinates is exact too.
const QUANTUM: f64 = 64.0;

/// One contour level: its index `n` (the level is `n·interval`) and its
/// polylines in world pixel coordinates. A closed ring repeats its first
/// point at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelLines {
    pub n: i64,
    pub lines: Vec<Vec<(f64, f64)>>,
}

/// Edge id of the edge from node (c, r) to (c + 1, r).
#[inline]
fn h_edge(cols: usize, c: usize, r: usize) -> u32 {
    ((r * cols + c) * 2) as u32
}

/// Edge id of the edge from node (c, r) to (c, r + 1).
#[inline]
fn v_edge(cols: usize, c: usize, r: usize) -> u32 {
    ((r * cols + c) * 2 + 1) as u32
}

/// The value of level `n`; every comparison uses this one expression so
/// that neighbouring cells classify shared nodes identically.
#[inline]
pub fn level_value(n: i64, interval: f32) -> f32 {
    n as f32 * interval
}

/// Every level at a multiple of `interval` crossing the lattice, in level
/// order, as joined polylines.
pub fn trace(lattice: &Lattice, interval: f32) -> Vec<LevelLines> {
    segments(lattice, interval)
        .into_iter()
        .map(|(n, segs)| LevelLines {
            n,
            lines: join(&segs)
                .into_iter()
                .map(|edges| {
                    let level = level_value(n, interval);
                    edges.iter().map(|&e| crossing(lattice, e, level)).collect()
                })
                .collect(),
        })
        .collect()
}

/// The segments of every level, keyed by level index; a segment joins the
/// crossings on two edges of one cell.
fn segments(lat: &Lattice, interval: f32) -> BTreeMap<i64, Vec<[u32; 2]>> {
    let mut out: BTreeMap<i64, Vec<[u32; 2]>> = BTreeMap::new();
    let cols = lat.cols;
    for r in 0..lat.rows.saturating_sub(1) {
        for c in 0..cols.saturating_sub(1) {
            // Corners clockwise from the top left.
            let v = [
                lat.at(c, r),
                lat.at(c + 1, r),
                lat.at(c + 1, r + 1),
                lat.at(c, r + 1),
            ];
            if v.iter().any(|x| x.is_nan()) {
                continue;
            }
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            // One level of slack each side: the classification below, not
            // this division, decides whether a level crosses.
            let first = (lo / interval).floor() as i64;
            let last = (hi / interval).floor() as i64 + 1;
            let top = h_edge(cols, c, r);
            let right = v_edge(cols, c + 1, r);
            let bottom = h_edge(cols, c, r + 1);
            let left = v_edge(cols, c, r);
            for n in first..=last {
                let level = level_value(n, interval);
                let case = v
                    .iter()
                    .enumerate()
                    .fold(0u8, |acc, (k, &x)| acc | (u8::from(x >= level) << k));
                // Bits: 1 top-left, 2 top-right, 4 bottom-right, 8 bottom-left.
                let centre_above = || v.iter().sum::<f32>() / 4.0 >= level;
                let pair: &[[u32; 2]] = match case {
                    0 | 15 => continue,
                    1 | 14 => &[[left, top]],
                    2 | 13 => &[[top, right]],
                    3 | 12 => &[[left, right]],
                    4 | 11 => &[[right, bottom]],
                    6 | 9 => &[[top, bottom]],
                    7 | 8 => &[[left, bottom]],
                    // Saddles: the centre decides which diagonal connects.
                    5 if centre_above() => &[[top, right], [bottom, left]],
                    5 => &[[left, top], [right, bottom]],
                    10 if centre_above() => &[[left, top], [right, bottom]],
                    _ => &[[top, right], [bottom, left]],
                };
                out.entry(n).or_default().extend_from_slice(pair);
            }
        }
    }
    out
}

/// Where `level` crosses edge `edge`, in world pixels.
fn crossing(lat: &Lattice, edge: u32, level: f32) -> (f64, f64) {
    let node = (edge / 2) as usize;
    let (c, r) = (node % lat.cols, node / lat.cols);
    let (c1, r1) = if edge.is_multiple_of(2) {
        (c + 1, r)
    } else {
        (c, r + 1)
    };
    let (a, b) = (lat.at(c, r), lat.at(c1, r1));
    let t = if b != a {
        f64::from((level - a) / (b - a)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let t = (t * QUANTUM).round() / QUANTUM;
    let (x, y) = lat.world(c as f64, r as f64);
    if edge.is_multiple_of(2) {
        (x + t * NODE_STEP, y)
    } else {
        (x, y + t * NODE_STEP)
    }
}

const NONE: u32 = u32::MAX;

/// Joins segments sharing an edge into chains of edge ids. Open chains are
/// walked from one of their ends, so each comes out whole; what remains
/// are closed rings, which end on their first edge.
fn join(segs: &[[u32; 2]]) -> Vec<Vec<u32>> {
    // End `2s + side` is side `side` of segment `s`; `partner` links the two
    // ends on the same edge (an edge borders two cells, each with at most
    // one segment touching it).
    let mut ends: Vec<(u32, u32)> = segs
        .iter()
        .enumerate()
        .flat_map(|(s, e)| [(e[0], 2 * s as u32), (e[1], 2 * s as u32 + 1)])
        .collect();
    ends.sort_unstable();
    let mut partner = vec![NONE; ends.len()];
    for w in ends.windows(2) {
        if w[0].0 == w[1].0 {
            partner[w[0].1 as usize] = w[1].1;
            partner[w[1].1 as usize] = w[0].1;
        }
    }
    let mut visited = vec![false; segs.len()];
    let mut chains = Vec::new();
    // Open ends first, then whatever is left (rings).
    let starts = (0..ends.len() as u32)
        .filter(|&e| partner[e as usize] == NONE)
        .chain((0..segs.len() as u32).map(|s| 2 * s));
    for start in starts {
        let mut end = start;
        if visited[(end / 2) as usize] {
            continue;
        }
        let mut chain = vec![segs[(end / 2) as usize][(end % 2) as usize]];
        loop {
            let s = (end / 2) as usize;
            visited[s] = true;
            let out = end ^ 1; // the segment's other end
            chain.push(segs[s][(out % 2) as usize]);
            end = partner[out as usize];
            if end == NONE || visited[(end / 2) as usize] {
                break;
            }
        }
        chains.push(chain);
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lattice(cols: usize, rows: usize, f: impl Fn(f64, f64) -> f32) -> Lattice {
        let mut values = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                values.push(f(c as f64, r as f64));
            }
        }
        Lattice {
            k0: 0,
            l0: 0,
            cols,
            rows,
            values,
        }
    }

    #[test]
    fn a_bump_gives_one_closed_ring_per_level_at_the_right_radius() {
        // Distance from (10, 10) in node units; levels every 2 → rings of
        // radius 2, 4, 6, 8 nodes (8 world px per level).
        let lat = lattice(21, 21, |c, r| (c - 10.0).hypot(r - 10.0) as f32);
        let levels = trace(&lat, 2.0);
        let ns: Vec<i64> = levels.iter().map(|l| l.n).collect();
        assert_eq!(ns, [1, 2, 3, 4, 5, 6, 7], "the corners reach 14.1");
        for l in levels.iter().take(4) {
            assert_eq!(l.lines.len(), 1, "level {}", l.n);
            let ring = &l.lines[0];
            assert_eq!(ring.first(), ring.last(), "closed");
            assert!(ring.len() > 8);
            let radius = 2.0 * l.n as f64 * NODE_STEP;
            for &(x, y) in ring {
                let d = (x - 40.0).hypot(y - 40.0);
                assert!((d - radius).abs() < 0.35 * NODE_STEP, "{d} vs {radius}");
            }
        }
        // Level 12 is cut by the lattice's edges: four open corner arcs.
        assert_eq!(levels[5].lines.len(), 4);
        assert!(levels[5].lines.iter().all(|l| l.first() != l.last()));
    }

    #[test]
    fn saddles_follow_the_centre_and_missing_nodes_break_lines() {
        // Row-major values: the left column high, the right low.
        let saddle = Lattice {
            k0: 0,
            l0: 0,
            cols: 2,
            rows: 2,
            values: vec![5.0, 0.0, 5.0, 0.0],
        };
        let segs = segments(&saddle, 2.0);
        let segs = &segs[&1];
        let (top, right, bottom, left) = (
            h_edge(2, 0, 0),
            v_edge(2, 1, 0),
            h_edge(2, 0, 1),
            v_edge(2, 0, 0),
        );
        assert_eq!(segs, &[[top, bottom]], "not a saddle: a straight cut");
        let saddle = Lattice {
            values: vec![5.0, 0.0, 0.0, 5.0],
            ..saddle
        };
        // Top-left and bottom-right high: the centre (2.5) is above level 2,
        // so the high corners connect and the low ones are cut off.
        let s = segments(&saddle, 2.0);
        assert_eq!(s[&1], [[top, right], [bottom, left]]);
        let s = segments(&saddle, 3.0);
        assert_eq!(s[&1], [[left, top], [right, bottom]], "centre 2.5 < 3");

        // A vertical line x = 20 broken by a missing node in its path.
        let mut lat = lattice(11, 11, |c, _| c as f32 * 4.0);
        lat.values[5 * 11 + 5] = f32::NAN;
        let levels = trace(&lat, 20.0);
        let level = levels.iter().find(|l| l.n == 1).expect("level 20");
        assert_eq!(level.lines.len(), 2);
        for line in &level.lines {
            assert!(line.iter().all(|p| (p.0 - 20.0).abs() < 1e-9));
        }
    }
}
