//! How a field is drawn: [`StyleSpec`] (resolved per request), named colour
//! maps and unit conversion. Shared so legends and renders agree.

use serde::{Deserialize, Serialize};

pub use crate::colormap::ColorMapName;

/// An RGBA colour.
pub type Rgba = [u8; 4];

/// The drawing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StyleKind {
    /// Continuous (or banded) colour ramp; the speed of a wind layer.
    Gradient,
    /// Contour lines at a fixed interval, with value labels.
    Isolines,
    /// Colour bands between contour levels.
    FilledContours,
    /// WMO wind barbs from a (u, v) pair.
    WindBarbs,
    /// Arrows from a (u, v) pair, length scaled by speed.
    WindArrows,
    /// The gradient with a square-root stretch (colour at √t): visible
    /// satellite imagery, where it brightens dark surfaces and thin cloud.
    GradientSqrt,
}

impl StyleKind {
    /// Every style: first those any layer can be drawn in, then those that
    /// need a (u, v) pair.
    pub const ALL: [StyleKind; 6] = [
        Self::Gradient,
        Self::Isolines,
        Self::FilledContours,
        Self::WindBarbs,
        Self::WindArrows,
        Self::GradientSqrt,
    ];
    /// How many of [`Self::ALL`] any layer offers.
    const SCALAR_COUNT: usize = 3;

    pub fn name(self) -> &'static str {
        match self {
            Self::Gradient => "gradient",
            Self::Isolines => "isolines",
            Self::FilledContours => "filled_contours",
            Self::WindBarbs => "wind_barbs",
            Self::WindArrows => "wind_arrows",
            Self::GradientSqrt => "gradient_sqrt",
        }
    }

    /// A human title for capabilities documents.
    pub fn title(self) -> &'static str {
        match self {
            Self::Gradient => "Colour gradient",
            Self::Isolines => "Labelled contour lines",
            Self::FilledContours => "Filled contours",
            Self::WindBarbs => "Wind barbs (WMO)",
            Self::WindArrows => "Wind arrows scaled by speed",
            Self::GradientSqrt => "Colour gradient, square-root stretch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "default" {
            return Some(Self::Gradient);
        }
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The styles a layer offers: every scalar style, plus the symbol
    /// styles when it is a vector (u, v) layer. The first is the default.
    pub fn offered(vector: bool) -> &'static [StyleKind] {
        if vector {
            &Self::ALL[..5]
        } else {
            &Self::ALL[..Self::SCALAR_COUNT]
        }
    }

    /// The styles a layer drawn with `colormap` offers: [`Self::offered`],
    /// and the square-root stretch for visible imagery.
    pub fn offered_for(vector: bool, colormap: ColorMapName) -> &'static [StyleKind] {
        const VISIBLE: [StyleKind; 4] = [
            StyleKind::Gradient,
            StyleKind::GradientSqrt,
            StyleKind::Isolines,
            StyleKind::FilledContours,
        ];
        if colormap == ColorMapName::Visible && !vector {
            &VISIBLE
        } else {
            Self::offered(vector)
        }
    }
}

/// Default distance between wind symbols, in output pixels.
pub const DEFAULT_SYMBOL_SPACING: u16 = 40;

/// A fully resolved style: everything the renderer needs besides the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleSpec {
    pub kind: StyleKind,
    pub colormap: ColorMapName,
    /// Value range mapped onto the ramp, in `display_units`.
    pub range: (f32, f32),
    /// Units of the decoded data.
    pub data_units: Units,
    /// Units the range (and legends) are expressed in.
    pub display_units: Units,
    /// Discrete bands instead of a continuous ramp.
    pub bands: Option<u16>,
    /// Colour above the range; `None` clamps to the last ramp colour.
    pub above_max: Option<Rgba>,
    /// Colour below the range; `None` clamps to the first ramp colour.
    pub below_min: Option<Rgba>,
    /// Values below this (in display units) are transparent, e.g. light
    /// precipitation or reflectivity under 5 dBZ.
    pub transparent_below: Option<f32>,
    /// Colour of missing points (no data, e.g. outside radar coverage);
    /// `None` leaves them transparent.
    #[serde(default)]
    pub no_data: Option<Rgba>,
    /// Contour spacing in display units; `None` picks one from the units
    /// and range ([`default_contour_interval`]).
    #[serde(default)]
    pub contour_interval: Option<f32>,
    /// Wind symbols take their colour from the ramp at their speed.
    #[serde(default)]
    pub color_by_speed: bool,
    /// Distance between wind symbols, in output pixels.
    #[serde(default = "default_symbol_spacing")]
    pub symbol_spacing: u16,
}

fn default_symbol_spacing() -> u16 {
    DEFAULT_SYMBOL_SPACING
}

impl StyleSpec {
    /// A style with the given ramp and no bands, out-of-range colours or
    /// transparency threshold.
    pub fn new(
        kind: StyleKind,
        colormap: ColorMapName,
        range: (f32, f32),
        data_units: Units,
        display_units: Units,
    ) -> Self {
        Self {
            kind,
            colormap,
            range,
            data_units,
            display_units,
            bands: None,
            above_max: None,
            below_min: None,
            transparent_below: None,
            no_data: None,
            contour_interval: None,
            color_by_speed: false,
            symbol_spacing: DEFAULT_SYMBOL_SPACING,
        }
    }

    /// The contour spacing in display units.
    pub fn contour_interval(&self) -> f32 {
        self.contour_interval
            .unwrap_or_else(|| default_contour_interval(self.display_units, self.range))
    }

    /// `(a, b)` with display value = `a·data + b`; unconvertible units are
    /// shown as they are.
    pub fn display_conversion(&self) -> (f32, f32) {
        self.data_units
            .conversion_to(self.display_units)
            .unwrap_or((1.0, 0.0))
    }
}

/// The contour spacing forecasters expect for a unit (isobars every 4 hPa,
/// isotherms every 5 °C), else a round step giving about ten lines over
/// `range`.
pub fn default_contour_interval(units: Units, range: (f32, f32)) -> f32 {
    match units {
        Units::Hectopascal => 4.0,
        Units::Pascal => 400.0,
        Units::Celsius | Units::Kelvin => 5.0,
        Units::Fahrenheit => 10.0,
        Units::Knots => 10.0,
        Units::MetresPerSecond => 5.0,
        _ => nice_step((range.1 - range.0).abs() / 10.0),
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `x`.
pub fn nice_step(x: f32) -> f32 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    // Divide by 10^|e| for small steps so 0.05 is the nearest f32 to 0.05.
    let e = x.log10().floor() as i32;
    let p = 10f32.powi(e.abs());
    let scaled = |m: f32| if e >= 0 { m * p } else { m / p };
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(scaled)
        .find(|&s| s >= x * 0.999)
        .unwrap_or(scaled(10.0))
}

/// Physical units wxfarm converts between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Units {
    Kelvin,
    Celsius,
    Fahrenheit,
    MetresPerSecond,
    Knots,
    Pascal,
    Hectopascal,
    /// kg m⁻² s⁻¹, numerically mm/s of water.
    KgPerSquareMetrePerSecond,
    MillimetresPerHour,
    /// Radar reflectivity, dBZ.
    Dbz,
    /// Per cent (relative humidity).
    Percent,
    /// m² s⁻¹ (e.g. ventilation rate).
    SquareMetresPerSecond,
    /// Anything else: no conversion is possible.
    Other,
}

impl Units {
    /// Parses the spellings found in GRIB tables and requests.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "K" | "kelvin" => Self::Kelvin,
            "C" | "degC" | "°C" | "celsius" => Self::Celsius,
            "F" | "degF" | "°F" | "fahrenheit" => Self::Fahrenheit,
            "m/s" | "m s-1" | "m s**-1" | "ms-1" => Self::MetresPerSecond,
            "kt" | "kts" | "knots" => Self::Knots,
            "Pa" => Self::Pascal,
            "hPa" | "mb" => Self::Hectopascal,
            "kg m-2 s-1" | "kg/m^2/s" | "kg m**-2 s**-1" => Self::KgPerSquareMetrePerSecond,
            "mm/h" | "mm/hr" => Self::MillimetresPerHour,
            "dBZ" | "dbz" | "dBz" => Self::Dbz,
            "%" | "percent" => Self::Percent,
            "m2 s-1" | "m2/s" | "m^2/s" | "m**2 s**-1" => Self::SquareMetresPerSecond,
            _ => return None,
        })
    }

    /// The symbol shown in legends and feature info.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Kelvin => "K",
            Self::Celsius => "°C",
            Self::Fahrenheit => "°F",
            Self::MetresPerSecond => "m/s",
            Self::Knots => "kt",
            Self::Pascal => "Pa",
            Self::Hectopascal => "hPa",
            Self::KgPerSquareMetrePerSecond => "kg m⁻² s⁻¹",
            Self::MillimetresPerHour => "mm/h",
            Self::Dbz => "dBZ",
            Self::Percent => "%",
            Self::SquareMetresPerSecond => "m²/s",
            Self::Other => "",
        }
    }

    /// The linear map `v ↦ a·v + b` from `self` to `to`, or `None` when the
    /// two measure different quantities.
    pub fn conversion_to(self, to: Units) -> Option<(f32, f32)> {
        use Units::*;
        if self == to {
            return Some((1.0, 0.0));
        }
        // Every quantity goes through its SI base unit.
        let to_base = |u: Units| -> Option<(u8, f64, f64)> {
            Some(match u {
                Kelvin => (0, 1.0, 0.0),
                Celsius => (0, 1.0, 273.15),
                Fahrenheit => (0, 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
                MetresPerSecond => (1, 1.0, 0.0),
                Knots => (1, 1852.0 / 3600.0, 0.0),
                Pascal => (2, 1.0, 0.0),
                Hectopascal => (2, 100.0, 0.0),
                KgPerSquareMetrePerSecond => (3, 1.0, 0.0),
                MillimetresPerHour => (3, 1.0 / 3600.0, 0.0),
                Dbz => (4, 1.0, 0.0),
                Percent => (5, 1.0, 0.0),
                SquareMetresPerSecond => (6, 1.0, 0.0),
                Other => return None,
            })
        };
        let (qa, a1, b1) = to_base(self)?;
        let (qb, a2, b2) = to_base(to)?;
        if qa != qb {
            return None;
        }
        // base = a1·v + b1; out = (base − b2) / a2
        Some(((a1 / a2) as f32, ((b1 - b2) / a2) as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_conversions() {
        let (a, b) = Units::Kelvin.conversion_to(Units::Celsius).unwrap();
        assert!((a * 273.15 + b).abs() < 1e-4);
        let (a, b) = Units::Kelvin.conversion_to(Units::Fahrenheit).unwrap();
        assert!((a * 373.15 + b - 212.0).abs() < 1e-3);
        let (a, b) = Units::MetresPerSecond.conversion_to(Units::Knots).unwrap();
        assert!((a * 10.0 + b - 19.4384).abs() < 1e-3);
        let (a, _) = Units::KgPerSquareMetrePerSecond
            .conversion_to(Units::MillimetresPerHour)
            .unwrap();
        assert!((a - 3600.0).abs() < 1e-3);
        assert!(Units::Kelvin.conversion_to(Units::Knots).is_none());
        assert!(Units::Other.conversion_to(Units::Kelvin).is_none());
        // Radar, humidity and rates have units of their own, convertible
        // only to themselves.
        for (text, unit) in [
            ("dBZ", Units::Dbz),
            ("%", Units::Percent),
            ("m2 s-1", Units::SquareMetresPerSecond),
        ] {
            assert_eq!(Units::parse(text), Some(unit));
            assert_eq!(unit.conversion_to(unit), Some((1.0, 0.0)));
            assert!(unit.conversion_to(Units::Knots).is_none());
        }
    }

    #[test]
    fn style_names_round_trip_and_offers_depend_on_vector() {
        for k in StyleKind::ALL {
            assert_eq!(StyleKind::parse(k.name()), Some(k));
        }
        assert_eq!(StyleKind::parse("default"), Some(StyleKind::Gradient));
        assert_eq!(StyleKind::parse("barbs"), None);
        assert!(!StyleKind::offered(false).contains(&StyleKind::WindBarbs));
        assert_eq!(StyleKind::offered(true)[0], StyleKind::Gradient);
        assert!(StyleKind::offered(true).contains(&StyleKind::WindArrows));
    }

    #[test]
    fn contour_intervals() {
        assert_eq!(
            default_contour_interval(Units::Hectopascal, (950.0, 1050.0)),
            4.0
        );
        assert_eq!(default_contour_interval(Units::Other, (0.0, 100.0)), 10.0);
        assert_eq!(default_contour_interval(Units::Other, (0.0, 0.3)), 0.05);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn ramps_hit_their_stops_and_interpolate() {
        for cmap in ColorMapName::ALL {
            let stops = cmap.stops();
            assert_eq!(stops[0].0, 0.0);
            assert_eq!(stops[stops.len() - 1].0, 1.0);
            for &(p, c) in stops {
                assert_eq!(cmap.color_at(p), c, "{}", cmap.name());
            }
            assert_eq!(ColorMapName::parse(cmap.name()), Some(cmap));
        }
        // Linear between stops: halfway from 0.2 to 0.4.
        let mid = ColorMapName::Pressure.color_at(0.3);
        assert_eq!(mid, [55, 140, 200, 255]);
    }
}
