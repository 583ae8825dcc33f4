//! The viewer in a real browser: headless Chromium (Debian `chromium`,
//! installed by scripts/setup.sh) opens `/` with a shared link's
//! `?layer=…&style=…`, runs Leaflet, and loads our tiles.

mod support;

use std::process::Command;

use support::{Server, demo_data};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test]
async fn the_viewer_loads_wind_barb_tiles_from_a_shared_link() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let url = format!("{}/?layer=gfs_WIND_10m&style=wind_barbs", server.url);
    let dom = dump_dom(browser, url, 10_000).await;
    // Leaflet marks a tile image loaded once the browser decoded it.
    let loaded: Vec<&str> = dom
        .split("<img")
        .skip(1)
        .filter(|img| img.contains("leaflet-tile-loaded"))
        .filter_map(|img| img.split("src=\"").nth(1)?.split('"').next())
        .filter(|src| src.starts_with("/tiles/"))
        .collect();
    assert!(
        loaded.len() >= 4,
        "our tiles loaded in the browser: {loaded:?}"
    );
    assert!(
        loaded
            .iter()
            .all(|src| src.starts_with("/tiles/gfs_WIND_10m/wind_barbs/")),
        "the link's layer and style: {loaded:?}"
    );
    // The style menu offers the wind layer's styles.
    assert!(
        dom.contains(r#"<option value="wind_arrows">"#),
        "style menu"
    );
}

/// `?view=z/lat/lon` opens the map there: the tiles requested are the ones
/// around that point at that zoom.
#[tokio::test]
async fn a_shared_view_opens_the_same_map() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let (z, lat, lon) = (6u32, 50.0f64, 10.0f64);
    let dom = dump_dom(
        browser,
        format!("{}/?layer=gfs_TMP_2m&view={z}/{lat}/{lon}", server.url),
        8_000,
    )
    .await;
    // The tile under the centre, by the Web Mercator tile formulas.
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    let centre = format!("/tiles/gfs_TMP_2m/gradient/{z}/{x}/{y}.png");
    assert!(dom.contains(&centre), "{centre} requested in\n{dom}");
    assert!(
        !dom.contains("/tiles/gfs_TMP_2m/gradient/4/"),
        "no tiles of the default view (z4)"
    );
}

/// A click on radar where radars see but nothing echoes (MRMS −99 dBZ)
/// says "no echo", not a number.
#[tokio::test]
async fn radar_without_echo_reads_no_echo() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let path = support::find_file(demo_data(), "MergedReflectivityQCComposite").expect("radar");
    let grid = decode::decode_message(&std::fs::read(&path).expect("read"), 0).expect("decodes");
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let stamp = &name[name.len() - 21..name.len() - 6];
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S")
        .expect("stamp")
        .and_utc()
        .format("%Y-%m-%dT%H:%M:%SZ");
    // A grid point in a 5×5 block of no echo, so the nearest point is one.
    let clear = |i: usize, j: usize| grid.value(i, j) == -99.0;
    let (i, j) = (2..grid.nj - 2)
        .flat_map(|j| (2..grid.ni - 2).map(move |i| (i, j)))
        .find(|&(i, j)| (i - 2..=i + 2).all(|a| (j - 2..=j + 2).all(|b| clear(a, b))))
        .expect("a no-echo area");
    let (lon, lat) = grid.lonlat(i as f64, j as f64);
    let dom = dump_dom(
        browser,
        format!(
            "{}/?layer=mrms_REFL&time={time}&info={lat},{lon}",
            server.url
        ),
        6_000,
    )
    .await;
    assert!(dom.contains("<b id=\"value\">no echo</b>"), "in\n{dom}");
}

/// Satellite scans in the viewer: the layer is listed with its title, the
/// slider steps through scan times, and Play loads the next scan's tiles.
#[tokio::test]
async fn the_viewer_lists_and_plays_satellite_scans() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = demo::DemoOptions {
        run: support::run_time(),
        ..Default::default()
    };
    demo::satellite::write_scans(dir.path(), &opts, 2).expect("scans");
    let server = Server::start(dir.path(), &[]);
    let dom = dump_dom(
        browser,
        format!("{}/?layer=goes16_C13_conus&play=1", server.url),
        12_000,
    )
    .await;
    assert!(
        dom.contains(r#"<optgroup label="Satellite: GOES-16 (East)"><option value="goes16_C13_conus">GOES-16 ABI band 13"#),
        "listed with its title under its satellite in\n{dom}"
    );
    let iso = |k| {
        demo::satellite::scan_time(&opts, k)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    for k in 0..2 {
        let frame = "/tiles/goes16_C13_conus/gradient/4/";
        let time = format!("time={}", iso(k));
        assert!(
            dom.split("<img")
                .any(|img| img.contains(frame) && img.contains(&time)),
            "tiles of scan {k} ({time}) in\n{dom}"
        );
    }
}

static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The DOM of `url` after `budget_ms` of virtual time in headless Chromium
/// (which lets the page's scripts and tile requests run before it is
/// printed).
async fn dump_dom(browser: &'static str, url: String, budget_ms: u32) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = tokio::task::spawn_blocking({
        let profile = profile.path().to_owned();
        move || {
            // One browser at a time: three at once on two cores starve the
            // pages' scripts within their time budget.
            let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
            Command::new(browser)
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--window-size=1000,650",
                ])
                .arg(format!("--virtual-time-budget={budget_ms}"))
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg("--dump-dom")
                .arg(&url)
                .output()
        }
    })
    .await
    .expect("join")
    .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn play_shows_whole_frames_only() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    const TOKEN: &str = "browser-test-admin-token";
    let server = Server::start(demo_data(), &["--admin-token", TOKEN]);
    // Virtual time does not wait for renders: with every frame of the view
    // already in L1, how far Play gets depends on its own timer only.
    let warm = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["warm", "--url", &server.url, "--token", TOKEN])
        .args([
            "--layers",
            "gfs_TMP_2m",
            "--zooms",
            "4",
            "--bbox",
            "-160,0,-30,70",
        ])
        .args(["--forecasts", "0,1,2,3"])
        .output()
        .expect("wxfarm warm");
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
    // How far Play gets within the virtual-time budget depends on the
    // machine's load; what it shows must always be a whole frame. Up to
    // three looks for one where it has moved.
    let url = format!("{}/?layer=gfs_TMP_2m&forecast=0&play=1", server.url);
    let mut attempt = 0;
    let (shown, tiles) = loop {
        attempt += 1;
        let dom = dump_dom(browser, url.clone(), 12_000).await;
        let shown = shown_lead(&dom);
        let tiles = visible_tiles(&dom);
        let frame = format!("forecast={shown}");
        assert!(
            tiles
                .iter()
                .all(|src| src.ends_with(&frame) || src.contains(&format!("{frame}&"))),
            "a whole frame (+{shown} h): {tiles:?}"
        );
        if (shown >= 1 && tiles.len() >= 4) || attempt == 3 {
            break (shown, tiles);
        }
    };
    assert!(shown >= 1, "Play advanced: +{shown} h");
    assert!(tiles.len() >= 4, "tiles shown: {tiles:?}");
}

/// The lead hour the viewer's time label shows ("… UTC (run 00Z +N h)").
fn shown_lead(dom: &str) -> u32 {
    dom.split("id=\"valid\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|label| label.rsplit('+').next())
        .and_then(|lead| lead.trim_end_matches(" h)").trim().parse().ok())
        .unwrap_or_else(|| panic!("no valid-time label in\n{dom}"))
}

#[tokio::test]
async fn the_viewer_opens_on_temperature_at_the_step_nearest_now_with_a_utc_time() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let dom = dump_dom(browser, format!("{}/", server.url), 6_000).await;
    // The demo run lies in the past: now is nearest its last hour.
    let last = support::DEMO_HOURS;
    assert_eq!(shown_lead(&dom), last, "the step nearest now");
    let run = support::run_time();
    let valid = run + chrono::Duration::hours(i64::from(last));
    let label = format!(
        "{} UTC (run {}Z +{last} h)",
        valid.format("%Y-%m-%d %H:%M"),
        run.format("%H")
    );
    assert!(dom.contains(&label), "label {label:?} in\n{dom}");
    assert!(
        dom.contains("/tiles/gfs_TMP_2m/gradient/"),
        "2 m temperature first, not the first layer by name"
    );
    // The legend of the layer and style shown, and it exists.
    let legend = "/legend/gfs_TMP_2m/gradient.png?WIDTH=260&HEIGHT=52";
    assert!(
        dom.contains(&legend.replace('&', "&amp;")),
        "the legend beside the map in\n{dom}"
    );
    let (status, _, png) = support::get(&format!("{}{legend}", server.url)).await;
    assert_eq!(status, 200);
    assert_eq!(support::rgba(&png).0, 260);
}

/// The loaded tiles of the visible data layers (hidden preloads have
/// opacity 0).
fn visible_tiles(dom: &str) -> Vec<String> {
    dom.split("<div class=\"leaflet-layer")
        .skip(1)
        .filter(|layer| !layer.contains("opacity: 0;"))
        .flat_map(|layer| layer.split("<img").skip(1))
        .filter(|img| img.contains("leaflet-tile-loaded"))
        .filter_map(|img| img.split("src=\"").nth(1)?.split('"').next())
        .filter(|src| src.starts_with("/tiles/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_point_in_the_address_shows_the_value_there() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let dom = dump_dom(
        browser,
        format!("{}/?layer=gfs_TMP_2m&forecast=3&info=38,-97", server.url),
        6_000,
    )
    .await;
    // What the server says is there, as the popup shows it.
    let run = support::run_time().format("%Y-%m-%dT%H:%M:%SZ");
    let (_, _, body) = support::get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=gfs_TMP_2m&QUERY_LAYERS=gfs_TMP_2m&STYLES=&CRS=CRS:84&BBOX=-97.0001,37.9999,-96.9999,38.0001&WIDTH=1&HEIGHT=1&I=0&J=0&INFO_FORMAT=application/json&RUN={run}&FORECAST=3",
        server.url
    ))
    .await;
    let info: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let value = info["values"][0]["value"].as_f64().expect("a value");
    let shown = format!("<b id=\"value\">{value:.1} °C</b>");
    assert!(dom.contains(&shown), "{shown} in\n{dom}");
    // The sparkline under it: every forecast hour of the run, as the
    // server's own series answers.
    let (_, _, body) = support::get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=gfs_TMP_2m&QUERY_LAYERS=gfs_TMP_2m&STYLES=&CRS=CRS:84&BBOX=-97.0001,37.9999,-96.9999,38.0001&WIDTH=1&HEIGHT=1&I=0&J=0&INFO_FORMAT=application/json&RUN={run}&FORECAST=0/{}",
        server.url,
        support::DEMO_HOURS
    ))
    .await;
    let series: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let values: Vec<String> = series["values"]
        .as_array()
        .expect("a series")
        .iter()
        .map(|p| format!("{:.2}", p["value"].as_f64().expect("a value")))
        .collect();
    assert_eq!(values.len(), support::DEMO_HOURS as usize + 1);
    let plotted = format!("data-values=\"{}\"", values.join(","));
    assert!(dom.contains("<svg id=\"series\""), "a sparkline in\n{dom}");
    assert!(dom.contains(&plotted), "{plotted} in\n{dom}");
}

#[tokio::test]
async fn the_basemap_comes_from_the_server_so_the_map_works_offline() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    let dom = dump_dom(browser, format!("{}/", server.url), 8_000).await;
    assert!(
        !dom.contains("src=\"https://tile.openstreetmap.org"),
        "no outside tile server"
    );
    // Coastlines and borders drawn over the data, land under it.
    let pane = |name: &str| {
        dom.split(&format!("leaflet-pane leaflet-{name}-pane"))
            .nth(1)
            .and_then(|rest| rest.split("leaflet-pane").next())
            .unwrap_or_default()
            .matches("<path")
            .count()
    };
    assert!(
        pane("outlines") >= 2,
        "outlines drawn: {}",
        pane("outlines")
    );
    assert!(pane("land") >= 1, "land drawn: {}", pane("land"));
    let (status, headers, body) =
        support::get(&format!("{}/assets/countries-50m.json", server.url)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let world: serde_json::Value = serde_json::from_slice(&body).expect("TopoJSON");
    assert!(
        world["objects"]["countries"]["geometries"]
            .as_array()
            .is_some_and(|g| g.len() > 200)
    );
}

#[tokio::test]
async fn a_page_on_another_origin_reads_layers_capabilities_and_tile_pixels() {
    let Some(browser) = chromium() else {
        support::require::missing("Chromium (Debian chromium)");
        return;
    };
    let server = Server::start(demo_data(), &[]);
    // A page served from another origin (another port), as a web map on
    // someone else's site would be.
    let page = format!(
        r#"<!doctype html><html><body><pre id="out">waiting</pre><script>
const base = "{base}", out = document.getElementById("out"), said = [];
const note = (s) => {{ said.push(s); out.textContent = said.join("\n"); }};
fetch(base + "/api/layers").then((r) => r.json())
  .then((l) => note("layers " + l.length)).catch((e) => note("layers failed " + e));
fetch(base + "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities").then((r) => r.text())
  .then((t) => note("capabilities " + t.includes("gfs_TMP_2m"))).catch((e) => note("capabilities failed " + e));
const img = new Image();
img.crossOrigin = "anonymous";
img.onload = () => {{
  const c = document.createElement("canvas");
  c.width = c.height = 256;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  try {{ note("pixel alpha " + g.getImageData(128, 128, 1, 1).data[3]); }}
  catch (e) {{ note("pixels refused " + e.name); }}
}};
img.onerror = () => note("tile failed");
img.src = base + "/tiles/gfs_TMP_2m/gradient/2/1/1.png";
</script></body></html>"#,
        base = server.url
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dom = dump_dom(browser, origin, 6_000).await;
    // What the page's script wrote.
    let said = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_default();
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 3, "{said}");
    assert!(lines.contains(&"capabilities true"), "{said}");
    assert!(
        lines.contains(&"pixel alpha 255"),
        "tile pixels readable: {said}"
    );
    assert!(
        lines.iter().any(|l| l
            .strip_prefix("layers ")
            .is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n > 0))),
        "{said}"
    );
}
