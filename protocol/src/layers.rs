//! The layer catalogue: how GRIB messages become named layers with default
//! styles. A TOML file the user can extend; wxfarm ships `protocol/layers.toml`
//! and merges the user's file over it.

use serde::{Deserialize, Serialize};

use crate::catalog::LayerKind;
use crate::style::{ColorMapName, Units};
use crate::tms::TileMatrixSetId;

/// The shipped catalogue.
pub const DEFAULT_LAYERS_TOML: &str = include_str!("../layers.toml");

/// Names a model from a message's section 1 (and discipline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRule {
    /// Layer-name prefix, e.g. `gfs`.
    pub name: String,
    /// Originating centre (code table C-11).
    pub centre: u16,
    /// Generating process identifiers (section 4); empty matches any.
    #[serde(default)]
    pub processes: Vec<u8>,
    /// Discipline, when the model is told apart by it (MRMS uses 209).
    pub discipline: Option<u8>,
    /// Grid definition template, when that tells models apart.
    pub grid_template: Option<u16>,
    #[serde(default = "default_kind")]
    pub kind: LayerKind,
    /// Valid times of a complete run, by cycle (`"00"`…`"23"`) or
    /// `"default"` (e.g. HRRR: `{ default = 19, "00" = 49, … }`). Without
    /// it, a run is complete once it has as many as the previous run of
    /// its cycle.
    #[serde(default)]
    pub expected_valid_times: std::collections::BTreeMap<String, u32>,
}

fn default_kind() -> LayerKind {
    LayerKind::Model
}

/// Names and styles a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterRule {
    pub discipline: u8,
    pub category: u8,
    pub number: u8,
    pub short_name: String,
    pub long_name: String,
    /// Units of the stored data, as text (`K`).
    pub units: String,
    pub colormap: ColorMapName,
    /// Default ramp range, in `display_units`.
    pub range: (f32, f32),
    /// Display units; defaults to the data's.
    pub display_units: Option<String>,
    pub transparent_below: Option<f32>,
    /// Colour (RGBA) of missing points, e.g. outside radar coverage, so
    /// "no data" reads differently from "nothing there".
    #[serde(default)]
    pub no_data_color: Option<crate::style::Rgba>,
}

/// Names a level (GRIB code table 4.5 type, and value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelRule {
    pub type_code: u8,
    /// The level value in the type's SI unit; `None` matches any value.
    pub value: Option<f64>,
    /// Layer-name suffix, e.g. `2m`, `msl`, `isbl`.
    pub suffix: String,
    /// Readable text; `{value}` is replaced by the level value.
    pub label: String,
    /// When set, values become the `elevation` dimension, divided by this
    /// factor (e.g. Pa → hPa: 100) and labelled with `elevation_units`.
    pub elevation_divisor: Option<f64>,
    pub elevation_units: Option<String>,
    /// Restricts the rule to one discipline (MRMS levels differ in meaning).
    pub discipline: Option<u8>,
}

/// What to warm when a field of matching layers arrives (the static
/// pyramid). The first rule whose pattern matches a layer applies; a
/// user's rules come before the shipped ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmRule {
    /// Layer names: exact, or a prefix ending in `*` (`gfs_*`, `*`).
    pub layers: String,
    /// Zoom levels, lowest and highest, inclusive (`[0, 3]`).
    pub zooms: (u8, u8),
    /// Styles to warm, each in its default options (empty: warm nothing).
    #[serde(default = "default_warm_styles")]
    pub styles: Vec<String>,
    /// Tile matrix sets to warm.
    #[serde(default = "default_warm_tms")]
    pub tms: Vec<TileMatrixSetId>,
}

fn default_warm_styles() -> Vec<String> {
    vec!["gradient".to_owned()]
}

fn default_warm_tms() -> Vec<TileMatrixSetId> {
    vec![TileMatrixSetId::WebMercatorQuad]
}

impl WarmRule {
    /// Whether this rule covers `layer`.
    pub fn matches(&self, layer: &str) -> bool {
        match self.layers.strip_suffix('*') {
            Some(prefix) => layer.starts_with(prefix),
            None => self.layers == layer,
        }
    }
}

/// Names a satellite by the `platform_ID` of its products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatelliteRule {
    /// `platform_ID`, e.g. `G16`.
    pub platform: String,
    /// Layer-name prefix, e.g. `goes16`.
    pub name: String,
    /// As in titles, e.g. `GOES-16`.
    pub title: String,
}

/// Names and styles one imager band (ABI bands 1–16). Layers are
/// `<satellite>_<short_name>_<sector>`, e.g. `goes16_C13_conus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandRule {
    pub band: u8,
    /// E.g. `C13`.
    pub short_name: String,
    /// E.g. `clean longwave IR`.
    pub long_name: String,
    /// Units of the decoded data: `K` (brightness temperature) or `1`
    /// (reflectance factor).
    pub units: String,
    pub display_units: Option<String>,
    pub colormap: ColorMapName,
    /// Default ramp range, in display units.
    pub range: (f32, f32),
}

impl BandRule {
    /// Display units, parsed; the data's units when unset or unknown.
    pub fn display_units(&self) -> Units {
        self.display_units
            .as_deref()
            .and_then(Units::parse)
            .unwrap_or_else(|| Units::parse(&self.units).unwrap_or(Units::Other))
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerCatalogue {
    #[serde(default, rename = "model")]
    pub models: Vec<ModelRule>,
    #[serde(default, rename = "parameter")]
    pub parameters: Vec<ParameterRule>,
    #[serde(default, rename = "level")]
    pub levels: Vec<LevelRule>,
    #[serde(default, rename = "warm")]
    pub warm: Vec<WarmRule>,
    #[serde(default, rename = "satellite")]
    pub satellites: Vec<SatelliteRule>,
    #[serde(default, rename = "band")]
    pub bands: Vec<BandRule>,
}

/// A catalogue file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("layer catalogue: {0}")]
pub struct LayerCatalogueError(#[from] toml::de::Error);

impl LayerCatalogue {
    /// The shipped catalogue.
    pub fn builtin() -> Self {
        // The shipped file is tested to parse (see tests below).
        Self::parse(DEFAULT_LAYERS_TOML).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<Self, LayerCatalogueError> {
        Ok(toml::from_str(text)?)
    }

    /// Adds `other`'s rules in front of this catalogue's, so they win.
    pub fn merge_over(&mut self, other: LayerCatalogue) {
        let mut models = other.models;
        models.append(&mut self.models);
        self.models = models;
        let mut params = other.parameters;
        params.append(&mut self.parameters);
        self.parameters = params;
        let mut levels = other.levels;
        levels.append(&mut self.levels);
        self.levels = levels;
        let mut warm = other.warm;
        warm.append(&mut self.warm);
        self.warm = warm;
        let mut satellites = other.satellites;
        satellites.append(&mut self.satellites);
        self.satellites = satellites;
        let mut bands = other.bands;
        bands.append(&mut self.bands);
        self.bands = bands;
    }

    /// The satellite rule for a `platform_ID`, if any.
    pub fn satellite(&self, platform: &str) -> Option<&SatelliteRule> {
        self.satellites.iter().find(|s| s.platform == platform)
    }

    /// The rule for imager band `band`, if any.
    pub fn band(&self, band: u8) -> Option<&BandRule> {
        self.bands.iter().find(|b| b.band == band)
    }

    /// The warm rule for `layer`: the first that matches.
    pub fn warm_rule(&self, layer: &str) -> Option<&WarmRule> {
        self.warm.iter().find(|r| r.matches(layer))
    }

    /// The first model rule matching, if any.
    pub fn model(
        &self,
        centre: u16,
        process: u8,
        discipline: u8,
        grid_template: u16,
    ) -> Option<&ModelRule> {
        self.models.iter().find(|m| {
            m.centre == centre
                && (m.processes.is_empty() || m.processes.contains(&process))
                && m.discipline.is_none_or(|d| d == discipline)
                && m.grid_template.is_none_or(|t| t == grid_template)
        })
    }

    pub fn parameter(&self, discipline: u8, category: u8, number: u8) -> Option<&ParameterRule> {
        self.parameters
            .iter()
            .find(|p| p.discipline == discipline && p.category == category && p.number == number)
    }

    pub fn level(&self, discipline: u8, type_code: u8, value: Option<f64>) -> Option<&LevelRule> {
        self.levels.iter().find(|l| {
            l.type_code == type_code
                && l.discipline.is_none_or(|d| d == discipline)
                && match (l.value, value) {
                    (None, _) => true,
                    (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                    (Some(_), None) => false,
                }
        })
    }
}

impl ParameterRule {
    /// Display units, parsed; the data's units when unset or unknown.
    pub fn display_units(&self) -> Units {
        self.display_units
            .as_deref()
            .and_then(Units::parse)
            .unwrap_or_else(|| Units::parse(&self.units).unwrap_or(Units::Other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_parses_and_knows_temperature() {
        let c = LayerCatalogue::parse(DEFAULT_LAYERS_TOML).expect("protocol/layers.toml parses");
        let t = c.parameter(0, 0, 0).expect("TMP");
        assert_eq!(t.short_name, "TMP");
        assert_eq!(t.display_units(), Units::Celsius);
        assert_eq!(
            c.level(0, 103, Some(2.0)).map(|l| l.suffix.as_str()),
            Some("2m")
        );
    }

    #[test]
    fn warm_rules_match_by_name_or_prefix_and_user_rules_come_first() {
        let mut c = LayerCatalogue::builtin();
        let all = c
            .warm_rule("gfs_TMP_2m")
            .expect("a shipped rule for every layer");
        assert_eq!(all.zooms, (0, 3));
        assert_eq!(all.styles, ["gradient"]);
        assert_eq!(all.tms, [TileMatrixSetId::WebMercatorQuad]);
        let user = LayerCatalogue::parse(
            r#"[[warm]]
layers = "gfs_*"
zooms = [0, 5]
styles = ["gradient", "isolines"]
tms = ["WebMercatorQuad", "WorldCRS84Quad"]

[[warm]]
layers = "mrms_REFL"
zooms = [0, 1]
styles = []
"#,
        )
        .expect("parses");
        c.merge_over(user);
        let gfs = c.warm_rule("gfs_PRMSL_msl").expect("gfs rule");
        assert_eq!(gfs.zooms, (0, 5));
        assert_eq!(gfs.tms.len(), 2);
        assert!(
            c.warm_rule("mrms_REFL")
                .expect("radar rule")
                .styles
                .is_empty()
        );
        // Not a prefix rule: another radar layer falls through to the shipped one.
        assert_eq!(c.warm_rule("mrms_REFL_1km").expect("shipped").zooms, (0, 3));
    }

    #[test]
    fn user_rules_win() {
        let mut c = LayerCatalogue::builtin();
        let user = LayerCatalogue::parse(
            r#"[[parameter]]
discipline = 0
category = 0
number = 0
short_name = "T"
long_name = "Air temperature"
units = "K"
colormap = "generic"
range = [200.0, 320.0]
"#,
        )
        .unwrap();
        c.merge_over(user);
        assert_eq!(c.parameter(0, 0, 0).unwrap().short_name, "T");
    }
}
