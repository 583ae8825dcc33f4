//! The weather styles served over HTTP: which layer offers which style,
//! their tiles and legends by content, WMS maps that line up with tiles,
//! and clear errors for styles or options that do not apply.

mod support;

use support::{Server, demo_data, get, rgba};

/// The styles a wind layer offers, the default first.
const WIND_STYLES: [&str; 5] = [
    "gradient",
    "isolines",
    "filled_contours",
    "wind_barbs",
    "wind_arrows",
];

/// Pixels drawn dark and mostly opaque: lines, symbols, label ink.
fn dark_ink(px: &[u8]) -> usize {
    px.chunks(4).filter(|p| p[3] > 128 && p[0] < 80).count()
}

#[tokio::test]
async fn wind_layers_serve_barbs_and_arrows_and_scalar_layers_refuse_them() {
    let server = Server::start(demo_data(), &[]);
    // The viewer's style menu comes from /api/layers.
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let styles_of = |name: &str| {
        layers
            .as_array()
            .and_then(|l| l.iter().find(|l| l["name"] == name))
            .map(|l| l["styles"].clone())
    };
    assert_eq!(
        styles_of("gfs_WIND_10m"),
        Some(serde_json::json!(WIND_STYLES))
    );
    assert_eq!(
        styles_of("gfs_TMP_2m"),
        Some(serde_json::json!([
            "gradient",
            "isolines",
            "filled_contours"
        ]))
    );
    for style in ["wind_barbs", "wind_arrows"] {
        let (status, headers, body) = get(&format!(
            "{}/tiles/gfs_WIND_10m/{style}/2/1/1.png?forecast=0",
            server.url
        ))
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "image/png");
        let (_, _, px) = rgba(&body);
        let clear = px.chunks(4).filter(|p| p[3] == 0).count();
        let ink = dark_ink(&px);
        assert!(ink > 300, "{style}: symbols drawn ({ink} dark px)");
        assert!(
            clear > px.len() / 4 / 2,
            "{style}: an overlay, mostly clear"
        );
    }
    // Barbs coloured by speed use the wind ramp, not black.
    let (_, _, body) = get(&format!(
        "{}/tiles/gfs_WIND_10m/wind_barbs/2/1/1.png?forecast=0&COLORBYSPEED=true",
        server.url
    ))
    .await;
    let (_, _, px) = rgba(&body);
    assert!(
        dark_ink(&px) < 100,
        "coloured, not black: {}",
        dark_ink(&px)
    );
    assert!(px.chunks(4).filter(|p| p[3] == 255 && p[1] > 120).count() > 200);

    let (status, _, body) = get(&format!(
        "{}/tiles/gfs_TMP_2m/wind_barbs/2/1/1.png",
        server.url
    ))
    .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("InvalidParameterValue") && text.contains("it offers: gradient, isolines"),
        "{text}"
    );
    for bad in ["CONTOURINTERVAL=0", "COLORBYSPEED=often", "SYMBOLSPACING=2"] {
        let (status, _, body) = get(&format!(
            "{}/tiles/gfs_WIND_10m/wind_barbs/2/1/1.png?{bad}",
            server.url
        ))
        .await;
        let text = String::from_utf8_lossy(&body);
        let name = bad
            .split('=')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert_eq!(status, 400, "{bad}: {text}");
        assert!(
            text.contains(&format!("locator=\"{name}\"")),
            "{bad}: {text}"
        );
    }
}

#[tokio::test]
async fn capabilities_list_each_layers_styles_with_a_legend_each() {
    let server = Server::start(demo_data(), &[]);
    let (_, _, body) = get(&format!(
        "{}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
        server.url
    ))
    .await;
    let caps = String::from_utf8_lossy(&body);
    let layer_xml = |name: &str| -> String {
        let start = caps
            .find(&format!("<ows:Identifier>{name}</ows:Identifier>"))
            .unwrap_or_else(|| panic!("{name} listed"));
        let end = caps[start..].find("</Layer>").expect("layer end") + start;
        caps[start..end].to_owned()
    };
    let wind = layer_xml("gfs_WIND_10m");
    for style in WIND_STYLES {
        assert!(
            wind.contains(&format!("<ows:Identifier>{style}</ows:Identifier>")),
            "{style}"
        );
        assert!(
            wind.contains(&format!("/legend/gfs_WIND_10m/{style}.png")),
            "{style}"
        );
    }
    assert_eq!(wind.matches("isDefault=\"true\"").count(), 1);
    let temperature = layer_xml("gfs_TMP_2m");
    assert!(temperature.contains("<ows:Identifier>isolines</ows:Identifier>"));
    assert!(!temperature.contains("wind_barbs"));

    // Every legend advertised is a PNG with ink on it.
    for style in WIND_STYLES {
        let (status, _, body) =
            get(&format!("{}/legend/gfs_WIND_10m/{style}.png", server.url)).await;
        assert_eq!(status, 200, "{style}");
        let (w, h, px) = rgba(&body);
        assert_eq!((w, h), (320, 64));
        assert!(dark_ink(&px) > 80, "{style}: legend inked");
    }
    // Keys differ by style: barbs are not the colour bar.
    let bar = get(&format!("{}/legend/gfs_WIND_10m/gradient.png", server.url))
        .await
        .2;
    let barbs = get(&format!(
        "{}/legend/gfs_WIND_10m/wind_barbs.png",
        server.url
    ))
    .await
    .2;
    assert_ne!(rgba(&bar).2, rgba(&barbs).2);
}

#[tokio::test]
async fn wms_barbs_map_of_a_tile_box_is_that_tile() {
    let server = Server::start(demo_data(), &[]);
    // Tile z2 (2, 1): 0..90°E, 0..66.5°N in Web Mercator metres.
    let half = 20037508.342789244;
    let map = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_WIND_10m&STYLES=wind_barbs&CRS=EPSG:3857&BBOX=0,0,{},{}&WIDTH=256&HEIGHT=256&FORMAT=image/png",
        server.url,
        half / 2.0,
        half / 2.0,
    );
    let (status, _, body) = get(&map).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (_, _, tile) = get(&format!(
        "{}/tiles/gfs_WIND_10m/wind_barbs/2/2/1.png",
        server.url
    ))
    .await;
    let (map, tile) = (rgba(&body).2, rgba(&tile).2);
    assert!(dark_ink(&tile) > 500);
    // The README promises the same image: exactly.
    assert_eq!(
        support::differing_pixels(&map, &tile, 0),
        0,
        "pixels differ"
    );
}
