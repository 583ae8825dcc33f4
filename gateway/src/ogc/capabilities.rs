//! The WMTS 1.0.0 Capabilities (ServiceMetadata) document.
//!
//! Elements appear in the order `wmtsGetCapabilities_response.xsd` and OWS
//! 1.1 prescribe (sequences, not sets), so strict clients and validators
//! accept the document.
//!
//! URL layout the gateway serves (all below `base_url`):
//! - KVP: `/wmts?SERVICE=WMTS&REQUEST=…`
//! - REST capabilities: [`CAPABILITIES_PATH`]
//! - REST tile: `/wmts/1.0.0/{layer}/{style}/{tms}/{z}/{row}/{col}.png?run=…`
//! - REST feature info: `…/{col}/{j}/{i}.json` (or `.html`)
//! - legend: `/legend/{layer}/{style}.png`

use chrono::{DateTime, SecondsFormat, Utc};
use protocol::Catalog;
use protocol::catalog::{DimensionQuery, LayerEntry, LayerKind};
use protocol::style::StyleKind;
use protocol::tms::{MAX_ZOOM, TileMatrixSetId, lat_to_mercator_y, lon_to_mercator_x};

use super::grid::{TileRange, layer_wgs84_box, tile_range};
use super::xml::XmlWriter;

/// Path of the RESTful capabilities document, below the base URL.
pub const CAPABILITIES_PATH: &str = "/wmts/1.0.0/WMTSCapabilities.xml";
/// Path of the KVP endpoint, below the base URL.
pub const KVP_PATH: &str = "/wmts";
/// Prefix of RESTful tile and feature-info resources, below the base URL.
pub const REST_PREFIX: &str = "/wmts/1.0.0";
/// Tile edge in pixels.
pub const TILE_SIZE: u32 = 256;

const WMTS_NS: &str = "http://www.opengis.net/wmts/1.0";
const OWS_NS: &str = "http://www.opengis.net/ows/1.1";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const INFO_FORMATS: [(&str, &str); 2] = [("application/json", "json"), ("text/html", "html")];

/// One WMTS dimension of a layer, as advertised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    /// Identifier, also the placeholder name in ResourceURL templates and
    /// the query parameter: `run`, `forecast`, `time` or `elevation`.
    pub identifier: &'static str,
    /// Unit of measure (`ISO8601`, `h`, or the elevation units).
    pub uom: Option<String>,
    /// The value used when a request omits the dimension.
    pub default: String,
    /// Every value available, ascending.
    pub values: Vec<String>,
}

/// The dimensions of `layer`, with defaults equal to what
/// [`LayerEntry::resolve`] picks for a request without dimensions at `now`,
/// so the document never promises a default the tiles do not honour.
///
/// Model layers: `run` (all runs) and `forecast` (lead hours of the default
/// run). Observation layers: `time`. Either: `elevation` when present.
pub fn layer_dimensions(layer: &LayerEntry, now: DateTime<Utc>) -> Vec<Dimension> {
    let resolved = layer.resolve(&DimensionQuery::default(), now).ok();
    let mut dims = Vec::new();
    match layer.info.kind {
        LayerKind::Model => {
            let runs = layer.runs();
            let run = resolved
                .map(|f| f.run)
                .or_else(|| runs.last().copied())
                .unwrap_or(now);
            let leads: Vec<String> = layer
                .valid_times(run)
                .into_iter()
                .map(|v| lead_hours(run, v))
                .collect();
            let default_lead = resolved
                .map(|f| lead_hours(f.run, f.valid))
                .or_else(|| leads.first().cloned())
                .unwrap_or_else(|| "0".to_owned());
            dims.push(Dimension {
                identifier: "run",
                uom: Some("ISO8601".to_owned()),
                default: iso(run),
                values: runs.into_iter().map(iso).collect(),
            });
            dims.push(Dimension {
                identifier: "forecast",
                uom: Some("h".to_owned()),
                default: default_lead,
                values: leads,
            });
        }
        LayerKind::Observation => {
            let times = layer.all_valid_times();
            let default = resolved
                .map(|f| f.valid)
                .or_else(|| times.last().copied())
                .unwrap_or(now);
            dims.push(Dimension {
                identifier: "time",
                uom: Some("ISO8601".to_owned()),
                default: iso(default),
                values: times.into_iter().map(iso).collect(),
            });
        }
    }
    let elevations = layer.elevations();
    if !elevations.is_empty() {
        let default = resolved
            .and_then(|f| f.elevation.clone())
            .unwrap_or_else(|| elevations[0].clone());
        dims.push(Dimension {
            identifier: "elevation",
            uom: layer.info.elevation_units.clone(),
            default,
            values: elevations,
        });
    }
    dims
}

/// ISO 8601 in UTC with whole seconds, e.g. `2025-01-01T06:00:00Z`.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Lead time in hours as the `forecast` dimension spells it: `6`, `1.5`.
/// `Catalog::resolve` rounds `hours · 3600` to whole seconds, so any
/// shortest-round-trip decimal printed here resolves back to this field.
fn lead_hours(run: DateTime<Utc>, valid: DateTime<Utc>) -> String {
    let secs = (valid - run).num_seconds();
    if secs % 3600 == 0 {
        (secs / 3600).to_string()
    } else {
        (secs as f64 / 3600.0).to_string()
    }
}

/// Percent-encodes a path segment (layer names are identifiers, but the
/// catalogue is user-extensible).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The WMTS 1.0.0 Capabilities document for `catalog`, with every URL
/// below `base_url` (scheme, host and any prefix; a trailing `/` is
/// ignored) and dimension defaults as of `now`.
///
/// TileMatrixSetLimits are emitted for all zooms 0..=[`MAX_ZOOM`] but only
/// for layers that do not cover the whole set: global layers omit them (the
/// spec's "no limits"), which keeps the document small. Limits are not cut
/// at a lower zoom because clients (OpenLayers among them) drop every tile
/// matrix missing from the limits.
pub fn wmts_capabilities(catalog: &Catalog, base_url: &str, now: DateTime<Utc>) -> String {
    let base = base_url.trim_end_matches('/');
    let mut w = XmlWriter::new();
    w.start(
        "Capabilities",
        &[
            ("xmlns", WMTS_NS),
            ("xmlns:ows", OWS_NS),
            ("xmlns:xlink", XLINK_NS),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            (
                "xsi:schemaLocation",
                "http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd",
            ),
            ("version", "1.0.0"),
        ],
    );
    service_identification(&mut w);
    w.start("ows:ServiceProvider", &[])
        .text("ows:ProviderName", &[], "wxfarm")
        .empty("ows:ProviderSite", &[("xlink:href", base)])
        // Mandatory in OWS 1.1; every child is optional.
        .empty("ows:ServiceContact", &[])
        .end();
    operations_metadata(&mut w, base);

    w.start("Contents", &[]);
    for layer in catalog.layers.values() {
        write_layer(&mut w, layer, base, now);
    }
    for tms in TileMatrixSetId::ALL {
        write_tile_matrix_set(&mut w, tms);
    }
    w.end();
    w.empty(
        "ServiceMetadataURL",
        &[("xlink:href", &format!("{base}{CAPABILITIES_PATH}"))],
    );
    w.end();
    w.finish()
}

fn service_identification(w: &mut XmlWriter) {
    w.start("ows:ServiceIdentification", &[])
        .text("ows:Title", &[], "wxfarm")
        .text(
            "ows:Abstract",
            &[],
            "Weather map tiles rendered on demand from GRIB2 model and observation data.",
        )
        .text("ows:ServiceType", &[], "OGC WMTS")
        .text("ows:ServiceTypeVersion", &[], "1.0.0")
        .text("ows:Fees", &[], "none")
        .text("ows:AccessConstraints", &[], "none")
        .end();
}

fn operations_metadata(w: &mut XmlWriter, base: &str) {
    let kvp = format!("{base}{KVP_PATH}?");
    let rest_caps = format!("{base}{CAPABILITIES_PATH}");
    let rest = format!("{base}{REST_PREFIX}/");
    w.start("ows:OperationsMetadata", &[]);
    for (op, rest_href) in [
        ("GetCapabilities", &rest_caps),
        ("GetTile", &rest),
        ("GetFeatureInfo", &rest),
    ] {
        w.start("ows:Operation", &[("name", op)])
            .start("ows:DCP", &[])
            .start("ows:HTTP", &[]);
        for (href, encoding) in [(&kvp, "KVP"), (rest_href, "RESTful")] {
            w.start("ows:Get", &[("xlink:href", href)])
                .start("ows:Constraint", &[("name", "GetEncoding")])
                .start("ows:AllowedValues", &[])
                .text("ows:Value", &[], encoding)
                .end()
                .end()
                .end();
        }
        w.end().end().end();
    }
    w.end();
}

fn write_layer(w: &mut XmlWriter, layer: &LayerEntry, base: &str, now: DateTime<Utc>) {
    let info = &layer.info;
    let name = path_segment(&info.name);
    let bbox = layer_wgs84_box(layer);
    w.start("Layer", &[]);
    w.text("ows:Title", &[], &info.title);
    if let Some(f) = layer.fields.values().next() {
        let units = info.display_units.symbol();
        let abstract_ = if units.is_empty() {
            f.parameter.long_name.clone()
        } else {
            format!("{} ({units})", f.parameter.long_name)
        };
        w.text("ows:Abstract", &[], &abstract_);
    }
    w.start("ows:WGS84BoundingBox", &[])
        .text(
            "ows:LowerCorner",
            &[],
            &format!("{} {}", bbox.west, bbox.south),
        )
        .text(
            "ows:UpperCorner",
            &[],
            &format!("{} {}", bbox.east, bbox.north),
        )
        .end();
    w.text("ows:Identifier", &[], &info.name);
    // The same box in Web Mercator, clamped to the square: clients such as
    // GDAL derive a layer's pixel extent from a box in the matrix set's CRS,
    // and would project ±90° to infinity.
    let (x0, x1) = (lon_to_mercator_x(bbox.west), lon_to_mercator_x(bbox.east));
    let (y0, y1) = (lat_to_mercator_y(bbox.south), lat_to_mercator_y(bbox.north));
    w.start(
        "ows:BoundingBox",
        &[("crs", TileMatrixSetId::WebMercatorQuad.crs_urn())],
    )
    .text("ows:LowerCorner", &[], &format!("{x0} {y0}"))
    .text("ows:UpperCorner", &[], &format!("{x1} {y1}"))
    .end();

    for (n, &kind) in StyleKind::offered_for(info.pair.is_some(), info.colormap)
        .iter()
        .enumerate()
    {
        let style = kind.name();
        let default = if n == 0 { "true" } else { "false" };
        w.start("Style", &[("isDefault", default)])
            .text("ows:Title", &[], kind.title())
            .text("ows:Identifier", &[], style)
            .empty(
                "LegendURL",
                &[
                    ("format", "image/png"),
                    ("xlink:href", &format!("{base}/legend/{name}/{style}.png")),
                ],
            )
            .end();
    }
    w.text("Format", &[], "image/png");
    for (mime, _) in INFO_FORMATS {
        w.text("InfoFormat", &[], mime);
    }

    let dims = layer_dimensions(layer, now);
    for d in &dims {
        w.start("Dimension", &[])
            .text("ows:Identifier", &[], d.identifier);
        if let Some(u) = &d.uom {
            w.text("ows:UOM", &[], u);
        }
        w.text("Default", &[], &d.default);
        for v in &d.values {
            w.text("Value", &[], v);
        }
        w.end();
    }

    for tms in TileMatrixSetId::ALL {
        w.start("TileMatrixSetLink", &[])
            .text("TileMatrixSet", &[], tms.as_str());
        let limits: Vec<TileRange> = (0..=MAX_ZOOM).map(|z| tile_range(tms, z, &bbox)).collect();
        let partial = limits
            .iter()
            .zip(0..)
            .any(|(r, z)| *r != TileRange::full(tms, z));
        if partial {
            w.start("TileMatrixSetLimits", &[]);
            for (r, z) in limits.iter().zip(0u8..) {
                w.start("TileMatrixLimits", &[])
                    .text("TileMatrix", &[], &z.to_string())
                    .text("MinTileRow", &[], &r.min_row.to_string())
                    .text("MaxTileRow", &[], &r.max_row.to_string())
                    .text("MinTileCol", &[], &r.min_col.to_string())
                    .text("MaxTileCol", &[], &r.max_col.to_string())
                    .end();
            }
            w.end();
        }
        w.end();
    }

    // Every dimension rides as a query placeholder named like its
    // identifier: clients substitute `{identifier}` in templates.
    let query: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let sep = if i == 0 { '?' } else { '&' };
            format!("{sep}{0}={{{0}}}", d.identifier)
        })
        .collect();
    let tile_path = format!(
        "{base}{REST_PREFIX}/{name}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}"
    );
    w.empty(
        "ResourceURL",
        &[
            ("format", "image/png"),
            ("resourceType", "tile"),
            ("template", &format!("{tile_path}.png{query}")),
        ],
    );
    for (mime, ext) in INFO_FORMATS {
        w.empty(
            "ResourceURL",
            &[
                ("format", mime),
                ("resourceType", "FeatureInfo"),
                ("template", &format!("{tile_path}/{{J}}/{{I}}.{ext}{query}")),
            ],
        );
    }
    w.end();
}

fn write_tile_matrix_set(w: &mut XmlWriter, tms: TileMatrixSetId) {
    w.start("TileMatrixSet", &[])
        .text("ows:Identifier", &[], tms.as_str())
        .text("ows:SupportedCRS", &[], tms.crs_urn());
    if tms == TileMatrixSetId::WebMercatorQuad {
        // WorldCRS84Quad (two tiles at z0) matches no WMTS 1.0 well-known
        // scale set: GoogleCRS84Quad has one square tile at z0.
        w.text(
            "WellKnownScaleSet",
            &[],
            "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible",
        );
    }
    // top_left() is already in the CRS's axis order: x y for EPSG:3857,
    // lon lat for CRS84 (whose order, unlike EPSG:4326's, is lon first).
    let (x, y) = tms.top_left();
    let corner = format!("{x} {y}");
    let size = TILE_SIZE.to_string();
    for z in 0..=MAX_ZOOM {
        w.start("TileMatrix", &[])
            .text("ows:Identifier", &[], &z.to_string())
            .text(
                "ScaleDenominator",
                &[],
                &tms.scale_denominator(z, TILE_SIZE).to_string(),
            )
            .text("TopLeftCorner", &[], &corner)
            .text("TileWidth", &[], &size)
            .text("TileHeight", &[], &size)
            .text("MatrixWidth", &[], &tms.matrix_width(z).to_string())
            .text("MatrixHeight", &[], &tms.matrix_height(z).to_string())
            .end();
    }
    w.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_hours_spelling() {
        let r = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(lead_hours(r, r + chrono::Duration::hours(6)), "6");
        assert_eq!(lead_hours(r, r + chrono::Duration::minutes(90)), "1.5");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("gfs_TMP_2m"), "gfs_TMP_2m");
        assert_eq!(path_segment("a b/ü"), "a%20b%2F%C3%BC");
    }
}
