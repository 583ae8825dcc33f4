//! The `filled_contours` style: every pixel takes the colour of the
//! contour band (between two consecutive levels) its value falls in.

use protocol::StyleSpec;
use protocol::style::Rgba;

const TRANSPARENT: Rgba = [0, 0, 0, 0];

/// One colour band: values in `[lo, hi)` (display units) are drawn in
/// `color`. Tests read the bands back with [`Bands::legend`]; the legend
/// image itself colours through [`Bands::index`].
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub lo: f32,
    pub hi: f32,
    pub color: Rgba,
}

/// The bands of a style and the value → palette index mapping.
///
/// Palette index 0 is transparent; 1..=count are the bands over the
/// style's range, lowest first; then the optional below-range and
/// above-range colours. Without those, values beyond the range clamp to
/// the end bands.
#[derive(Debug, Clone)]
pub struct Bands {
    pub palette: Vec<Rgba>,
    /// Band width, display units.
    pub interval: f32,
    /// Band `first` (values in `[first·interval, (first+1)·interval)`) is
    /// palette index 1.
    first: i64,
    count: usize,
    /// Display value = a·data + b.
    conversion: (f32, f32),
    /// Display values below this are transparent.
    transparent_below: f32,
    below_index: u8,
    above_index: u8,
    /// Missing points on the grid: 0, or the style's no-data colour.
    pub(crate) no_data_index: u8,
}

impl Bands {
    /// The bands of `style`, at multiples of [`super::effective_interval`].
    pub fn new(style: &StyleSpec) -> Self {
        let interval = super::effective_interval(style);
        let (lo, hi) = ordered(style.range);
        let first = (lo / interval).floor() as i64;
        // The band holding `hi`, unless `hi` is exactly its lower level.
        let last = ((hi / interval).ceil() as i64 - 1).max(first);
        let count = ((last - first + 1) as usize).min(super::MAX_LEVELS + 2);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut palette = Vec::with_capacity(count + 3);
        palette.push(TRANSPARENT);
        for k in 0..count {
            // The colour at the band's middle, relative to the range.
            let mid = ((first + k as i64) as f32 + 0.5) * interval;
            palette.push(style.colormap.color_at((mid - lo) / span));
        }
        let crate::gradient::Extras {
            below_index,
            above_index,
            no_data_index,
        } = crate::gradient::extra_indices(&mut palette, style, count);
        Self {
            palette,
            interval,
            first,
            count,
            conversion: style.display_conversion(),
            transparent_below: style.transparent_below.unwrap_or(f32::NEG_INFINITY),
            below_index,
            above_index,
            no_data_index,
        }
    }

    /// The palette index of a data value.
    #[inline]
    pub fn index(&self, v: f32) -> u8 {
        let d = v * self.conversion.0 + self.conversion.1;
        if d.is_nan() || d < self.transparent_below {
            return 0;
        }
        // `as` saturates, so huge values land beyond the last band.
        let k = (d / self.interval).floor() as i64 - self.first;
        if k < 0 {
            self.below_index
        } else if k >= self.count as i64 {
            self.above_index
        } else {
            (k + 1) as u8
        }
    }

    /// The bands over the style's range, lowest first.
    #[cfg(test)]
    pub fn legend(&self) -> Vec<Band> {
        (0..self.count)
            .map(|k| {
                let n = (self.first + k as i64) as f32;
                Band {
                    lo: n * self.interval,
                    hi: (n + 1.0) * self.interval,
                    color: self.palette[k + 1],
                }
            })
            .collect()
    }
}

fn ordered((a, b): (f32, f32)) -> (f32, f32) {
    if a <= b { (a, b) } else { (b, a) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::style::{ColorMapName, StyleKind, Units};

    fn style() -> StyleSpec {
        StyleSpec::new(
            StyleKind::FilledContours,
            ColorMapName::Temperature,
            (-40.0, 45.0),
            Units::Kelvin,
            Units::Celsius,
        )
    }

    #[test]
    fn bands_follow_the_interval_in_display_units() {
        let b = Bands::new(&style());
        assert_eq!(b.interval, 5.0);
        assert_eq!(b.legend().len(), 17, "-40..45 in steps of 5");
        let k = |c: f32| b.index(c + 273.15);
        assert_eq!(k(-39.0), 1);
        assert_eq!(k(0.5), k(4.5));
        assert_ne!(k(-0.5), k(0.5));
        let band = b.legend()[usize::from(k(2.0)) - 1];
        assert_eq!((band.lo, band.hi), (0.0, 5.0));
        // The band 0..5 °C is coloured at 2.5 °C: t = 42.5/85.
        assert_eq!(
            b.palette[usize::from(k(2.0))],
            ColorMapName::Temperature.color_at(0.5)
        );
        assert_eq!(k(-100.0), 1, "clamped to the first band");
        assert_eq!(k(100.0), 17, "clamped to the last band");
        assert_eq!(b.index(f32::NAN), 0);
    }

    #[test]
    fn too_fine_an_interval_is_widened_and_thresholds_apply() {
        let mut s = style();
        s.contour_interval = Some(0.1); // 850 bands over the range
        s.transparent_below = Some(-20.0);
        s.above_max = Some([1, 2, 3, 255]);
        let b = Bands::new(&s);
        assert!(b.palette.len() <= 256);
        assert!((b.interval - 0.5).abs() < 1e-6, "{}", b.interval);
        assert_eq!(b.index(273.15 - 25.0), 0, "transparent below -20 °C");
        assert_eq!(
            b.palette[usize::from(b.index(273.15 + 60.0))],
            [1, 2, 3, 255]
        );
    }
}
