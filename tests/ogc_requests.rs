//! The OGC requests besides GetTile, end to end against `wxfarm serve`:
//! legends, feature info (WMTS and WMS), WMS GetMap and capabilities.

mod support;

use protocol::TileMatrixSetId;
use support::{Server, default_gradient, demo_data, get, rgba};

fn find_file(dir: &std::path::Path, needle: &str) -> std::path::PathBuf {
    support::find_file(dir, needle).unwrap_or_else(|| panic!("no {needle} under {}", dir.display()))
}

#[tokio::test]
async fn legends_show_the_ramp_the_tiles_use() {
    let server = Server::start(demo_data(), &[]);
    let (status, headers, body) =
        get(&format!("{}/legend/gfs_TMP_2m/gradient.png", server.url)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    let (w, h, px) = rgba(&body);
    assert_eq!((w, h), (320, 64));
    let at = |x: usize, y: usize| -> [u8; 4] {
        px[(y * w as usize + x) * 4..(y * w as usize + x) * 4 + 4]
            .try_into()
            .unwrap()
    };
    // The bar runs from the ramp's first colour (−40 °C) to its last (45 °C).
    let gradient = default_gradient(0, 0, 0);
    let mid_y = 30;
    let near = |a: [u8; 4], b: [u8; 4]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12);
    assert!(
        near(at(9, mid_y), gradient.color(233.15 + 0.3)),
        "{:?}",
        at(9, mid_y)
    );
    assert!(
        near(at(310, mid_y), gradient.color(318.15 - 0.3)),
        "{:?}",
        at(310, mid_y)
    );
    // Title and tick labels are drawn in ink.
    let ink = |y0: usize, y1: usize| {
        (y0..y1)
            .flat_map(|y| (0..w as usize).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y) == [20, 20, 20, 255])
            .count()
    };
    assert!(ink(4, 12) > 50, "title");
    assert!(ink(48, 60) > 30, "tick labels");

    // Per-request options reach the legend: a 0..10 °C range.
    let (_, _, body) = get(&format!(
        "{}/legend/gfs_TMP_2m/gradient.png?COLORSCALERANGE=0,10&WIDTH=200&HEIGHT=50",
        server.url
    ))
    .await;
    let (w2, h2, narrow) = rgba(&body);
    assert_eq!((w2, h2), (200, 50));
    let (_, _, full) = rgba(
        &get(&format!(
            "{}/legend/gfs_TMP_2m/gradient.png?WIDTH=200&HEIGHT=50",
            server.url
        ))
        .await
        .2,
    );
    // The whole ramp is stretched over 0..10 °C, so the bar keeps its
    // colours while the tick labels change: the two legends differ, and
    // only in the label rows (below the bar).
    let differing_rows: Vec<usize> = (0..50)
        .filter(|y| {
            let row = |img: &[u8]| img[y * 200 * 4..(y + 1) * 200 * 4].to_vec();
            row(&full) != row(&narrow)
        })
        .collect();
    assert!(!differing_rows.is_empty(), "the range reaches the legend");
    // Bar rows: mostly opaque colour that is neither ink nor background.
    let bar_rows: Vec<usize> = (0..50)
        .filter(|y| {
            full[y * 200 * 4..(y + 1) * 200 * 4]
                .chunks(4)
                .filter(|p| p[3] == 255 && p[..3] != [20, 20, 20] && p[..3] != [255, 255, 255])
                .count()
                > 150
        })
        .collect();
    assert!(bar_rows.len() >= 5, "a colour bar: rows {bar_rows:?}");
    // The temperature ramp's documented stops, pinned literally (purple
    // cold end, cyan at 45 %, green at 55 %, dark red hot end): a swapped
    // or changed stop fails here whatever the code computes.
    let y = bar_rows[bar_rows.len() / 2];
    let coloured: Vec<usize> = (0..200)
        .filter(|&x| {
            let p = &full[(y * 200 + x) * 4..(y * 200 + x) * 4 + 4];
            p[3] == 255 && p[..3] != [20, 20, 20] && p[..3] != [255, 255, 255]
        })
        .collect();
    let (x0, x1) = (coloured[0], coloured[coloured.len() - 1]);
    for (fraction, expected) in [
        (0.0, [145, 0, 161]),
        (0.45, [90, 220, 230]),
        (0.55, [120, 210, 90]),
        (1.0, [180, 10, 30]),
    ] {
        let x = x0 + ((x1 - x0) as f64 * fraction).round() as usize;
        let p = &full[(y * 200 + x) * 4..(y * 200 + x) * 4 + 3];
        assert!(
            p.iter().zip(expected).all(|(a, b)| a.abs_diff(b) <= 12),
            "ramp at {fraction}: {p:?}, documented {expected:?}"
        );
    }
    assert!(
        differing_rows.iter().all(|y| !bar_rows.contains(y)),
        "the bar is the same ramp: rows {differing_rows:?} differ, bar {bar_rows:?}"
    );
    let (status, _, _) = get(&format!(
        "{}/legend/gfs_TMP_2m/gradient.png?WIDTH=5",
        server.url
    ))
    .await;
    assert_eq!(status, 400);
}

/// The demo run's f001 2 m temperature (K) at (lon, lat), interpolated
/// bilinearly here by hand from the decoded grid's own geometry.
fn demo_f001_by_hand(lon: f64, lat: f64) -> f64 {
    let file = std::fs::read(find_file(demo_data(), "f001")).expect("f001");
    let grid = decode::decode_message(&file, 0).expect("TMP");
    let decode::GridGeometry::LatLon {
        lon0,
        lat0,
        dlon,
        dlat,
    } = grid.geometry
    else {
        panic!("the demo grid is regular lat/lon");
    };
    let fi = (lon - lon0).rem_euclid(360.0) / dlon;
    let fj = (lat - lat0) / dlat;
    let (i0, j0) = (fi.floor() as usize, fj.floor() as usize);
    let (tx, ty) = (fi - fi.floor(), fj - fj.floor());
    let v = |i: usize, j: usize| f64::from(grid.value(i % grid.ni, j));
    v(i0, j0) * (1.0 - tx) * (1.0 - ty)
        + v(i0 + 1, j0) * tx * (1.0 - ty)
        + v(i0, j0 + 1) * (1.0 - tx) * ty
        + v(i0 + 1, j0 + 1) * tx * ty
}

#[tokio::test]
async fn feature_info_reports_the_value_under_the_pixel() {
    let server = Server::start(demo_data(), &[]);
    let base = format!(
        "{}/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo&VERSION=1.0.0&LAYER=gfs_TMP_2m&STYLE=default&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=3&TILEROW=2&TILECOL=4&I=100&J=60",
        server.url
    );
    let (status, _, body) = get(&format!("{base}&INFOFORMAT=application/json&forecast=1")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let tms = TileMatrixSetId::WebMercatorQuad;
    let (lon, lat) = (
        tms.pixel_lons(3, 4, 256)[100],
        tms.pixel_lats(3, 2, 256)[60],
    );
    assert!(
        (info["lon"].as_f64().unwrap() - lon).abs() < 1e-9
            && (info["lat"].as_f64().unwrap() - lat).abs() < 1e-9
    );
    assert_eq!(info["units"], "°C");
    assert_eq!(info["run"], "2025-06-01T00:00:00Z");
    // The value equals bilinear interpolation of the decoded field, in °C,
    // done here by hand from the grid's own geometry (the server's sampler
    // is not asked).
    let kelvin = demo_f001_by_hand(lon, lat);
    let got = info["values"][0]["value"].as_f64().expect("value");
    assert!(
        (got - (kelvin - 273.15)).abs() < 1e-3,
        "ours {got}, by hand {}",
        kelvin - 273.15
    );
    // The nearest grid point is within half a 1° cell.
    assert!((info["grid_lon"].as_f64().unwrap() - lon).abs() <= 0.5 + 1e-9);
    assert!((info["grid_lat"].as_f64().unwrap() - lat).abs() <= 0.5 + 1e-9);

    // A forecast range gives a time series, in valid-time order.
    let (_, _, body) = get(&format!("{base}&INFOFORMAT=application/json&forecast=0/3")).await;
    let series: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let hours: Vec<f64> = series["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["forecast_hours"].as_f64().unwrap())
        .collect();
    assert_eq!(hours, vec![0.0, 1.0, 2.0, 3.0]);

    // REST template and HTML.
    let (status, headers, body) = get(&format!(
        "{}/wmts/1.0.0/gfs_TMP_2m/default/WebMercatorQuad/3/2/4/60/100.html?forecast=1",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&body).contains(&format!("{got:.2} °C")));

    // Wind layers answer with speed and direction.
    let (_, _, body) = get(&format!(
        "{}&INFOFORMAT=application/json",
        base.replace("gfs_TMP_2m", "gfs_WIND_10m")
    ))
    .await;
    let wind: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(wind["units"], "kt");
    let dir = wind["values"][0]["direction_deg"]
        .as_f64()
        .expect("direction");
    assert!((0.0..360.0).contains(&dir));

    let cases = [
        (
            base.replace("&I=100", "&I=300") + "&INFOFORMAT=application/json",
            "PointIJOutOfRange",
        ),
        (
            base.clone() + "&INFOFORMAT=text/xml",
            "InvalidParameterValue",
        ),
        (
            base.clone() + "&INFOFORMAT=application/json&forecast=40/50",
            "InvalidParameterValue",
        ),
        (
            base.replace("&I=100", "") + "&INFOFORMAT=application/json",
            "MissingParameterValue",
        ),
    ];
    for (url, code) in cases {
        let extra = &url[base.len().min(url.len())..];
        let (status, _, body) = get(&url).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{extra}: {text}");
        assert!(text.contains(code), "{extra}: {text}");
    }
}

#[tokio::test]
async fn wms_get_map_draws_any_bbox_in_each_crs() {
    let server = Server::start(demo_data(), &[]);
    let file = std::fs::read(find_file(demo_data(), "f000")).expect("f000");
    let grid = decode::decode_message(&file, 0).expect("TMP");
    let gradient = default_gradient(0, 0, 0);
    let wms = |crs: &str, bbox: &str, w: u32, h: u32| {
        format!(
            "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_TMP_2m&STYLES=&CRS={crs}&BBOX={bbox}&WIDTH={w}&HEIGHT={h}&FORMAT=image/png&TIME=2025-06-01T00:00:00Z",
            server.url
        )
    };
    // The same area three ways: EPSG:4326 is latitude first in WMS 1.3.0.
    let area = protocol::MapArea {
        crs: protocol::MapCrs::LonLat,
        bbox: [-130.0, 20.0, -60.0, 55.0],
        width: 350,
        height: 175,
    };
    let mut images = Vec::new();
    for (crs, bbox) in [
        ("EPSG:4326", "20,-130,55,-60"),
        ("CRS:84", "-130,20,-60,55"),
    ] {
        let (status, headers, body) = get(&wms(crs, bbox, 350, 175)).await;
        assert_eq!(status, 200, "{crs}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "image/png");
        let (w, h, px) = rgba(&body);
        assert_eq!((w, h), (350, 175));
        let axes = (area.pixel_lons(), area.pixel_lats());
        let points = [(10, 10), (175, 90), (340, 170)];
        support::assert_image_pixels_match_grid(&px, &axes, &points, &grid, &gradient);
        images.push(px);
    }
    assert_eq!(
        images[0], images[1],
        "EPSG:4326 and CRS:84 describe the same map"
    );
    // Mercator: a map equal to one tile's extent equals that tile.
    let tms = TileMatrixSetId::WebMercatorQuad;
    let (x0, y1) = (
        -20037508.342789244 + 3.0 * 20037508.342789244 / 2.0,
        20037508.342789244 - 20037508.342789244 / 2.0,
    );
    let span = 20037508.342789244 / 2.0;
    let bbox = format!("{},{},{},{}", x0, y1 - span, x0 + span, y1);
    let (status, _, map) = get(&wms("EPSG:3857", &bbox, 256, 256)).await;
    assert_eq!(status, 200);
    let (_, _, tile) = get(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/2/3/1.png?forecast=0&run=2025-06-01T00:00:00Z",
        server.url
    ))
    .await;
    let _ = tms;
    assert_eq!(
        rgba(&map).2,
        rgba(&tile).2,
        "WMS map of a tile's extent = the tile"
    );

    for (url, code, expected) in [
        (wms("EPSG:99999", "0,0,1,1", 10, 10), "InvalidCRS", 400),
        (
            wms("EPSG:4326", "55,-60,20,-130", 10, 10),
            "InvalidParameterValue",
            400,
        ),
        (
            wms("EPSG:4326", "20,-130,55,-60", 9000, 10),
            "InvalidParameterValue",
            400,
        ),
        (
            wms("EPSG:4326", "20,-130,55,-60", 10, 10).replace("image/png", "image/gif"),
            "InvalidFormat",
            400,
        ),
        (
            wms("EPSG:4326", "20,-130,55,-60", 10, 10).replace("gfs_TMP_2m", "nope"),
            "LayerNotDefined",
            404,
        ),
        (
            wms("EPSG:4326", "20,-130,55,-60", 10, 10)
                .replace("TIME=2025-06-01T00:00:00Z", "TIME=1999-01-01T00:00:00Z"),
            "InvalidDimensionValue",
            400,
        ),
    ] {
        let (status, _, body) = get(&url).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, expected, "{url}");
        assert!(
            text.contains("ServiceExceptionReport") && text.contains(&format!("code=\"{code}\"")),
            "{url}: {text}"
        );
    }
}

#[tokio::test]
async fn wms_feature_info_legend_and_capabilities() {
    let server = Server::start(demo_data(), &[]);
    let map = "LAYERS=gfs_TMP_2m&STYLES=&CRS=CRS:84&BBOX=-130,20,-60,55&WIDTH=350&HEIGHT=175&TIME=2025-06-01T01:00:00Z";
    let (status, _, body) = get(&format!("{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&{map}&QUERY_LAYERS=gfs_TMP_2m&I=175&J=90&INFO_FORMAT=application/json", server.url)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    // Pixel centres in closed form: 0.2° pixels from the box's west and
    // north edges.
    let (lon, lat) = (-130.0 + 0.2 * 175.5, 55.0 - 0.2 * 90.5);
    assert!(
        (info["lon"].as_f64().unwrap() - lon).abs() < 1e-9,
        "{}",
        info["lon"]
    );
    assert!(
        (info["lat"].as_f64().unwrap() - lat).abs() < 1e-9,
        "{}",
        info["lat"]
    );
    let got = info["values"][0]["value"].as_f64().expect("value");
    let by_hand = demo_f001_by_hand(lon, lat) - 273.15;
    assert!(
        (got - by_hand).abs() < 1e-3,
        "ours {got}, by hand {by_hand}"
    );

    let (status, headers, body) = get(&format!("{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER=mrms_REFL&FORMAT=image/png", server.url)).await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "image/png")
    );
    assert_eq!(rgba(&body).0, 320);

    let (_, _, body) = get(&format!(
        "{}/wms?SERVICE=WMS&REQUEST=GetCapabilities",
        server.url
    ))
    .await;
    let text = String::from_utf8_lossy(&body);
    let doc = roxmltree::Document::parse(&text).expect("capabilities parse");
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Layer"))
        .filter_map(|l| l.children().find(|c| c.has_tag_name("Name")))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        names.contains(&"gfs_TMP_2m") && names.contains(&"mrms_REFL"),
        "{names:?}"
    );
    assert!(text.contains("name=\"reference_time\"") && text.contains("name=\"time\""));
}

/// GDAS VRATE as wgrib2 dumped it (raw scan order: 1440 × 721, north
/// first, from 0° east): an oracle independent of our decoder.
fn wgrib2_vrate(shared: &std::path::Path) -> Vec<f32> {
    support::wgrib2_reference(shared, "gdas-12-wgrib2-le.bin.xz")
}

#[tokio::test]
async fn feature_info_is_wgrib2_at_grid_nodes_and_their_bilinear_mean_between() {
    let Some(shared) = support::shared_data() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let gdas = "gdas.t12z.pgrb2.0p25.f000.12.xz";
    std::fs::copy(shared.join(gdas), data.path().join(gdas)).expect("copy");
    let server = Server::start(data.path(), &[]);
    let wgrib2 = wgrib2_vrate(&shared);
    assert_eq!(wgrib2.len(), 1440 * 721);
    let node = |lon: f64, lat: f64| {
        let i = (lon / 0.25).round() as usize % 1440;
        let j = ((90.0 - lat) / 0.25).round() as usize;
        f64::from(wgrib2[j * 1440 + i])
    };
    let info = |bbox: &'static str, i: u32, j: u32| {
        let url = format!(
            "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=gfs_VRATE_pbl&QUERY_LAYERS=gfs_VRATE_pbl&STYLES=&CRS=CRS:84&BBOX={bbox}&WIDTH=40&HEIGHT=40&I={i}&J={j}&INFO_FORMAT=application/json",
            server.url
        );
        async move {
            let (status, _, body) = get(&url).await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            v["values"][0]["value"].as_f64().expect("a value")
        }
    };
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-3 * want.abs().max(1.0);
    // A 10° box whose 0.25° pixels are centred on grid nodes: each value is
    // the node's.
    for (i, j) in [(0, 0), (8, 4), (20, 17), (39, 39)] {
        let (lon, lat) = (10.0 + 0.25 * f64::from(i), 49.75 - 0.25 * f64::from(j));
        let (got, want) = (
            info("9.875,39.875,19.875,49.875", i, j).await,
            node(lon, lat),
        );
        assert!(
            close(got, want),
            "({lon}, {lat}): ours {got}, wgrib2 {want}"
        );
    }
    // Shifted half a cell: each pixel centre lies midway between four nodes,
    // where bilinear interpolation is their mean.
    for (i, j) in [(3, 5), (21, 30)] {
        let (lon, lat) = (10.125 + 0.25 * f64::from(i), 49.875 - 0.25 * f64::from(j));
        let mean = (node(lon - 0.125, lat - 0.125)
            + node(lon + 0.125, lat - 0.125)
            + node(lon - 0.125, lat + 0.125)
            + node(lon + 0.125, lat + 0.125))
            / 4.0;
        let got = info("10,40,20,50", i, j).await;
        assert!(
            close(got, mean),
            "({lon}, {lat}): ours {got}, mean of wgrib2's four {mean}"
        );
    }
}

#[tokio::test]
async fn observation_feature_info_has_no_run_or_lead() {
    let server = Server::start(demo_data(), &[]);
    let base = format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=mrms_REFL&QUERY_LAYERS=mrms_REFL&STYLES=&CRS=CRS:84&BBOX=-100,30,-90,40&WIDTH=10&HEIGHT=10&I=5&J=5",
        server.url
    );
    let (status, _, body) = get(&format!("{base}&INFO_FORMAT=application/json")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(info["units"], "dBZ");
    assert!(info.get("run").is_none(), "{info}");
    assert!(info["values"][0].get("forecast_hours").is_none(), "{info}");
    assert!(info["values"][0]["valid"].is_string());
    let (_, _, html) = get(&format!("{base}&INFO_FORMAT=text/html")).await;
    let html = String::from_utf8_lossy(&html);
    assert!(!html.contains("run ") && !html.contains("lead"), "{html}");
    // A model layer keeps both.
    let model = base.replace("mrms_REFL", "gfs_TMP_2m");
    let (_, _, body) = get(&format!("{model}&INFO_FORMAT=application/json")).await;
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(info["run"].is_string() && info["values"][0]["forecast_hours"].is_number());
}
