//! From a GRIB field's codes to a layer: name, title, units and default
//! style, through the layer catalogue (`protocol/layers.toml`).

use decode::FieldIndex;
use protocol::catalog::{LayerInfo, LayerKind, Level, Parameter};
use protocol::layers::LayerCatalogue;
use protocol::style::{ColorMapName, Units};

/// What the catalogue says about one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// The model (or observing system) name, as in the layer name.
    pub model: String,
    pub info: LayerInfo,
    pub parameter: Parameter,
    pub level: Level,
    pub elevation: Option<String>,
}

/// Names `field`. Unknown models, parameters and levels still get a layer
/// (named by their codes, drawn with the generic ramp).
pub fn name_field(catalogue: &LayerCatalogue, field: &FieldIndex) -> Named {
    let model = catalogue.model(
        field.centre,
        field.process,
        field.discipline,
        field.grid_template,
    );
    let (model_name, kind) = model.map_or_else(
        || (format!("c{}", field.centre), LayerKind::Model),
        |m| (m.name.clone(), m.kind),
    );

    let rule = catalogue.parameter(field.discipline, field.category, field.number);
    let parameter = match rule {
        Some(r) => Parameter {
            discipline: field.discipline,
            category: field.category,
            number: field.number,
            short_name: r.short_name.clone(),
            long_name: r.long_name.clone(),
            units: r.units.clone(),
        },
        None => Parameter {
            discipline: field.discipline,
            category: field.category,
            number: field.number,
            short_name: format!("D{}C{}P{}", field.discipline, field.category, field.number),
            long_name: format!(
                "Parameter {}.{}.{}",
                field.discipline, field.category, field.number
            ),
            units: String::new(),
        },
    };

    let level_rule = catalogue.level(field.discipline, field.level_type, field.level_value);
    let value_text = field.level_value.map(format_number).unwrap_or_default();
    let (suffix, label, elevation, elevation_units) = match level_rule {
        Some(l) => {
            let elevation = l
                .elevation_divisor
                .zip(field.level_value)
                .map(|(d, v)| format_number(v / d));
            (
                l.suffix.clone(),
                l.label.replace("{value}", &value_text),
                elevation,
                l.elevation_units.clone(),
            )
        }
        None => {
            let suffix = match field.level_value {
                Some(v) => format!(
                    "L{}_{}",
                    field.level_type,
                    format_number(v).replace(['.', '-'], "_")
                ),
                None => format!("L{}", field.level_type),
            };
            (
                suffix,
                format!("level type {} {}", field.level_type, value_text)
                    .trim_end()
                    .to_owned(),
                None,
                None,
            )
        }
    };
    let level = Level {
        type_code: field.level_type,
        value: field.level_value,
        label: label.clone(),
    };

    let name = sanitize(&if suffix.is_empty() {
        format!("{model_name}_{}", parameter.short_name)
    } else {
        format!("{model_name}_{}_{suffix}", parameter.short_name)
    });
    let units = rule
        .and_then(|r| Units::parse(&r.units))
        .unwrap_or(Units::Other);
    let display_units = rule.map_or(units, |r| r.display_units());
    let info = LayerInfo {
        name,
        title: title(
            &parameter.long_name,
            elevation.is_none().then_some(label.as_str()),
            &model_name,
        ),
        kind,
        units,
        display_units,
        colormap: rule.map_or(ColorMapName::Generic, |r| r.colormap),
        range: rule
            .map(|r| r.range)
            .or_else(|| field.packed_range.map(|(a, b)| (a as f32, b as f32)))
            .filter(|(a, b)| b > a)
            .unwrap_or((0.0, 1.0)),
        transparent_below: rule.and_then(|r| r.transparent_below),
        no_data_color: rule.and_then(|r| r.no_data_color),
        elevation_units,
        pair: None,
        expected_valid_times: model
            .map(|m| m.expected_valid_times.clone())
            .unwrap_or_default(),
    };
    Named {
        model: model_name,
        info,
        parameter,
        level,
        elevation,
    }
}

/// `2.0` → `2`, `0.5` → `0.5`.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Layer names are identifiers: letters, digits and `_` only, so they are
/// safe in URLs, cache keys and NATS subjects.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Vector quantities stored as two scalar fields: (u codes, v codes, short
/// name, long name).
type VectorPair = ((u8, u8, u8), (u8, u8, u8), &'static str, &'static str);
const VECTOR_PAIRS: [VectorPair; 1] = [((0, 2, 2), (0, 2, 3), "WIND", "Wind")];

/// For a u-component field, the vector layer it anchors (`gfs_WIND_10m`
/// for `gfs_UGRD_10m`), pointing at the v layer by name. Its fields are the
/// u fields; the gateway finds the matching v field when it plans a render.
pub fn vector_layer(
    catalogue: &LayerCatalogue,
    field: &FieldIndex,
    u: &Named,
) -> Option<LayerInfo> {
    let codes = (field.discipline, field.category, field.number);
    let (_, (vd, vc, vn), short, title) = VECTOR_PAIRS
        .iter()
        .find(|(u_codes, ..)| *u_codes == codes)?;
    let v_field = FieldIndex {
        discipline: *vd,
        category: *vc,
        number: *vn,
        ..field.clone()
    };
    let v = name_field(catalogue, &v_field);
    let name = u.info.name.replacen(
        &format!("_{}", u.parameter.short_name),
        &format!("_{short}"),
        1,
    );
    Some(LayerInfo {
        name,
        title: u.info.title.replacen(&u.parameter.long_name, title, 1),
        display_units: Units::Knots,
        colormap: ColorMapName::Wind,
        range: (0.0, 80.0),
        transparent_below: None,
        no_data_color: None,
        pair: Some(v.info.name),
        ..u.info.clone()
    })
}

/// A layer's title: the parameter's long name, its level unless the name
/// says it already (or the level is a dimension), and the model in
/// capitals unless named already: "Temperature at 2 m above ground (GFS)",
/// "Reflectivity at lowest altitude (MRMS)", never both twice.
fn title(long_name: &str, level: Option<&str>, model: &str) -> String {
    let lower = long_name.to_lowercase();
    let mut t = long_name.to_owned();
    if let Some(level) = level.filter(|l| !l.is_empty() && !lower.contains(&l.to_lowercase())) {
        t.push_str(" at ");
        t.push_str(level);
    }
    if !lower.contains(&model.to_lowercase()) {
        t.push_str(&format!(" ({})", model.to_uppercase()));
    }
    t
}

#[cfg(test)]
mod title_tests {
    use super::title;

    #[test]
    fn titles_name_level_and_model_once() {
        assert_eq!(
            title("Temperature", Some("2 m above ground"), "gfs"),
            "Temperature at 2 m above ground (GFS)"
        );
        assert_eq!(
            title("Reflectivity at lowest altitude (MRMS)", Some(""), "mrms"),
            "Reflectivity at lowest altitude (MRMS)"
        );
        assert_eq!(
            title(
                "Composite reflectivity, quality controlled (MRMS)",
                Some(""),
                "mrms"
            ),
            "Composite reflectivity, quality controlled (MRMS)"
        );
        // Levelled layers carry the level as a dimension, not in the title.
        assert_eq!(title("Temperature", None, "cmc"), "Temperature (CMC)");
    }
}
