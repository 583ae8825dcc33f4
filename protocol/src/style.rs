//! How a field is drawn: [`StyleSpec`] (resolved per request), named colour
//! maps and unit conversion. Shared so legends and renders agree.

use serde::{Deserialize, Serialize};

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

/// The named colour maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMapName {
    Temperature,
    Precipitation,
    /// NWS radar reflectivity.
    Reflectivity,
    Pressure,
    Wind,
    Humidity,
    /// Perceptually uniform default (viridis-like).
    Generic,
    /// Signed quantities centred on zero (wind components, anomalies):
    /// blue below, white at the middle of the range, red above.
    Diverging,
    /// Visible and near-IR imagery: black to white.
    Visible,
    /// Infrared imagery, enhanced: grey from warm (dark) to cool (light),
    /// colours for cold cloud tops (below about −30 °C over −90..50 °C).
    EnhancedIr,
    /// Water-vapour imagery (ABI bands 8–10): moist (cold) white, green
    /// and blue, dry (warm) grey to brown.
    WaterVapor,
}

impl ColorMapName {
    pub const ALL: [ColorMapName; 11] = [
        Self::Temperature,
        Self::Precipitation,
        Self::Reflectivity,
        Self::Pressure,
        Self::Wind,
        Self::Humidity,
        Self::Generic,
        Self::Diverging,
        Self::Visible,
        Self::EnhancedIr,
        Self::WaterVapor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Temperature => "temperature",
            Self::Precipitation => "precipitation",
            Self::Reflectivity => "reflectivity",
            Self::Pressure => "pressure",
            Self::Wind => "wind",
            Self::Humidity => "humidity",
            Self::Generic => "generic",
            Self::Diverging => "diverging",
            Self::Visible => "visible",
            Self::EnhancedIr => "enhanced_ir",
            Self::WaterVapor => "water_vapor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Colour stops as (position in 0..=1, colour), ascending.
    pub fn stops(self) -> &'static [(f32, Rgba)] {
        match self {
            Self::Temperature => &[
                (0.00, [145, 0, 161, 255]),
                (0.15, [60, 40, 200, 255]),
                (0.30, [40, 130, 240, 255]),
                (0.45, [90, 220, 230, 255]),
                (0.55, [120, 210, 90, 255]),
                (0.70, [250, 230, 60, 255]),
                (0.85, [245, 120, 30, 255]),
                (1.00, [180, 10, 30, 255]),
            ],
            // Stops crowd at the low end (over 0-20 mm/h: 0.4, 1, 2.4, 5
            // and 9 mm/h), where most rain is: light rain is a visible
            // blue, not a near-white wash.
            Self::Precipitation => &[
                (0.00, [200, 235, 255, 255]),
                (0.02, [80, 170, 250, 255]),
                (0.05, [20, 90, 220, 255]),
                (0.12, [40, 180, 60, 255]),
                (0.25, [250, 220, 40, 255]),
                (0.45, [240, 80, 30, 255]),
                (1.00, [170, 0, 170, 255]),
            ],
            // NWS reflectivity steps over 5..75 dBZ (the default range).
            Self::Reflectivity => &[
                (0.000, [4, 233, 231, 255]),
                (0.071, [1, 159, 244, 255]),
                (0.143, [3, 0, 244, 255]),
                (0.214, [2, 253, 2, 255]),
                (0.286, [1, 197, 1, 255]),
                (0.357, [0, 142, 0, 255]),
                (0.429, [253, 248, 2, 255]),
                (0.500, [229, 188, 0, 255]),
                (0.571, [253, 149, 0, 255]),
                (0.643, [253, 0, 0, 255]),
                (0.714, [212, 0, 0, 255]),
                (0.786, [188, 0, 0, 255]),
                (0.857, [248, 0, 253, 255]),
                (0.929, [152, 84, 198, 255]),
                (1.000, [253, 253, 253, 255]),
            ],
            // Multi-hue: the common pressures mid-range are colours, not
            // the near-white of a diverging ramp.
            Self::Pressure => &[
                (0.0, [70, 30, 140, 255]),
                (0.2, [50, 100, 200, 255]),
                (0.4, [60, 180, 200, 255]),
                (0.5, [120, 200, 120, 255]),
                (0.6, [230, 220, 100, 255]),
                (0.8, [240, 140, 60, 255]),
                (1.0, [170, 40, 40, 255]),
            ],
            Self::Wind => &[
                (0.0, [230, 245, 250, 255]),
                (0.25, [100, 200, 230, 255]),
                (0.5, [60, 180, 80, 255]),
                (0.75, [240, 200, 40, 255]),
                (1.0, [200, 30, 90, 255]),
            ],
            Self::Humidity => &[
                (0.0, [150, 90, 40, 255]),
                (0.5, [240, 240, 200, 255]),
                (1.0, [20, 110, 60, 255]),
            ],
            Self::Generic => &[
                (0.00, [68, 1, 84, 255]),
                (0.25, [59, 82, 139, 255]),
                (0.50, [33, 145, 140, 255]),
                (0.75, [94, 201, 98, 255]),
                (1.00, [253, 231, 37, 255]),
            ],
            Self::Diverging => &[
                (0.00, [5, 48, 97, 255]),
                (0.25, [67, 147, 195, 255]),
                (0.50, [247, 247, 247, 255]),
                (0.75, [214, 96, 77, 255]),
                (1.00, [103, 0, 31, 255]),
            ],
            Self::Visible => &[(0.0, [0, 0, 0, 255]), (1.0, [255, 255, 255, 255])],
            // Over −90..50 °C: 10 °C steps of colour down from −30 °C,
            // then grey, light for cool and dark for warm.
            Self::EnhancedIr => &[
                (0.0, [255, 255, 255, 255]),
                (1.0 / 14.0, [150, 50, 190, 255]),
                (2.0 / 14.0, [220, 20, 30, 255]),
                (3.0 / 14.0, [250, 220, 40, 255]),
                (4.0 / 14.0, [40, 180, 60, 255]),
                (5.0 / 14.0, [30, 90, 220, 255]),
                (6.0 / 14.0, [120, 200, 240, 255]),
                (6.0 / 14.0 + 1e-3, [215, 215, 215, 255]),
                (1.0, [20, 20, 20, 255]),
            ],
            // Over −80..0 °C.
            Self::WaterVapor => &[
                (0.0, [255, 255, 255, 255]),
                (0.2, [80, 180, 80, 255]),
                (0.4, [40, 90, 200, 255]),
                (0.55, [200, 205, 225, 255]),
                (0.75, [110, 110, 110, 255]),
                (1.0, [150, 80, 20, 255]),
            ],
        }
    }

    /// The ramp colour at position `t` in 0..=1 (linear between stops).
    pub fn color_at(self, t: f32) -> Rgba {
        let stops = self.stops();
        let t = t.clamp(0.0, 1.0);
        let i = stops
            .iter()
            .position(|&(p, _)| p >= t)
            .unwrap_or(stops.len() - 1);
        if i == 0 {
            return stops[0].1;
        }
        let (p0, c0) = stops[i - 1];
        let (p1, c1) = stops[i];
        let f = if p1 > p0 { (t - p0) / (p1 - p0) } else { 0.0 };
        let mut out = [0u8; 4];
        for k in 0..4 {
            out[k] = (f32::from(c0[k]) + f * (f32::from(c1[k]) - f32::from(c0[k]))).round() as u8;
        }
        out
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
