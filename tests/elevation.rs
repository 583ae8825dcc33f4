//! The `elevation` dimension over HTTP: a file with one real field on two
//! pressure levels (Environment Canada's 1 hPa temperature, and a copy
//! re-labelled 500 hPa whose packing reference value is raised by exactly
//! 10 K) served by `wxfarm serve`. Every endpoint must pick the level asked
//! for: the two levels' values differ by the known 10 K, and the 1 hPa one
//! is wgrib2's.

mod support;

use support::{Server, get, rgba};

const CMC: &str = "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2";
/// What the copy adds to every value, kelvin.
const SHIFT: f64 = 10.0;

/// The byte offsets of each section of a one-message GRIB2 file, by
/// section number.
fn sections(msg: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 16; // section 0
    while at + 5 <= msg.len() && &msg[at..at + 4] != b"7777" {
        let len = u32::from_be_bytes(msg[at..at + 4].try_into().expect("4 bytes")) as usize;
        out.push((msg[at + 4], at, len));
        at += len;
    }
    out
}

/// The message re-labelled as isobaric `pa` pascals, every value shifted by
/// [`SHIFT`] through the packing's reference value R (value = (R + X·2^E) /
/// 10^D, so R + SHIFT·10^D adds SHIFT to each).
fn relabelled(msg: &[u8], pa: u32) -> Vec<u8> {
    let mut out = msg.to_vec();
    let find = |n: u8| {
        sections(msg)
            .into_iter()
            .find(|s| s.0 == n)
            .unwrap_or_else(|| panic!("section {n}"))
            .1
    };
    let s4 = find(4);
    assert_eq!(
        u16::from_be_bytes([msg[s4 + 7], msg[s4 + 8]]),
        0,
        "template 4.0"
    );
    assert_eq!(msg[s4 + 22], 100, "isobaric surface");
    out[s4 + 23] = 0; // scale factor
    out[s4 + 24..s4 + 28].copy_from_slice(&pa.to_be_bytes());
    let s5 = find(5);
    let r = f32::from_be_bytes(msg[s5 + 11..s5 + 15].try_into().expect("R"));
    let d = i16::from_be_bytes([msg[s5 + 17], msg[s5 + 18]]);
    // Section 5's D is sign-and-magnitude; CMC's is small and positive.
    assert!((0..6).contains(&d), "decimal scale {d}");
    let shifted = r + (SHIFT * 10f64.powi(i32::from(d))) as f32;
    out[s5 + 11..s5 + 15].copy_from_slice(&shifted.to_be_bytes());
    out
}

#[tokio::test]
async fn each_endpoint_serves_the_elevation_asked_for() {
    let Some(shared) = support::shared_data() else {
        return;
    };
    let original = std::fs::read(shared.join(CMC)).expect("CMC sample");
    let mut two_levels = original.clone();
    two_levels.extend(relabelled(&original, 50_000));
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("cmc_two_levels.grib2"), &two_levels).expect("write");
    let server = Server::start(data.path(), &[]);

    // The layer and its two levels, as /api/layers lists them.
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let layers: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let layer = layers
        .as_array()
        .expect("list")
        .iter()
        .find(|l| l["elevations"].as_array().is_some_and(|e| e.len() == 2))
        .unwrap_or_else(|| panic!("a layer with two levels in {layers}"));
    let name = layer["name"].as_str().expect("name");
    let levels: Vec<String> = layer["elevations"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|e| e.as_str().expect("text").to_owned())
        .collect();
    assert_eq!(
        levels
            .iter()
            .map(|l| l.parse::<f64>().ok())
            .collect::<Vec<_>>(),
        [Some(1.0), Some(500.0)],
        "{levels:?}"
    );

    // WMS capabilities list both as the layer's elevation dimension.
    let (_, _, caps) = get(&format!(
        "{}/wms?SERVICE=WMS&REQUEST=GetCapabilities",
        server.url
    ))
    .await;
    let caps = String::from_utf8_lossy(&caps);
    let dim = caps
        .split("name=\"elevation\"")
        .nth(1)
        .and_then(|rest| rest.split("</Dimension>").next())
        .expect("an elevation dimension");
    assert!(
        dim.contains(&levels[0]) && dim.contains(&levels[1]),
        "{dim}"
    );

    // Feature info at a grid node: 1 hPa is wgrib2's value, 500 hPa 10 K more.
    // CMC's 1 hPa temperature as wgrib2 dumped it (raw order).
    let wgrib2 = support::wgrib2_reference(&shared, "cmc-glb-wgrib2-le.bin.xz");
    let ni = 1500;
    assert_eq!(wgrib2.len(), ni * 751, "0.24° global grid");
    // Rows from 90° S northward, columns from 180° E: (12° E, 48° N) is
    // column (12 + 180) / 0.24 = 800, row (48 + 90) / 0.24 = 575.
    let (lon, lat) = (12.0, 48.0);
    let node = f64::from(wgrib2[575 * ni + 800]);
    let info = |level: String| {
        let url = format!(
            "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS={name}&QUERY_LAYERS={name}&STYLES=&CRS=CRS:84&BBOX={},{},{},{}&WIDTH=1&HEIGHT=1&I=0&J=0&INFO_FORMAT=application/json&ELEVATION={level}",
            server.url,
            lon - 0.01,
            lat - 0.01,
            lon + 0.01,
            lat + 0.01
        );
        async move {
            let (status, _, body) = get(&url).await;
            assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            (
                v["values"][0]["value"].as_f64().expect("a value"),
                v["elevation"].as_str().map(str::to_owned),
            )
        }
    };
    let (low, said_low) = info(levels[0].clone()).await;
    let (high, said_high) = info(levels[1].clone()).await;
    // Display units are °C; wgrib2 writes kelvin.
    assert!(
        (low - (node - 273.15)).abs() < 1e-3,
        "1 hPa: ours {low}, wgrib2 {node} K"
    );
    assert!(
        (high - low - SHIFT).abs() < 1e-3,
        "500 hPa {high} vs 1 hPa {low}"
    );
    assert_eq!(
        (said_low, said_high),
        (Some(levels[0].clone()), Some(levels[1].clone()))
    );

    // Tiles (XYZ and WMTS KVP) of the two levels differ, and each level's
    // tile is the same through both endpoints.
    let xyz = |level: &str| {
        format!(
            "{}/tiles/{name}/gradient/2/2/1.png?elevation={level}",
            server.url
        )
    };
    let kvp = |level: &str| {
        format!(
            "{}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={name}&STYLE=default&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=2&TILEROW=1&TILECOL=2&FORMAT=image/png&elevation={level}",
            server.url
        )
    };
    let pixels = |url: String| async move {
        let (status, _, body) = get(&url).await;
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
        rgba(&body).2
    };
    let (a, b) = (pixels(xyz(&levels[0])).await, pixels(xyz(&levels[1])).await);
    assert_ne!(a, b, "the levels' tiles differ");
    assert_eq!(a, pixels(kvp(&levels[0])).await);
    assert_eq!(b, pixels(kvp(&levels[1])).await);

    // A level the layer does not have is an OGC error naming the dimension:
    // WMTS's InvalidParameterValue, WMS 1.3's InvalidDimensionValue.
    let (status, _, body) = get(&xyz("850")).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("exceptionCode=\"InvalidParameterValue\" locator=\"elevation\""),
        "{text}"
    );
    let (status, _, body) = get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={name}&STYLES=&CRS=CRS:84&BBOX=0,40,20,60&WIDTH=20&HEIGHT=20&FORMAT=image/png&ELEVATION=850",
        server.url
    ))
    .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("code=\"InvalidDimensionValue\""), "{text}");
}
