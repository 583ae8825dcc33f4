//! The capabilities document, parsed back with roxmltree.

mod common;

use std::collections::BTreeMap;

use common::*;
use gateway::ogc::wmts_capabilities;
use roxmltree::{Document, Node};

const WMTS: &str = "http://www.opengis.net/wmts/1.0";
const OWS: &str = "http://www.opengis.net/ows/1.1";
const XLINK: &str = "http://www.w3.org/1999/xlink";

fn child<'a>(n: Node<'a, 'a>, ns: &'a str, name: &'a str) -> Node<'a, 'a> {
    children(n, ns, name)
        .next()
        .unwrap_or_else(|| panic!("no {name} in {:?}", n.tag_name()))
}

fn children<'a>(n: Node<'a, 'a>, ns: &'a str, name: &'a str) -> impl Iterator<Item = Node<'a, 'a>> {
    n.children().filter(move |c| c.has_tag_name((ns, name)))
}

fn text<'a>(n: Node<'a, 'a>, ns: &'a str, name: &'a str) -> &'a str {
    child(n, ns, name).text().unwrap_or_default()
}

fn layers<'a>(doc: &'a Document<'a>) -> BTreeMap<String, Node<'a, 'a>> {
    let contents = child(doc.root_element(), WMTS, "Contents");
    children(contents, WMTS, "Layer")
        .map(|l| (text(l, OWS, "Identifier").to_owned(), l))
        .collect()
}

/// Dimension identifier → (default, values).
fn dimensions(layer: Node) -> BTreeMap<String, (String, Vec<String>)> {
    children(layer, WMTS, "Dimension")
        .map(|d| {
            let values = children(d, WMTS, "Value")
                .map(|v| v.text().unwrap().to_owned())
                .collect();
            (
                text(d, OWS, "Identifier").to_owned(),
                (text(d, WMTS, "Default").to_owned(), values),
            )
        })
        .collect()
}

fn doc_string() -> String {
    wmts_capabilities(&catalog(), BASE, now())
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[test]
fn service_sections_and_metadata_url() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((WMTS, "Capabilities")));
    assert_eq!(root.attribute("version"), Some("1.0.0"));
    let si = child(root, OWS, "ServiceIdentification");
    assert_eq!(text(si, OWS, "Title"), "wxfarm");
    assert_eq!(text(si, OWS, "ServiceType"), "OGC WMTS");
    assert_eq!(text(si, OWS, "ServiceTypeVersion"), "1.0.0");
    child(root, OWS, "ServiceProvider");

    let ops = child(root, OWS, "OperationsMetadata");
    let names: Vec<_> = children(ops, OWS, "Operation")
        .map(|o| o.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["GetCapabilities", "GetTile", "GetFeatureInfo"]);
    for op in children(ops, OWS, "Operation") {
        let encodings: Vec<_> = op
            .descendants()
            .filter(|n| n.has_tag_name((OWS, "Get")))
            .map(|g| {
                let c = child(g, OWS, "Constraint");
                assert_eq!(c.attribute("name"), Some("GetEncoding"));
                assert!(
                    g.attribute((XLINK, "href"))
                        .unwrap()
                        .starts_with("https://tiles.example.test/wx/wmts")
                );
                c.descendants()
                    .find(|n| n.has_tag_name((OWS, "Value")))
                    .unwrap()
                    .text()
                    .unwrap()
            })
            .collect();
        assert_eq!(encodings, ["KVP", "RESTful"]);
    }
    // The trailing slash of the base URL is not doubled.
    assert_eq!(
        child(root, WMTS, "ServiceMetadataURL").attribute((XLINK, "href")),
        Some("https://tiles.example.test/wx/wmts/1.0.0/WMTSCapabilities.xml")
    );
    assert!(!xml.contains("wx//"));
}

#[test]
fn layers_boxes_styles_and_formats() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    let layers = layers(&doc);
    assert_eq!(layers.keys().collect::<Vec<_>>(), [MODEL, LEVELLED, OBS]);

    let corners = |l: Node| {
        let b = child(l, OWS, "WGS84BoundingBox");
        (
            text(b, OWS, "LowerCorner").to_owned(),
            text(b, OWS, "UpperCorner").to_owned(),
        )
    };
    // 0..359.75 at 0.25° wraps: the whole world, in -180..180.
    assert_eq!(corners(layers[MODEL]), ("-180 -90".into(), "180 90".into()));
    // A Mercator clamp must not leak into the WGS84 box.
    assert_eq!(
        corners(layers[OBS]),
        ("-100.3 30.2".into(), "-90.7 40.6".into())
    );

    // The hostile title survives escaping intact.
    assert_eq!(text(layers[OBS], OWS, "Title"), HOSTILE_TITLE);
    assert!(!xml.contains("<&"));

    for l in layers.values() {
        let style = child(*l, WMTS, "Style");
        assert_eq!(style.attribute("isDefault"), Some("true"));
        assert_eq!(text(style, OWS, "Identifier"), "gradient");
        assert!(!text(style, OWS, "Title").is_empty());
        let legend = child(style, WMTS, "LegendURL");
        assert_eq!(legend.attribute("format"), Some("image/png"));
        let id = text(*l, OWS, "Identifier");
        assert_eq!(
            legend.attribute((XLINK, "href")).unwrap(),
            format!("https://tiles.example.test/wx/legend/{id}/gradient.png")
        );
        assert_eq!(text(*l, WMTS, "Format"), "image/png");
        let info: Vec<_> = children(*l, WMTS, "InfoFormat")
            .map(|n| n.text().unwrap())
            .collect();
        assert_eq!(info, ["application/json", "text/html"]);
    }
}

#[test]
fn dimensions_defaults_and_values() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    let layers = layers(&doc);

    let model = dimensions(layers[MODEL]);
    assert_eq!(model.keys().collect::<Vec<_>>(), ["forecast", "run"]);
    assert_eq!(model["run"], (iso(r1()), vec![iso(r0()), iso(r1())]));
    // now = r1 + 4 h: lead 3 is nearest.
    assert_eq!(
        model["forecast"],
        ("3".into(), vec!["0".into(), "3".into(), "6".into()])
    );
    let uom = children(layers[MODEL], WMTS, "Dimension")
        .find(|d| text(*d, OWS, "Identifier") == "forecast")
        .map(|d| text(d, OWS, "UOM"));
    assert_eq!(uom, Some("h"));

    let obs = dimensions(layers[OBS]);
    assert_eq!(obs.keys().collect::<Vec<_>>(), ["time"]);
    let times: Vec<String> = [0, 2, 4]
        .map(|m| iso(r1() + chrono::Duration::minutes(m)))
        .into();
    assert_eq!(obs["time"], (times[2].clone(), times));

    let lev = dimensions(layers[LEVELLED]);
    assert_eq!(
        lev.keys().collect::<Vec<_>>(),
        ["elevation", "forecast", "run"]
    );
    assert_eq!(
        lev["elevation"],
        ("500".into(), vec!["500".into(), "850".into()])
    );
    let uom = children(layers[LEVELLED], WMTS, "Dimension")
        .find(|d| text(*d, OWS, "Identifier") == "elevation")
        .map(|d| text(d, OWS, "UOM"));
    assert_eq!(uom, Some("hPa"));
}

#[test]
fn resource_templates_carry_every_dimension() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    for (id, layer) in layers(&doc) {
        let dims = dimensions(layer);
        let urls: Vec<_> = children(layer, WMTS, "ResourceURL").collect();
        let kinds: Vec<_> = urls
            .iter()
            .map(|u| {
                (
                    u.attribute("resourceType").unwrap(),
                    u.attribute("format").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("tile", "image/png"),
                ("FeatureInfo", "application/json"),
                ("FeatureInfo", "text/html")
            ]
        );
        for u in &urls {
            let t = u.attribute("template").unwrap();
            let prefix = format!(
                "https://tiles.example.test/wx/wmts/1.0.0/{id}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}"
            );
            assert!(t.starts_with(&prefix), "{t}");
            for d in dims.keys() {
                assert!(t.contains(&format!("{d}={{{d}}}")), "{t} lacks {d}");
            }
            if u.attribute("resourceType") == Some("FeatureInfo") {
                assert!(t.contains("/{J}/{I}."), "{t}");
            }
        }
    }
    let tile = children(layers(&doc)[MODEL], WMTS, "ResourceURL")
        .next()
        .unwrap();
    assert!(
        tile.attribute("template")
            .unwrap()
            .ends_with(".png?run={run}&forecast={forecast}")
    );
}

/// Slippy-map tile indices, computed independently of the gateway.
fn mercator_tile(lon: f64, lat: f64, z: i32) -> (u32, u32) {
    let n = 2f64.powi(z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

fn crs84_tile(lon: f64, lat: f64, z: i32) -> (u32, u32) {
    let span = 180.0 / 2f64.powi(z);
    (
        ((lon + 180.0) / span).floor() as u32,
        ((90.0 - lat) / span).floor() as u32,
    )
}

/// TileMatrixSet identifier → (TileMatrix → [minRow, maxRow, minCol, maxCol]).
fn limits(layer: Node) -> BTreeMap<String, BTreeMap<String, [u32; 4]>> {
    children(layer, WMTS, "TileMatrixSetLink")
        .map(|link| {
            let m = children(link, WMTS, "TileMatrixSetLimits")
                .flat_map(|l| children(l, WMTS, "TileMatrixLimits"))
                .map(|l| {
                    let n = |name| text(l, WMTS, name).parse::<u32>().unwrap();
                    (
                        text(l, WMTS, "TileMatrix").to_owned(),
                        [
                            n("MinTileRow"),
                            n("MaxTileRow"),
                            n("MinTileCol"),
                            n("MaxTileCol"),
                        ],
                    )
                })
                .collect();
            (text(link, WMTS, "TileMatrixSet").to_owned(), m)
        })
        .collect()
}

#[test]
fn tile_matrix_set_limits_match_independent_tile_math() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    let layers = layers(&doc);
    let b = OBS_BOX;

    let obs = limits(layers[OBS]);
    assert_eq!(
        obs.keys().collect::<Vec<_>>(),
        ["WebMercatorQuad", "WorldCRS84Quad"]
    );
    for (tms, f) in [
        (
            "WebMercatorQuad",
            mercator_tile as fn(f64, f64, i32) -> (u32, u32),
        ),
        ("WorldCRS84Quad", crs84_tile),
    ] {
        // Every zoom is listed: clients drop matrices missing from limits.
        assert_eq!(obs[tms].len(), 19, "{tms}");
        let (min_col, min_row) = f(b.west, b.north, 5);
        let (max_col, max_row) = f(b.east, b.south, 5);
        assert_eq!(obs[tms]["5"], [min_row, max_row, min_col, max_col], "{tms}");
    }
    // Concretely, at z5 the box is Mercator cols 7..=7, rows 12..=13.
    assert_eq!(obs["WebMercatorQuad"]["5"], [12, 13, 7, 7]);

    // A global layer links both sets without limits ("no limits").
    let model = limits(layers[MODEL]);
    assert_eq!(
        model.keys().collect::<Vec<_>>(),
        ["WebMercatorQuad", "WorldCRS84Quad"]
    );
    assert!(model.values().all(|m| m.is_empty()));
}

#[test]
fn tile_matrix_sets_are_complete() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    let contents = child(doc.root_element(), WMTS, "Contents");
    let sets: BTreeMap<_, _> = children(contents, WMTS, "TileMatrixSet")
        .map(|s| (text(s, OWS, "Identifier"), s))
        .collect();
    assert_eq!(
        sets.keys().copied().collect::<Vec<_>>(),
        ["WebMercatorQuad", "WorldCRS84Quad"]
    );

    let merc = sets["WebMercatorQuad"];
    assert_eq!(
        text(merc, OWS, "SupportedCRS"),
        "urn:ogc:def:crs:EPSG::3857"
    );
    assert_eq!(
        text(merc, WMTS, "WellKnownScaleSet"),
        "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
    );
    let crs84 = sets["WorldCRS84Quad"];
    assert_eq!(
        text(crs84, OWS, "SupportedCRS"),
        "urn:ogc:def:crs:OGC:1.3:CRS84"
    );

    for (set, z0_scale, z0_width) in [
        (merc, 559_082_264.028_717_8, 1u32),
        (crs84, 279_541_132.014_358_9, 2),
    ] {
        let matrices: Vec<_> = children(set, WMTS, "TileMatrix").collect();
        assert_eq!(matrices.len(), 19);
        for (z, m) in matrices.iter().enumerate() {
            assert_eq!(text(*m, OWS, "Identifier"), z.to_string());
            let scale: f64 = text(*m, WMTS, "ScaleDenominator").parse().unwrap();
            let want = z0_scale / 2f64.powi(z as i32);
            assert!(
                (scale - want).abs() / want < 1e-12,
                "z{z}: {scale} vs {want}"
            );
            assert_eq!(text(*m, WMTS, "TileWidth"), "256");
            assert_eq!(text(*m, WMTS, "TileHeight"), "256");
            assert_eq!(text(*m, WMTS, "MatrixWidth"), (z0_width << z).to_string());
            assert_eq!(text(*m, WMTS, "MatrixHeight"), (1u32 << z).to_string());
        }
    }
    // CRS84 is lon/lat: the corner is (-180, 90), not EPSG:4326's (90, -180).
    assert_eq!(
        text(child(crs84, WMTS, "TileMatrix"), WMTS, "TopLeftCorner"),
        "-180 90"
    );
    let corner: Vec<f64> = text(child(merc, WMTS, "TileMatrix"), WMTS, "TopLeftCorner")
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        (corner[0] + 20_037_508.342_789_244).abs() < 1e-6
            && (corner[1] - 20_037_508.342_789_244).abs() < 1e-6
    );
}

/// Children of a Layer, in the order `LayerType` (WMTS 1.0 schema) requires.
const LAYER_ORDER: [&str; 12] = [
    "Title",
    "Abstract",
    "Keywords",
    "WGS84BoundingBox",
    "Identifier",
    "BoundingBox",
    "Style",
    "Format",
    "InfoFormat",
    "Dimension",
    "TileMatrixSetLink",
    "ResourceURL",
];

#[test]
fn layer_children_follow_schema_order() {
    let xml = doc_string();
    let doc = Document::parse(&xml).unwrap();
    for layer in layers(&doc).values() {
        let ranks: Vec<usize> = layer
            .children()
            .filter(Node::is_element)
            .map(|c| {
                LAYER_ORDER
                    .iter()
                    .position(|n| *n == c.tag_name().name())
                    .unwrap_or_else(|| panic!("unexpected {:?}", c.tag_name()))
            })
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }
}

#[test]
fn empty_catalog_is_still_a_valid_document() {
    let xml = wmts_capabilities(&protocol::Catalog::default(), BASE, now());
    let doc = Document::parse(&xml).unwrap();
    assert!(layers(&doc).is_empty());
    let contents = child(doc.root_element(), WMTS, "Contents");
    assert_eq!(children(contents, WMTS, "TileMatrixSet").count(), 2);
}
