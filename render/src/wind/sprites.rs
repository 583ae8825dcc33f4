//! Pre-rasterised wind symbols: every barb (speed step × direction ×
//! hemisphere) and arrow (length × direction) is drawn once with tiny-skia
//! on first use and then only composited, never re-stroked per symbol.
//!
//! A sprite is an ink mask and a halo mask (the ink widened, drawn first in
//! white so symbols read over any background), cropped to the halo, with
//! the station's position inside it.

use std::f64::consts::PI;
use std::sync::{LazyLock, OnceLock};

use tiny_skia::{FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Stroke, Transform};

use crate::raster::Mask;

/// Symbol directions are quantised to this many steps (5°).
pub const DIRECTIONS: usize = 72;
/// Barb speeds are rounded to steps of 5 units (WMO), up to this many.
const SPEED_STEPS: usize = 41;
/// Longest arrow, pixels.
pub const MAX_ARROW: usize = 48;
/// No part of a symbol is further than this from its station (pixels).
pub const MAX_RADIUS: f64 = 30.0;

const STAFF: f32 = 22.0;
const FEATHER: f32 = 10.0;
const FEATHER_GAP: f32 = 3.5;
const PENNANT_BASE: f32 = 4.5;
const CALM_RADIUS: f32 = 4.0;
const INK_WIDTH: f32 = 1.4;
const HALO_WIDTH: f32 = INK_WIDTH + 3.0;
/// Feathers lean this far towards the staff's tip (sin, cos of 70°).
const FEATHER_DIR: (f32, f32) = (0.940, 0.342);

/// A rasterised symbol.
#[derive(Debug, Clone)]
pub struct Sprite {
    pub ink: Mask,
    pub halo: Mask,
    /// The station's pixel within the masks.
    pub anchor: (i64, i64),
}

/// How a barb reads: pennants (50), full barbs (10), half barb (5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarbCount {
    pub pennants: usize,
    pub full: usize,
    pub half: bool,
}

impl BarbCount {
    /// WMO rounding: the speed to the nearest 5 units.
    #[cfg(test)]
    pub fn of(speed: f32) -> Self {
        Self::from_fives(fives(speed))
    }

    fn from_fives(fives: usize) -> Self {
        Self {
            pennants: fives / 10,
            full: fives % 10 / 2,
            half: fives % 2 == 1,
        }
    }

    pub fn is_calm(self) -> bool {
        self == Self::from_fives(0)
    }
}

/// `speed` in steps of 5 units, rounded (WMO), capped at the last step.
fn fives(speed: f32) -> usize {
    ((speed.max(0.0) / 5.0).round() as usize).min(SPEED_STEPS - 1)
}

/// The direction step nearest to `bearing` (radians clockwise from up).
fn direction_step(bearing: f64) -> usize {
    ((bearing.rem_euclid(2.0 * PI) / (2.0 * PI) * DIRECTIONS as f64).round() as usize) % DIRECTIONS
}

fn step_bearing(step: usize) -> f32 {
    (step as f64 * 2.0 * PI / DIRECTIONS as f64) as f32
}

/// The barb for `speed` (in the style's display units) whose staff points
/// along screen bearing `from` (where the wind comes from). Feathers are on
/// the clockwise side of the staff in the northern hemisphere and on the
/// anticlockwise side in the southern.
pub fn barb(speed: f32, from: f64, south: bool) -> &'static Sprite {
    static CACHE: LazyLock<Vec<OnceLock<Sprite>>> = LazyLock::new(|| {
        (0..2 * SPEED_STEPS * DIRECTIONS)
            .map(|_| OnceLock::new())
            .collect()
    });
    let fives = fives(speed);
    let dir = direction_step(from);
    let slot = (usize::from(south) * SPEED_STEPS + fives) * DIRECTIONS + dir;
    CACHE[slot].get_or_init(|| draw_barb(BarbCount::from_fives(fives), step_bearing(dir), south))
}

/// An arrow `length` pixels long (clamped to [`MAX_ARROW`]), centred on its
/// station and pointing along screen bearing `to` (where the wind goes).
pub fn arrow(length: usize, to: f64) -> &'static Sprite {
    static CACHE: LazyLock<Vec<OnceLock<Sprite>>> = LazyLock::new(|| {
        (0..(MAX_ARROW + 1) * DIRECTIONS)
            .map(|_| OnceLock::new())
            .collect()
    });
    let length = length.min(MAX_ARROW);
    let dir = direction_step(to);
    CACHE[length * DIRECTIONS + dir].get_or_init(|| draw_arrow(length as f32, step_bearing(dir)))
}

/// Screen unit vector of a bearing (y grows downwards).
fn unit(bearing: f32) -> (f32, f32) {
    (bearing.sin(), -bearing.cos())
}

fn draw_barb(count: BarbCount, from: f32, south: bool) -> Sprite {
    let c = MAX_RADIUS as f32;
    let mut lines = PathBuilder::new();
    let mut fills = PathBuilder::new();
    if count.is_calm() {
        lines.push_circle(c, c, CALM_RADIUS);
        return rasterise(lines.finish(), None);
    }
    let d = unit(from);
    // Clockwise of the staff on screen is the bearing + 90°.
    let side = if south { -1.0 } else { 1.0 };
    let p = unit(from + std::f32::consts::FRAC_PI_2);
    let p = (side * p.0, side * p.1);
    let at = |s: f32| (c + s * d.0, c + s * d.1);
    let feather = |len: f32| {
        (
            len * (FEATHER_DIR.0 * p.0 + FEATHER_DIR.1 * d.0),
            len * (FEATHER_DIR.0 * p.1 + FEATHER_DIR.1 * d.1),
        )
    };
    let (tip_x, tip_y) = at(STAFF);
    lines.move_to(c, c);
    lines.line_to(tip_x, tip_y);
    let mut s = STAFF;
    for _ in 0..count.pennants {
        let (ax, ay) = at(s);
        let (bx, by) = at(s - PENNANT_BASE);
        let f = feather(FEATHER);
        fills.move_to(ax, ay);
        fills.line_to(ax + f.0, ay + f.1);
        fills.line_to(bx, by);
        fills.close();
        s -= PENNANT_BASE + 1.0;
    }
    if count.pennants > 0 && (count.full > 0 || count.half) {
        s -= 1.0;
    }
    for _ in 0..count.full {
        let (ax, ay) = at(s);
        let f = feather(FEATHER);
        lines.move_to(ax, ay);
        lines.line_to(ax + f.0, ay + f.1);
        s -= FEATHER_GAP;
    }
    if count.half {
        // A lone half barb sits one step in from the tip, so it cannot be
        // read as a full barb.
        if count.pennants == 0 && count.full == 0 {
            s -= FEATHER_GAP;
        }
        let (ax, ay) = at(s);
        let f = feather(FEATHER / 2.0);
        lines.move_to(ax, ay);
        lines.line_to(ax + f.0, ay + f.1);
    }
    rasterise(lines.finish(), fills.finish())
}

fn draw_arrow(length: f32, to: f32) -> Sprite {
    let c = MAX_RADIUS as f32;
    let d = unit(to);
    let p = (-d.1, d.0);
    let half = length / 2.0;
    let (tail, tip) = (
        (c - half * d.0, c - half * d.1),
        (c + half * d.0, c + half * d.1),
    );
    let head = (length * 0.35).clamp(3.0, 7.0);
    let mut lines = PathBuilder::new();
    lines.move_to(tail.0, tail.1);
    lines.line_to(tip.0 - head * 0.5 * d.0, tip.1 - head * 0.5 * d.1);
    let mut fills = PathBuilder::new();
    fills.move_to(tip.0, tip.1);
    let base = (tip.0 - head * d.0, tip.1 - head * d.1);
    fills.line_to(base.0 + head * 0.45 * p.0, base.1 + head * 0.45 * p.1);
    fills.line_to(base.0 - head * 0.45 * p.0, base.1 - head * 0.45 * p.1);
    fills.close();
    rasterise(lines.finish(), fills.finish())
}

/// Rasterises stroked `lines` and filled `fills` into cropped ink and halo
/// masks.
fn rasterise(lines: Option<Path>, fills: Option<Path>) -> Sprite {
    let size = (2.0 * MAX_RADIUS) as u32 + 1;
    let draw = |width: f32| -> Pixmap {
        // `size` is a small non-zero constant.
        let mut pix = Pixmap::new(size, size).expect("sprite size is non-zero");
        let mut paint = Paint::default();
        paint.set_color_rgba8(0, 0, 0, 255);
        paint.anti_alias = true;
        let stroke = Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        for path in [&lines, &fills].into_iter().flatten() {
            pix.stroke_path(path, &paint, &stroke, Transform::identity(), None);
        }
        if let Some(f) = &fills {
            pix.fill_path(f, &paint, FillRule::Winding, Transform::identity(), None);
        }
        pix
    };
    let ink = Mask::from_pixmap(&draw(INK_WIDTH));
    let halo = Mask::from_pixmap(&draw(HALO_WIDTH));
    let (x0, y0, x1, y1) = coverage_box(&halo);
    let crop = |m: &Mask| Mask {
        width: x1 - x0,
        height: y1 - y0,
        alpha: (y0..y1)
            .flat_map(|y| m.alpha[y * m.width + x0..y * m.width + x1].iter().copied())
            .collect(),
    };
    let centre = MAX_RADIUS as i64;
    Sprite {
        ink: crop(&ink),
        halo: crop(&halo),
        anchor: (centre - x0 as i64, centre - y0 as i64),
    }
}

/// The smallest box (x0, y0, x1, y1), exclusive ends, holding all coverage.
fn coverage_box(m: &Mask) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (m.width, m.height, 0, 0);
    for y in 0..m.height {
        for x in 0..m.width {
            if m.alpha[y * m.width + x] > 0 {
                (x0, y0) = (x0.min(x), y0.min(y));
                (x1, y1) = (x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x1 == 0 {
        (0, 0, 0, 0)
    } else {
        (x0, y0, x1, y1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmo_rounding() {
        let c = |s| BarbCount::of(s);
        assert!(c(2.4).is_calm());
        assert_eq!(
            c(2.6),
            BarbCount {
                pennants: 0,
                full: 0,
                half: true
            }
        );
        assert_eq!(
            c(15.0),
            BarbCount {
                pennants: 0,
                full: 1,
                half: true
            }
        );
        assert_eq!(
            c(65.0),
            BarbCount {
                pennants: 1,
                full: 1,
                half: true
            }
        );
        assert_eq!(
            c(102.0),
            BarbCount {
                pennants: 2,
                full: 0,
                half: false
            }
        );
        assert_eq!(c(1000.0).pennants, 4, "capped at 200");
    }

    /// Ink coverage summed on each side of the staff's line through the
    /// station: (clockwise side, anticlockwise side).
    fn ink_by_side(s: &Sprite, from: f64) -> (u32, u32) {
        let d = (from.sin(), -from.cos());
        let (mut cw, mut acw) = (0, 0);
        for y in 0..s.ink.height {
            for x in 0..s.ink.width {
                let a = u32::from(s.ink.alpha[y * s.ink.width + x]);
                let (rx, ry) = (
                    (x as i64 - s.anchor.0) as f64 + 0.5,
                    (y as i64 - s.anchor.1) as f64 + 0.5,
                );
                // Screen y is down, so d × r > 0 is clockwise of d.
                let cross = d.0 * ry - d.1 * rx;
                if cross > 1.5 {
                    cw += a;
                } else if cross < -1.5 {
                    acw += a;
                }
            }
        }
        (cw, acw)
    }

    #[test]
    fn feathers_are_clockwise_in_the_north_and_anticlockwise_in_the_south() {
        for from in [0.0, 1.0, 3.5, 4.712] {
            let (cw, acw) = ink_by_side(barb(25.0, from, false), from);
            assert!(cw > 10 * acw.max(1), "north {from}: {cw} vs {acw}");
            let (cw, acw) = ink_by_side(barb(25.0, from, true), from);
            assert!(acw > 10 * cw.max(1), "south {from}: {cw} vs {acw}");
        }
    }

    #[test]
    fn a_westerly_staff_points_west_with_feathers_north() {
        let s = barb(10.0, 1.5 * PI, false);
        let (ax, ay) = s.anchor;
        let ink = |x: i64, y: i64| -> u8 {
            if x < 0 || y < 0 || x >= s.ink.width as i64 || y >= s.ink.height as i64 {
                0
            } else {
                s.ink.alpha[y as usize * s.ink.width + x as usize]
            }
        };
        assert!(
            ink(ax - 12, ay) > 100 && ink(ax - 12, ay - 1) < 255,
            "staff runs west"
        );
        assert_eq!(ink(ax + 6, ay), 0, "nothing east of the station");
        // The 10-unit barb at the tip rises to the north.
        let ink_in = |dy: std::ops::Range<i64>| -> u32 {
            dy.flat_map(|y| (ax - 30..ax - 18).map(move |x| (x, y)))
                .map(|(x, y)| u32::from(ink(x, ay + y)))
                .sum()
        };
        let (above, below) = (ink_in(-10..-2), ink_in(3..10));
        assert!(above > 500 && below == 0, "{above} {below}");
    }

    #[test]
    fn more_speed_more_ink_and_calm_is_a_ring() {
        let ink = |s: &Sprite| s.ink.alpha.iter().map(|&a| u32::from(a)).sum::<u32>();
        let (a, b, c) = (
            barb(5.0, 0.3, false),
            barb(50.0, 0.3, false),
            barb(100.0, 0.3, false),
        );
        assert!(ink(a) < ink(b) && ink(b) < ink(c));
        let calm = barb(0.0, 0.0, false);
        let (ax, ay) = calm.anchor;
        assert_eq!(
            calm.ink.alpha[ay as usize * calm.ink.width + ax as usize],
            0,
            "hollow"
        );
        assert!(calm.ink.width <= 2 * (CALM_RADIUS as usize + 4));
    }

    #[test]
    fn arrows_grow_with_length_and_point_downwind() {
        let a = arrow(10, PI / 2.0);
        let b = arrow(40, PI / 2.0);
        assert!(b.ink.width > a.ink.width + 25);
        // Pointing east: the head (filled) makes the east half heavier.
        let (ax, _) = b.anchor;
        let (mut east, mut west) = (0u32, 0u32);
        for (k, &v) in b.ink.alpha.iter().enumerate() {
            let x = (k % b.ink.width) as i64;
            if x > ax {
                east += u32::from(v)
            } else if x < ax {
                west += u32::from(v)
            }
        }
        assert!(east > west + 500, "{east} {west}");
    }
}
