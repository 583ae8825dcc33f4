//! URL templates: `{layer}`, `{style}`, `{z}`, `{x}`, `{y}`, `{tms}` and the
//! dimension placeholders `{time}`, `{run}`, `{forecast}`, `{elevation}`.
//!
//! Templates are parsed once at validation time so that a typo is reported
//! before any traffic is sent, and rendering per request is a cheap walk.

use crate::tile::{Tile, TileMatrixSet};
use std::fmt::Write;

/// Preset path for the wxfarm XYZ endpoint.
pub const PRESET_XYZ: &str = "/tiles/{layer}/{style}/{z}/{x}/{y}.png";
/// Preset path for WMTS RESTful GetTile (TileMatrix/TileRow/TileCol order).
pub const PRESET_WMTS_REST: &str = "/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{y}/{x}.png";
/// Preset path for WMTS KVP GetTile.
pub const PRESET_WMTS_KVP: &str = "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE={style}&TILEMATRIXSET={tms}&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&FORMAT=image/png";

/// A dimension a layer may vary along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// Valid time (ISO 8601 strings, typically).
    Time,
    /// Model run / reference time.
    Run,
    /// Forecast hour.
    Forecast,
    /// Vertical level.
    Elevation,
}

impl Dim {
    /// All dimensions, in index order.
    pub const ALL: [Dim; 4] = [Dim::Time, Dim::Run, Dim::Forecast, Dim::Elevation];

    /// Placeholder / YAML name.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Time => "time",
            Dim::Run => "run",
            Dim::Forecast => "forecast",
            Dim::Elevation => "elevation",
        }
    }

    /// Dense index used for per-request value arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Lit(String),
    Layer,
    Style,
    Z,
    X,
    Y,
    Tms,
    Dim(Dim),
}

/// A parsed URL template.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlTemplate {
    source: String,
    segments: Vec<Segment>,
}

/// Values substituted into a template for one request.
#[derive(Debug, Clone, Copy)]
pub struct RenderCtx<'a> {
    /// Layer identifier.
    pub layer: &'a str,
    /// Style identifier.
    pub style: &'a str,
    /// Tile address.
    pub tile: Tile,
    /// Tile matrix set (for `{tms}`).
    pub tms: TileMatrixSet,
    /// Dimension values indexed by [`Dim::index`]; missing ones render empty.
    pub dims: [Option<&'a str>; 4],
}

impl UrlTemplate {
    /// Parses a template, or one of the presets `xyz`, `wmts_rest`, `wmts_kvp`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let source = match text {
            "xyz" => PRESET_XYZ,
            "wmts_rest" => PRESET_WMTS_REST,
            "wmts_kvp" => PRESET_WMTS_KVP,
            other => other,
        };
        if source.is_empty() {
            return Err("must not be empty".into());
        }
        let mut segments = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                segments.push(Segment::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("has an unclosed `{{` in {source:?}"))?;
            let name = &after[..close];
            segments.push(match name {
                "layer" => Segment::Layer,
                "style" => Segment::Style,
                "z" => Segment::Z,
                "x" => Segment::X,
                "y" => Segment::Y,
                "tms" => Segment::Tms,
                "time" => Segment::Dim(Dim::Time),
                "run" => Segment::Dim(Dim::Run),
                "forecast" => Segment::Dim(Dim::Forecast),
                "elevation" => Segment::Dim(Dim::Elevation),
                other => {
                    return Err(format!(
                        "has unknown placeholder {{{other}}} (known: layer, style, z, x, y, tms, time, run, forecast, elevation)"
                    ));
                }
            });
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Lit(rest.to_string()));
        }
        Ok(UrlTemplate {
            source: source.to_string(),
            segments,
        })
    }

    /// The template text (presets expanded).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template addresses tiles at all (has `{z}`, `{x}` and `{y}`).
    pub fn has_tile_placeholders(&self) -> bool {
        [Segment::Z, Segment::X, Segment::Y]
            .iter()
            .all(|s| self.segments.contains(s))
    }

    /// Whether `{style}` appears.
    pub fn uses_style(&self) -> bool {
        self.segments.contains(&Segment::Style)
    }

    /// Dimensions referenced by the template.
    pub fn dims(&self) -> Vec<Dim> {
        Dim::ALL
            .into_iter()
            .filter(|d| self.segments.contains(&Segment::Dim(*d)))
            .collect()
    }

    /// Appends the rendered template to `out`.
    pub fn render_into(&self, out: &mut String, ctx: &RenderCtx<'_>) {
        for seg in &self.segments {
            // Writing to a String cannot fail; the results are ignored deliberately.
            let _ = match seg {
                Segment::Lit(s) => {
                    out.push_str(s);
                    Ok(())
                }
                Segment::Layer => out.write_str(ctx.layer),
                Segment::Style => out.write_str(ctx.style),
                Segment::Z => write!(out, "{}", ctx.tile.z),
                Segment::X => write!(out, "{}", ctx.tile.x),
                Segment::Y => write!(out, "{}", ctx.tile.y),
                Segment::Tms => out.write_str(ctx.tms.id()),
                Segment::Dim(d) => out.write_str(ctx.dims[d.index()].unwrap_or("")),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RenderCtx<'static> {
        RenderCtx {
            layer: "gfs_TMP_2m",
            style: "gradient",
            tile: Tile { z: 3, x: 5, y: 2 },
            tms: TileMatrixSet::WebMercatorQuad,
            dims: [None, None, Some("6"), None],
        }
    }

    fn render(t: &str) -> String {
        let mut s = String::new();
        UrlTemplate::parse(t).unwrap().render_into(&mut s, &ctx());
        s
    }

    #[test]
    fn renders_the_three_wxfarm_flavours() {
        assert_eq!(
            render("/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"),
            "/tiles/gfs_TMP_2m/gradient/3/5/2.png?forecast=6"
        );
        assert_eq!(
            render("wmts_rest"),
            "/wmts/1.0.0/gfs_TMP_2m/gradient/WebMercatorQuad/3/2/5.png"
        );
        assert_eq!(
            render("wmts_kvp"),
            "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=gfs_TMP_2m&STYLE=gradient&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=3&TILEROW=2&TILECOL=5&FORMAT=image/png"
        );
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(UrlTemplate::parse("/t/{zz}").unwrap_err().contains("{zz}"));
        assert!(
            UrlTemplate::parse("/t/{z")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(UrlTemplate::parse("").is_err());
        let t = UrlTemplate::parse("/a/{z}/{x}/{y}?t={time}&f={forecast}").unwrap();
        assert!(t.has_tile_placeholders());
        assert_eq!(t.dims(), vec![Dim::Time, Dim::Forecast]);
    }
}
