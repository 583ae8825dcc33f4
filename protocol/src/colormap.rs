//! The named colour maps: model fields (temperature, precipitation, NWS
//! reflectivity, …) and satellite imagery (visible grey, enhanced IR,
//! water vapour), as colour stops over 0..=1.

use serde::{Deserialize, Serialize};

use crate::style::Rgba;

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
