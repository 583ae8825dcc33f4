//! README claims checked over HTTP against a real `serve`: compressed
//! ingest, 512 px tiles, WorldCRS84Quad, WMS maps equal to tiles, and the
//! effect (not only the validation) of the colour options.

mod support;

use std::collections::BTreeSet;
use std::io::Write;

use support::{Server, demo_data, find_file, get, rgba, run_time};

fn run() -> String {
    run_time().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn image(url: &str) -> (u32, u32, Vec<u8>) {
    let (status, headers, body) = get(url).await;
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "image/png");
    rgba(&body)
}

fn opaque_colours(px: &[u8]) -> BTreeSet<[u8; 4]> {
    px.chunks(4)
        .filter(|p| p[3] != 0)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect()
}

#[tokio::test]
async fn a_gzipped_grib_ingested_into_a_data_folder_is_served() {
    let data = tempfile::tempdir().expect("tempdir");
    let raw = std::fs::read(find_file(demo_data(), "f002").expect("f002")).expect("read");
    let gz = data.path().join("upload-f002.grib2.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).expect("gzip");
    let staged = tempfile::tempdir().expect("tempdir");
    let file = staged.path().join("upload-f002.grib2.gz");
    std::fs::write(&file, enc.finish().expect("gzip")).expect("write");
    support::ingest_into(data.path(), &file);
    assert!(!gz.exists(), "the data folder holds the decompressed file");
    assert_eq!(
        std::fs::read(data.path().join("upload-f002.grib2")).expect("decompressed"),
        raw
    );
    let server = Server::start(data.path(), &[]);
    let (w, h, px) = image(&format!(
        "{}/tiles/gfs_TMP_2m/gradient/1/0/0.png?run={}&forecast=2",
        server.url,
        run()
    ))
    .await;
    assert_eq!((w, h), (256, 256));
    assert!(opaque_colours(&px).len() > 20, "a real temperature field");
}

#[tokio::test]
async fn tiles_maps_and_sizes_agree_pixel_for_pixel() {
    let server = Server::start(demo_data(), &[]);
    let url = &server.url;
    let q = format!("run={}&forecast=1", run());
    // A 512 px tile of z2 has the pixels of the four 256 px tiles of z3.
    let (w, h, big) = image(&format!(
        "{url}/tiles/gfs_TMP_2m/gradient/2/1/1.png?{q}&tilesize=512"
    ))
    .await;
    assert_eq!((w, h), (512, 512));
    let (_, _, child) = image(&format!("{url}/tiles/gfs_TMP_2m/gradient/3/3/2.png?{q}")).await;
    // Child (3, 2) is the parent's top-right quadrant.
    for r in 0..256usize {
        let from = (r * 512 + 256) * 4;
        assert_eq!(
            &big[from..from + 1024],
            &child[r * 1024..(r + 1) * 1024],
            "row {r}"
        );
    }
    // WorldCRS84Quad over WMTS REST, and the WMS map of the same box.
    let (w, h, tile) = image(&format!(
        "{url}/wmts/1.0.0/gfs_TMP_2m/default/WorldCRS84Quad/1/0/1.png?{q}"
    ))
    .await;
    assert_eq!((w, h), (256, 256));
    assert!(opaque_colours(&tile).len() > 20);
    // z1 of CRS84: 90° tiles; column 1, row 0 spans 90°W–0°, 0°–90°N.
    let (_, _, map) = image(&format!(
        "{url}/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.3.0&LAYERS=gfs_TMP_2m&STYLES=gradient\
         &CRS=CRS:84&BBOX=-90,0,0,90&WIDTH=256&HEIGHT=256&FORMAT=image/png\
         &DIM_REFERENCE_TIME={}&TIME={}",
        run(),
        (run_time() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
    ))
    .await;
    assert_eq!(map, tile, "the WMS map of a tile's box is the tile");
}

#[tokio::test]
async fn colour_options_change_the_pixels_as_documented() {
    let server = Server::start(demo_data(), &[]);
    let base = format!(
        "{}/tiles/gfs_TMP_2m/gradient/1/0/0.png?run={}&forecast=0",
        server.url,
        run()
    );
    let default = opaque_colours(&image(&base).await.2);
    assert!(
        default.len() > 40,
        "a continuous ramp: {} colours",
        default.len()
    );
    // NUMCOLORBANDS: at most that many colours.
    let banded = opaque_colours(&image(&format!("{base}&NUMCOLORBANDS=4")).await.2);
    assert!((2..=4).contains(&banded.len()), "{banded:?}");
    // A range entirely above the data, with an explicit below-range
    // colour: every pixel takes it.
    let below = opaque_colours(
        &image(&format!(
            "{base}&COLORSCALERANGE=100,200&BELOWMINCOLOR=0x00FF00"
        ))
        .await
        .2,
    );
    assert_eq!(below, BTreeSet::from([[0, 255, 0, 255]]));
    // A range entirely below the data: ABOVEMAXCOLOR everywhere, and a
    // transparent one clears the tile.
    let above = opaque_colours(
        &image(&format!(
            "{base}&COLORSCALERANGE=-300,-200&ABOVEMAXCOLOR=0xFF00FF"
        ))
        .await
        .2,
    );
    assert_eq!(above, BTreeSet::from([[255, 0, 255, 255]]));
    let cleared = image(&format!(
        "{base}&COLORSCALERANGE=-300,-200&ABOVEMAXCOLOR=transparent"
    ))
    .await
    .2;
    assert!(cleared.chunks(4).all(|p| p[3] == 0));
    // UNITS moves the range into other units: °F with the same range
    // converted draws the same map (up to f32 rounding at a few band
    // edges), and the same numbers in °F draw a different one.
    let celsius = image(&format!("{base}&COLORSCALERANGE=-40,45")).await.2;
    let fahrenheit = image(&format!("{base}&UNITS=degF&COLORSCALERANGE=-40,113"))
        .await
        .2;
    let same_numbers = image(&format!("{base}&UNITS=degF&COLORSCALERANGE=-40,45"))
        .await
        .2;
    let px = celsius.len() / 4;
    assert!(support::differing_pixels(&celsius, &fahrenheit, 0) * 200 < px);
    assert!(support::differing_pixels(&celsius, &same_numbers, 0) * 2 > px);
}
