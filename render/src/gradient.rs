//! The `gradient` style: values → palette indices through a linear scale.
//!
//! Index 0 is transparent (no data, or below the transparency threshold);
//! 1..=RAMP_LEVELS are ramp colours; then the optional below-min, above-max
//! and no-data colours. At most 256 entries, so tiles are palette PNGs.

use protocol::StyleSpec;
use protocol::style::{Rgba, StyleKind};

/// Number of ramp colours in a continuous (unbanded) palette.
pub const RAMP_LEVELS: usize = 252;

const TRANSPARENT: Rgba = [0, 0, 0, 0];

/// A palette and the value → index mapping for one [`StyleSpec`].
#[derive(Debug, Clone)]
pub struct Gradient {
    pub palette: Vec<Rgba>,
    /// Data value → position on the ramp: `t = v·scale + offset`, 0..1.
    scale: f32,
    offset: f32,
    /// Number of ramp colours.
    levels: usize,
    /// Data values below this are transparent.
    transparent_below: f32,
    below_index: u8,
    above_index: u8,
    /// Missing points on the grid: 0, or the style's no-data colour.
    pub(crate) no_data_index: u8,
}

impl Gradient {
    /// Builds the palette for `spec`. Unconvertible units (e.g. a data unit
    /// we do not know) are drawn unconverted.
    pub fn new(spec: &StyleSpec) -> Self {
        let (a, b) = spec.display_conversion();
        let (lo, hi) = spec.range;
        let span = if hi > lo { hi - lo } else { 1.0 };
        let levels = spec
            .bands
            .map_or(RAMP_LEVELS, |n| usize::from(n).clamp(2, RAMP_LEVELS));
        let mut palette = Vec::with_capacity(levels + 3);
        palette.push(TRANSPARENT);
        for k in 0..levels {
            // Band k takes the colour at its centre when banded; a continuous
            // ramp spans both ends exactly.
            let t = if spec.bands.is_some() {
                (k as f32 + 0.5) / levels as f32
            } else {
                k as f32 / (levels - 1) as f32
            };
            // The square-root stretch bends the colours, not the values,
            // so the value → index scale stays linear.
            let t = if spec.kind == StyleKind::GradientSqrt {
                t.sqrt()
            } else {
                t
            };
            palette.push(spec.colormap.color_at(t));
        }
        let Extras {
            below_index,
            above_index,
            no_data_index,
        } = extra_indices(&mut palette, spec, levels);
        // value in display units d = a·v + b; t = (d − lo)/span
        let transparent_below = spec
            .transparent_below
            .map_or(f32::NEG_INFINITY, |d| (d - b) / a);
        Self {
            palette,
            scale: a / span,
            offset: (b - lo) / span,
            levels,
            transparent_below,
            below_index,
            above_index,
            no_data_index,
        }
    }

    /// The palette index for a data value.
    #[inline]
    pub fn index(&self, v: f32) -> u8 {
        if v.is_nan() || v < self.transparent_below {
            return 0;
        }
        let t = v * self.scale + self.offset;
        if t < 0.0 {
            self.below_index
        } else if t > 1.0 {
            self.above_index
        } else {
            // `as` saturates, and t ≤ 1 keeps the product ≤ levels.
            1 + ((t * self.levels as f32) as usize).min(self.levels - 1) as u8
        }
    }

    /// The colour a data value is drawn in.
    pub fn color(&self, v: f32) -> Rgba {
        self.palette[usize::from(self.index(v))]
    }
}

/// Palette indices beyond the ramp: out-of-range and missing values.
pub(crate) struct Extras {
    pub below_index: u8,
    pub above_index: u8,
    pub no_data_index: u8,
}

/// Appends the style's below-min, above-max and no-data colours to
/// `palette` and returns their indices; without them, values clamp to the
/// first ramp entry (1) or the last (`last`), and missing points are
/// transparent (0).
pub(crate) fn extra_indices(palette: &mut Vec<Rgba>, spec: &StyleSpec, last: usize) -> Extras {
    let mut extra = |c: Option<Rgba>, clamp_to: usize| -> u8 {
        match c {
            Some(c) => {
                palette.push(c);
                (palette.len() - 1) as u8
            }
            None => clamp_to as u8,
        }
    };
    Extras {
        below_index: extra(spec.below_min, 1),
        above_index: extra(spec.above_max, last),
        no_data_index: extra(spec.no_data, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::style::{ColorMapName, StyleKind, Units};

    fn spec() -> StyleSpec {
        StyleSpec::new(
            StyleKind::Gradient,
            ColorMapName::Temperature,
            (-40.0, 40.0),
            Units::Kelvin,
            Units::Celsius,
        )
    }

    #[test]
    fn ends_mid_and_missing() {
        let g = Gradient::new(&spec());
        assert!(g.palette.len() <= 256);
        assert_eq!(g.color(f32::NAN), [0, 0, 0, 0]);
        let c = ColorMapName::Temperature;
        assert_eq!(g.color(233.15), c.color_at(0.0));
        assert_eq!(g.color(313.15), c.color_at(1.0));
        assert_eq!(g.color(100.0), c.color_at(0.0), "clamped below");
        assert_eq!(g.color(400.0), c.color_at(1.0), "clamped above");
        // 0 °C sits mid-ramp: within one level of the ramp's midpoint.
        let mid = g.index(273.15) as f32 - 1.0;
        assert!((mid / (RAMP_LEVELS - 1) as f32 - 0.5).abs() <= 1.0 / RAMP_LEVELS as f32);
    }

    #[test]
    fn bands_out_of_range_colours_and_transparency() {
        let mut s = spec();
        s.bands = Some(4);
        s.above_max = Some([1, 2, 3, 255]);
        s.below_min = Some([4, 5, 6, 255]);
        s.transparent_below = Some(-50.0);
        let g = Gradient::new(&s);
        assert_eq!(g.palette.len(), 1 + 4 + 2);
        assert_eq!(g.color(273.15 + 41.0), [1, 2, 3, 255]);
        assert_eq!(g.color(273.15 - 41.0), [4, 5, 6, 255]);
        assert_eq!(g.color(273.15 - 60.0), [0, 0, 0, 0]);
        let band = |c: f32| g.index(273.15 + c);
        assert_eq!(band(-39.0), band(-21.0));
        assert_ne!(band(-21.0), band(-19.0));
        assert_eq!(
            g.color(273.15 - 30.0),
            ColorMapName::Temperature.color_at(0.125)
        );
    }

    #[test]
    fn no_data_colour_differs_from_below_threshold() {
        let mut s = spec();
        s.transparent_below = Some(-30.0);
        s.no_data = Some([150, 150, 150, 90]);
        let g = Gradient::new(&s);
        let tint = g.palette[usize::from(g.no_data_index)];
        assert_eq!(tint, [150, 150, 150, 90], "missing: tinted");
        assert_eq!(
            g.color(273.15 - 35.0),
            [0, 0, 0, 0],
            "below threshold: clear"
        );
        let index = g.index(273.15);
        assert!(index != 0 && index != g.no_data_index, "data: on the ramp");
    }
}
