//! Request parameters: case-insensitive KVP access and the parsing of
//! dimensions and per-request style options, each failure an OGC error
//! naming the parameter.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use protocol::TileMatrixSetId;
use protocol::catalog::DimensionQuery;
use protocol::plan::StyleParams;
use protocol::style::{Rgba, Units};

use crate::ogc::OgcError;

/// Query parameters with case-insensitive names (OGC KVP rule), kept as a
/// list: a request has a handful, so a scan beats hashing, and a lookup
/// allocates nothing. A name given twice counts once, the last value.
#[derive(Debug, Default, Clone)]
pub struct Kvp(Vec<(String, String)>);

impl Kvp {
    pub fn new(raw: HashMap<String, String>) -> Self {
        let mut kvp = Self(Vec::with_capacity(raw.len()));
        for (k, v) in raw {
            kvp.set(k, v);
        }
        kvp
    }

    /// Parses a raw query string (`a=1&B=2`, percent- and `+`-decoded as
    /// forms are, as axum's `Query` does).
    pub fn from_query(query: Option<&str>) -> Self {
        let mut kvp = Self::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            kvp.set(k.into_owned(), v.into_owned());
        }
        kvp
    }

    /// Sets `name` (any case) to `value`, replacing an earlier value.
    fn set(&mut self, mut name: String, value: String) {
        name.make_ascii_lowercase();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// An optional parameter; empty values count as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OgcError> {
        self.get(name)
            .ok_or_else(|| OgcError::missing_parameter(name))
    }

    /// A copy with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> Kvp {
        let mut m = self.clone();
        m.set(name.to_owned(), value.to_owned());
        m
    }

    /// A copy without parameter `name`.
    pub fn without(&self, name: &str) -> Kvp {
        let mut m = self.clone();
        m.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        m
    }

    /// A required unsigned integer.
    pub fn require_u32(&self, name: &str) -> Result<u32, OgcError> {
        parse_u32(name, self.require(name)?)
    }
}

pub fn parse_u32(name: &str, v: &str) -> Result<u32, OgcError> {
    v.trim().parse().map_err(|_| {
        OgcError::invalid_parameter(
            name,
            format!("{name} must be a non-negative integer, got {v:?}"),
        )
    })
}

/// Parses an ISO 8601 instant (`2025-01-02T12:00:00Z`, with or without
/// seconds or zone; a bare zone-less time is UTC).
pub fn parse_time(name: &str, v: &str) -> Result<DateTime<Utc>, OgcError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let bare = v.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H",
        "%Y%m%dT%H%M%S",
        "%Y%m%d%H",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, fmt) {
            return Ok(t.and_utc());
        }
    }
    Err(OgcError::invalid_parameter(
        name,
        format!("{name} must be an ISO 8601 time, got {v:?}"),
    ))
}

/// Reads the `run`, `forecast`, `time` and `elevation` dimensions.
/// `current` and `latest` mean the default.
pub fn dimensions(kvp: &Kvp) -> Result<DimensionQuery, OgcError> {
    let given = |name: &str| {
        kvp.get(name)
            .filter(|v| !matches!(*v, "current" | "latest" | "default"))
    };
    let mut q = DimensionQuery::default();
    if let Some(v) = given("run") {
        q.run = Some(parse_time("run", v)?);
    }
    if let Some(v) = given("forecast") {
        let h: f64 = v
            .trim_start_matches("PT")
            .trim_end_matches(['H', 'h'])
            .parse()
            .map_err(|_| {
                OgcError::invalid_parameter(
                    "forecast",
                    format!("forecast must be hours, got {v:?}"),
                )
            })?;
        if !(0.0..=10_000.0).contains(&h) {
            return Err(OgcError::invalid_parameter(
                "forecast",
                format!("forecast {h} h is out of range"),
            ));
        }
        q.forecast_hours = Some(h);
    }
    if let Some(v) = given("time") {
        q.time = Some(parse_time("time", v)?);
    }
    if let Some(v) = given("elevation") {
        q.elevation = Some(v.to_owned());
    }
    Ok(q)
}

/// Reads `COLORSCALERANGE`, `NUMCOLORBANDS`, `UNITS`, `ABOVEMAXCOLOR`,
/// `BELOWMINCOLOR`, `CONTOURINTERVAL`, `COLORBYSPEED`, `SYMBOLSPACING`.
pub fn style_params(kvp: &Kvp) -> Result<StyleParams, OgcError> {
    let mut p = StyleParams::default();
    if let Some(v) = kvp.get("colorscalerange") {
        let bad = || {
            OgcError::invalid_parameter(
                "colorscalerange",
                format!("COLORSCALERANGE must be min,max with min < max, got {v:?}"),
            )
        };
        let (a, b) = v.split_once(',').ok_or_else(bad)?;
        let (a, b): (f32, f32) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if !(a.is_finite() && b.is_finite() && a < b) {
            return Err(bad());
        }
        p.range = Some((a, b));
    }
    if let Some(v) = kvp.get("numcolorbands") {
        let n = parse_u32("numcolorbands", v)?;
        let max = protocol::Limits::default().max_bands;
        if !(2..=u32::from(max)).contains(&n) {
            return Err(OgcError::invalid_parameter(
                "numcolorbands",
                format!("NUMCOLORBANDS must be 2..{max}"),
            ));
        }
        p.bands = Some(n as u16);
    }
    if let Some(v) = kvp.get("units") {
        p.units =
            Some(Units::parse(v).ok_or_else(|| {
                OgcError::invalid_parameter("units", format!("unknown units {v:?}"))
            })?);
    }
    p.above_max = kvp
        .get("abovemaxcolor")
        .map(|v| parse_color("abovemaxcolor", v))
        .transpose()?;
    p.below_min = kvp
        .get("belowmincolor")
        .map(|v| parse_color("belowmincolor", v))
        .transpose()?;
    p.no_data = kvp
        .get("nodatacolor")
        .map(|v| parse_color("nodatacolor", v))
        .transpose()?;
    if let Some(v) = kvp.get("contourinterval") {
        let step: f32 = v.trim().parse().unwrap_or(f32::NAN);
        if !(step.is_finite() && step > 0.0) {
            return Err(OgcError::invalid_parameter(
                "contourinterval",
                format!("CONTOURINTERVAL must be a positive number, got {v:?}"),
            ));
        }
        p.contour_interval = Some(step);
    }
    if let Some(v) = kvp.get("colorbyspeed") {
        p.color_by_speed = match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                return Err(OgcError::invalid_parameter(
                    "colorbyspeed",
                    format!("COLORBYSPEED must be true or false, got {v:?}"),
                ));
            }
        };
    }
    if let Some(v) = kvp.get("symbolspacing") {
        let n = parse_u32("symbolspacing", v)?;
        let (lo, hi) = protocol::Limits::default().symbol_spacing;
        if !(u32::from(lo)..=u32::from(hi)).contains(&n) {
            return Err(OgcError::invalid_parameter(
                "symbolspacing",
                format!("SYMBOLSPACING must be {lo}..{hi} pixels"),
            ));
        }
        p.symbol_spacing = Some(n as u16);
    }
    Ok(p)
}

/// A `TileMatrixSet` identifier.
pub fn tile_matrix_set(v: &str) -> Result<TileMatrixSetId, OgcError> {
    TileMatrixSetId::parse(v).ok_or_else(|| {
        OgcError::invalid_parameter("tilematrixset", format!("unknown TileMatrixSet {v:?}"))
    })
}

/// TileMatrix identifiers are the zoom level; `EPSG:3857:5` style
/// prefixes (GeoServer's) are accepted too.
pub fn tile_matrix(v: &str) -> Result<u32, OgcError> {
    let z = v.rsplit(':').next().unwrap_or(v);
    z.parse()
        .map_err(|_| OgcError::invalid_parameter("tilematrix", format!("unknown TileMatrix {v:?}")))
}

/// `0xRRGGBB`, `#RRGGBB`, `0xAARRGGBB`, or `transparent`/`extend`.
fn parse_color(name: &str, v: &str) -> Result<Rgba, OgcError> {
    if v.eq_ignore_ascii_case("transparent") {
        return Ok([0, 0, 0, 0]);
    }
    let hex = v
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .trim_start_matches('#');
    let bad = || {
        OgcError::invalid_parameter(
            name,
            format!("{name} must be 0xRRGGBB, 0xAARRGGBB or transparent, got {v:?}"),
        )
    };
    let n = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
    match hex.len() {
        6 => Ok([(n >> 16) as u8, (n >> 8) as u8, n as u8, 255]),
        8 => Ok([(n >> 16) as u8, (n >> 8) as u8, n as u8, (n >> 24) as u8]),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ogc::OgcErrorCode;

    fn kvp(pairs: &[(&str, &str)]) -> Kvp {
        Kvp::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn names_are_case_insensitive() {
        let k = kvp(&[("LaYeR", "x"), ("STYLE", "")]);
        assert_eq!(k.get("layer"), Some("x"));
        assert_eq!(
            k.require("style").unwrap_err().code,
            OgcErrorCode::MissingParameterValue
        );
    }

    #[test]
    fn raw_queries_decode_like_forms_and_the_last_value_wins() {
        let k = Kvp::from_query(Some("LAYER=a%20b&style=x+y&Layer=c&empty=&flag"));
        assert_eq!(k.get("layer"), Some("c"));
        assert_eq!(k.get("STYLE"), Some("x y"));
        assert_eq!(k.get("empty"), None);
        assert_eq!(k.get("flag"), None);
        assert_eq!(k.get("missing"), None);
        assert_eq!(Kvp::from_query(Some("a=%E2%82%AC")).get("A"), Some("€"));
        assert_eq!(Kvp::from_query(None).get("a"), None);
        let w = k.with("Style", "z").without("LAYER");
        assert_eq!((w.get("style"), w.get("layer")), (Some("z"), None));
    }

    #[test]
    fn dimensions_parse_and_reject_with_the_parameter_named() {
        let q = dimensions(&kvp(&[
            ("run", "2025-01-02T12:00:00Z"),
            ("forecast", "PT6H"),
            ("elevation", "500"),
        ]))
        .unwrap();
        assert_eq!(q.run.unwrap().to_rfc3339(), "2025-01-02T12:00:00+00:00");
        assert_eq!(q.forecast_hours, Some(6.0));
        assert_eq!(
            dimensions(&kvp(&[("time", "2025-01-02T12:00")]))
                .unwrap()
                .time,
            q.run
        );
        assert_eq!(dimensions(&kvp(&[("run", "latest")])).unwrap().run, None);
        for (name, bad) in [
            ("run", "yesterday"),
            ("forecast", "six"),
            ("forecast", "-1"),
            ("time", "12:00"),
        ] {
            let e = dimensions(&kvp(&[(name, bad)])).unwrap_err();
            assert_eq!(
                (e.code, e.locator.as_deref()),
                (OgcErrorCode::InvalidParameterValue, Some(name))
            );
        }
    }

    #[test]
    fn style_params_parse_and_canonicalise() {
        let p = style_params(&kvp(&[
            ("COLORSCALERANGE", "-10,30"),
            ("NUMCOLORBANDS", "10"),
            ("UNITS", "degF"),
            ("ABOVEMAXCOLOR", "0xFF0000"),
        ]))
        .unwrap();
        assert_eq!(p.range, Some((-10.0, 30.0)));
        assert_eq!(p.units, Some(Units::Fahrenheit));
        assert_eq!(p.above_max, Some([255, 0, 0, 255]));
        assert_eq!(
            p.canonical(),
            "range=-10,30;bands=10;units=Fahrenheit;above=ff0000ff"
        );
        assert_eq!(StyleParams::default().canonical(), "");
        for (name, bad) in [
            ("colorscalerange", "30,-10"),
            ("colorscalerange", "a,b"),
            ("numcolorbands", "1"),
            ("units", "furlongs"),
            ("belowmincolor", "blue"),
            ("contourinterval", "-4"),
            ("contourinterval", "often"),
            ("colorbyspeed", "maybe"),
            ("symbolspacing", "4"),
        ] {
            let e = style_params(&kvp(&[(name, bad)])).unwrap_err();
            assert_eq!(e.locator.as_deref(), Some(name), "{name}={bad}");
        }
    }
}
