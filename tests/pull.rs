//! `wxfarm pull` against a fixture of NOAA's buckets: moto_server holding
//! GFS-layout files of real GRIB2 messages with wgrib2 inventories, behind
//! a proxy that records every request and injects faults.

mod pull_support;
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use pull_support::{Fault, Moto, Proxy, data_ranges, files_under, gfs_file, gfs_key, wxfarm};

const BUCKET: &str = "noaa-gfs-bdp-pds";
const HOURS: [u32; 3] = [0, 3, 6];

struct Fixture {
    moto: Moto,
    proxy: Proxy,
    messages: Vec<(&'static str, Vec<u8>)>,
}

impl Fixture {
    async fn start() -> Option<Fixture> {
        let messages = pull_support::sample_messages()?;
        let moto = Moto::start()?;
        moto.ready().await;
        moto.create_bucket(BUCKET).await;
        let proxy = Proxy::start(&moto.url).await;
        Some(Fixture {
            moto,
            proxy,
            messages,
        })
    }

    /// Uploads forecast hours `hours` of `run`; each file's (key, size,
    /// message offsets).
    async fn upload_run(&self, run: DateTime<Utc>, hours: &[u32]) -> Vec<(String, u64, Vec<u64>)> {
        let mut out = Vec::new();
        for &fh in hours {
            let (file, idx) = gfs_file(&self.messages, run, fh);
            let key = gfs_key(run, fh);
            let offsets = decode::list_messages(&file)
                .unwrap()
                .iter()
                .map(|m| m.offset)
                .collect();
            out.push((key.clone(), file.len() as u64, offsets));
            self.moto.put(BUCKET, &key, file).await;
            self.moto
                .put(BUCKET, &format!("{key}.idx"), idx.into_bytes())
                .await;
        }
        out
    }

    /// `NAME:level` of fixture message `i`.
    fn field(&self, i: usize) -> String {
        let m = &decode::list_messages(&self.messages[i].1).unwrap()[0];
        format!("{}:{}", m.short_name, m.level)
    }

    /// The fields the tests pull: the first two messages (adjacent: one
    /// request) and the last (to the end of the file: a second request).
    fn wanted(&self) -> String {
        [self.field(0), self.field(1), self.field(3)].join(",")
    }

    /// A sources file whose `gfs` pulls [`Fixture::wanted`] at hours 0
    /// and 3 and keeps `keep_runs` runs.
    fn sources_file(&self, path: &std::path::Path, keep_runs: usize) {
        let fields: Vec<String> = self.wanted().split(',').map(|f| format!("{f:?}")).collect();
        std::fs::write(
            path,
            format!(
                "[[source]]\nname = \"gfs\"\nkind = \"model\"\nbucket = \"{BUCKET}\"\ncycles = [0, 6, 12, 18]\n\
                 key = \"gfs.{{YYYYMMDD}}/{{HH}}/atmos/gfs.t{{HH}}z.pgrb2.0p25.f{{FFF}}\"\n\
                 forecasts = \"0-3/3\"\nfields = [{}]\nkeep_runs = {keep_runs}\n",
                fields.join(", ")
            ),
        )
        .unwrap();
    }

    fn pull_args(&self, run: DateTime<Utc>, data: &std::path::Path, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "pull",
            "gfs",
            "--run",
            &run.format("%Y-%m-%dT%H").to_string(),
            "--forecasts",
            "0-6/3",
            "--fields",
            &self.wanted(),
            "--endpoint",
            &self.proxy.url,
            "--retry-backoff-ms",
            "20",
            "--data",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(data.display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }
}

fn run_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap()
}

/// The ranges a pull of [`Fixture::wanted`] must fetch, as the proxy logs
/// them, and the objects it must store.
fn expected(files: &[(String, u64, Vec<u64>)]) -> (Vec<(String, String)>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut stored = Vec::new();
    for (key, size, o) in files {
        let path = format!("/{BUCKET}/{key}");
        ranges.push((path.clone(), format!("bytes=0-{}", o[2] - 1)));
        ranges.push((path, format!("bytes={}-{}", o[3], size - 1)));
        for (a, b) in [(o[0], o[1]), (o[1], o[2]), (o[3], *size)] {
            stored.push(format!("{BUCKET}/{key}.b{a}-{b}.grib2"));
        }
    }
    ranges.sort();
    stored.sort();
    (ranges, stored)
}

/// Every layer of a `serve` over `data`: (name, runs with their forecasts).
async fn layers(data: &std::path::Path) -> Vec<(String, Vec<(String, Vec<f64>)>)> {
    let server = support::Server::start(data, &[]);
    layers_of(&server.url).await
}

async fn layers_of(url: &str) -> Vec<(String, Vec<(String, Vec<f64>)>)> {
    let (status, _, body) = support::get(&format!("{url}/api/layers")).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let runs = l["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let f = r["forecasts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|x| x.as_f64())
                        .collect();
                    (r["run"].as_str().unwrap().to_owned(), f)
                })
                .collect();
            (l["name"].as_str().unwrap().to_owned(), runs)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_fetches_exactly_the_wanted_ranges_and_a_second_run_fetches_none() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let files = fx.upload_run(run_time(), &HOURS).await;
    let (want_ranges, want_stored) = expected(&files);
    let data = tempfile::tempdir().unwrap();

    let (ok, out, err) = wxfarm(fx.pull_args(run_time(), data.path(), &[])).await;
    assert!(ok, "pull failed: {out}\n{err}");
    let mut got = data_ranges(&fx.proxy.take_log());
    got.sort();
    assert_eq!(
        got, want_ranges,
        "exactly the wanted ranges, adjacent ones merged"
    );
    assert_eq!(files_under(data.path()), want_stored);
    assert!(out.contains("pulled 9 messages"), "{out}");

    // The catalog: every layer has the run, with forecast hours 0, 3, 6.
    let layers = layers(data.path()).await;
    assert_eq!(layers.len(), 3, "{layers:?}");
    for (name, runs) in &layers {
        assert_eq!(
            runs,
            &vec![("2026-11-29T00:00:00Z".to_owned(), vec![0.0, 3.0, 6.0])],
            "{name}"
        );
    }

    // Again: nothing but the inventories is read, nothing new is stored.
    let (ok, out, err) = wxfarm(fx.pull_args(run_time(), data.path(), &[])).await;
    assert!(ok, "second pull failed: {out}\n{err}");
    assert_eq!(
        data_ranges(&fx.proxy.take_log()),
        Vec::<(String, String)>::new()
    );
    assert!(
        out.contains("pulled 0 messages") && out.contains("9 already present"),
        "{out}"
    );
    assert_eq!(files_under(data.path()), want_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_recover_from_a_500_and_a_truncated_body() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let files = fx.upload_run(run_time(), &HOURS).await;
    let (want_ranges, want_stored) = expected(&files);
    fx.proxy.set_faults(vec![
        Fault::Status500Once("f003".into()),
        Fault::TruncateOnce("f006".into()),
    ]);
    let data = tempfile::tempdir().unwrap();
    let (ok, out, err) = wxfarm(fx.pull_args(run_time(), data.path(), &[])).await;
    assert!(ok, "pull failed: {out}\n{err}");
    let got = data_ranges(&fx.proxy.take_log());
    // Each fault cost one extra request of the range it hit.
    assert_eq!(got.len(), want_ranges.len() + 2, "{got:?}");
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, want_ranges);
    assert_eq!(files_under(data.path()), want_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_truncated_every_time_fails_naming_the_range() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    fx.upload_run(run_time(), &[0]).await;
    fx.proxy
        .set_faults(vec![Fault::TruncateAlways("f000".into())]);
    let data = tempfile::tempdir().unwrap();
    let mut args = fx.pull_args(run_time(), data.path(), &["--retries", "1"]);
    args[5] = "0".into(); // --forecasts 0
    let (ok, out, err) = wxfarm(args).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("truncated body") && err.contains("gfs.t00z.pgrb2.0p25.f000 bytes"),
        "{err}"
    );
    assert!(err.contains("failed after 2 attempts"), "{err}");
    assert_eq!(
        files_under(data.path()),
        Vec::<String>::new(),
        "nothing partial stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_pull_completes_on_rerun_without_duplicates() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let files = fx.upload_run(run_time(), &HOURS).await;
    let (want_ranges, want_stored) = expected(&files);
    let data = tempfile::tempdir().unwrap();
    // The provider refuses after two data requests: the pull stops there.
    fx.proxy.set_faults(vec![Fault::DenyDataAfter(2)]);
    let (ok, out, err) =
        wxfarm(fx.pull_args(run_time(), data.path(), &["--concurrency", "1"])).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("403") || err.contains("denied") || err.contains("Forbidden"),
        "{err}"
    );
    let partial = files_under(data.path());
    assert!(
        !partial.is_empty() && partial.len() < want_stored.len(),
        "{partial:?}"
    );
    fx.proxy.take_log();

    fx.proxy.set_faults(Vec::new());
    let (ok, out, err) = wxfarm(fx.pull_args(run_time(), data.path(), &[])).await;
    assert!(ok, "rerun failed: {out}\n{err}");
    let rerun = data_ranges(&fx.proxy.take_log());
    assert_eq!(
        rerun.len(),
        want_ranges.len() - 2,
        "only what was missing: {rerun:?}"
    );
    assert_eq!(files_under(data.path()), want_stored);
    // One field per layer, run and hour: no duplicates, nothing replaced.
    let server = support::Server::start(data.path(), &[]);
    for (name, runs) in layers_of(&server.url).await {
        assert_eq!(
            runs,
            vec![("2026-11-29T00:00:00Z".to_owned(), vec![0.0, 3.0, 6.0])],
            "{name}"
        );
    }
    assert!(
        !server.log_text().contains("replaced"),
        "{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_naming_it() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    fx.upload_run(run_time(), &[0]).await;
    let data = tempfile::tempdir().unwrap();
    // The pull of f000, with arguments at these positions replaced.
    let run = |edits: &[(usize, &str)]| {
        let mut args = fx.pull_args(run_time(), data.path(), &["--retries", "0"]);
        args[5] = "0".into();
        for (i, v) in edits {
            args[*i] = (*v).to_owned();
        }
        wxfarm(args)
    };
    // Unknown source.
    let (ok, _, err) = run(&[(1, "nam")]).await;
    assert!(
        !ok && err.contains("unknown source \"nam\"") && err.contains("gfs"),
        "{err}"
    );
    // A field the inventory does not have.
    let (ok, _, err) = run(&[(7, "FOO:9 m above ground")]).await;
    assert!(!ok && err.contains("FOO:9 m above ground"), "{err}");
    assert!(err.contains("gfs.t00z.pgrb2.0p25.f000.idx"), "{err}");
    // A forecast hour without an inventory.
    let (ok, _, err) = run(&[(5, "9")]).await;
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!(
            "s3://{BUCKET}/gfs.20261129/00/atmos/gfs.t00z.pgrb2.0p25.f009.idx"
        )) && err.contains("no inventory"),
        "{err}"
    );
    // A malformed inventory.
    let key = gfs_key(run_time(), 12);
    fx.moto.put(BUCKET, &key, b"GRIB".to_vec()).await;
    fx.moto
        .put(
            BUCKET,
            &format!("{key}.idx"),
            b"1:0:d=2026112900:TMP:2 m above ground:anl:\n2:x:y\n".to_vec(),
        )
        .await;
    let (ok, _, err) = run(&[(5, "12")]).await;
    assert!(
        !ok && err.contains("f012.idx") && err.contains("malformed inventory line 2"),
        "{err}"
    );
    // A bad run.
    let (ok, _, err) = run(&[(3, "yesterday")]).await;
    assert!(!ok && err.contains("--run \"yesterday\""), "{err}");
    assert_eq!(files_under(data.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observations_and_satellite_objects_are_found_by_time_and_band() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let Some(dir) = support::shared_data() else {
        return;
    };
    let now = Utc::now() - chrono::Duration::minutes(5);
    // MRMS: two times of a day's folder; the newest is pulled, decompressed.
    fx.moto.create_bucket("noaa-mrms-pds").await;
    let gz =
        std::fs::read(dir.join("MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz"))
            .unwrap();
    let p = "MergedReflectivityQCComposite_00.50";
    let mrms_key = |t: DateTime<Utc>| {
        format!(
            "CONUS/{p}/{}/MRMS_{p}_{}.grib2.gz",
            t.format("%Y%m%d"),
            t.format("%Y%m%d-%H%M%S")
        )
    };
    let older = now - chrono::Duration::minutes(2);
    for t in [older, now] {
        fx.moto.put("noaa-mrms-pds", &mrms_key(t), gz.clone()).await;
    }
    let data = tempfile::tempdir().unwrap();
    let args = |source: &str, extra: &[&str]| {
        let mut v: Vec<String> = ["pull", source, "--endpoint", &fx.proxy.url, "--data"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(data.path().display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let (ok, out, err) = wxfarm(args("mrms", &[])).await;
    assert!(ok, "{out}\n{err}");
    let gets: Vec<String> = data_ranges(&fx.proxy.take_log())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(gets, vec![format!("/noaa-mrms-pds/{}", mrms_key(now))]);
    let stored = format!("noaa-mrms-pds/{}", mrms_key(now));
    assert_eq!(
        files_under(data.path()),
        vec![stored.trim_end_matches(".gz").to_owned()]
    );

    // GOES: only the wanted band, newest first; stored whole.
    fx.moto.create_bucket("noaa-goes16").await;
    let goes_key = |band: u8, minute: u32| {
        let t = now
            .date_naive()
            .and_hms_opt(now.format("%H").to_string().parse().unwrap(), minute, 17)
            .unwrap();
        format!(
            "ABI-L2-CMIPC/{}/OR_ABI-L2-CMIPC-M6C{band:02}_G16_s{}0_e{}0_c{}0.nc",
            t.format("%Y/%j/%H"),
            t.format("%Y%j%H%M%S"),
            t.format("%Y%j%H%M%S"),
            t.format("%Y%j%H%M%S"),
        )
    };
    for (band, minute) in [(13, 1), (13, 6), (2, 11), (7, 16)] {
        fx.moto
            .put(
                "noaa-goes16",
                &goes_key(band, minute),
                b"CDF\x01 not really".to_vec(),
            )
            .await;
    }
    let (ok, out, err) = wxfarm(args("goes16", &["--bands", "13", "--count", "1"])).await;
    assert!(ok, "{out}\n{err}");
    let gets: Vec<String> = data_ranges(&fx.proxy.take_log())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(gets, vec![format!("/noaa-goes16/{}", goes_key(13, 6))]);
    assert!(files_under(data.path()).contains(&format!("noaa-goes16/{}", goes_key(13, 6))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_follow_picks_up_a_new_run_and_retires_the_oldest() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    // Yesterday's runs: `latest` looks at today, then yesterday.
    let day = (Utc::now() - chrono::Duration::days(1)).date_naive();
    let run0 = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let run6 = day.and_hms_opt(6, 0, 0).unwrap().and_utc();
    fx.upload_run(run0, &[0, 3]).await;
    let data = tempfile::tempdir().unwrap();
    let sources = data.path().with_extension("sources.toml");
    fx.sources_file(&sources, 1);
    let server = support::Server::start(
        data.path(),
        &[
            "--follow",
            "gfs",
            "--follow-interval",
            "1",
            "--sources",
            sources.to_str().unwrap(),
            "--endpoint",
            &fx.proxy.url,
            "--retry-backoff-ms",
            "20",
        ],
    );
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let wait_for_runs = |want: Vec<String>| {
        let url = server.url.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let layers = layers_of(&url).await;
                let all = layers.len() == 3
                    && layers.iter().all(|(_, runs)| {
                        runs.iter()
                            .map(|(r, f)| (r.clone(), f.len()))
                            .collect::<Vec<_>>()
                            == want.iter().map(|r| (r.clone(), 2)).collect::<Vec<_>>()
                    });
                if all {
                    return Instant::now();
                }
                assert!(
                    Instant::now() < deadline,
                    "runs {want:?} never arrived: {layers:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for_runs(vec![iso(run0)]).await;
    let uploaded = Instant::now();
    fx.upload_run(run6, &[0, 3]).await;
    let arrived = wait_for_runs(vec![iso(run6)]).await;
    // Picked up within a poll or two (1 s each) plus the pull itself.
    assert!(
        arrived - uploaded < Duration::from_secs(20),
        "{:?}",
        arrived - uploaded
    );
    let day_dir = format!("{BUCKET}/gfs.{}/00/", day.format("%Y%m%d"));
    let left: Vec<String> = files_under(data.path())
        .into_iter()
        .filter(|f| f.starts_with(&day_dir))
        .collect();
    assert!(left.is_empty(), "run 00 deleted: {left:?}");
    assert_eq!(
        files_under(data.path()).len(),
        6,
        "run 06: 3 messages x 2 hours"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_pulls_the_object_it_names() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let token = "notify-token-0123456789";
    let sources = data.path().with_extension("sources.toml");
    fx.sources_file(&sources, 2);
    let server = support::Server::start(
        data.path(),
        &[
            "--follow",
            "gfs",
            "--follow-interval",
            "3600",
            "--sources",
            sources.to_str().unwrap(),
            "--endpoint",
            &fx.proxy.url,
            "--admin-token",
            token,
        ],
    );
    // Three days old: polls (today and yesterday) never find it, only the
    // notification names it.
    let run = (Utc::now() - chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    fx.upload_run(run, &[0, 3]).await;
    let event = |key: &str| {
        serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]})
        .to_string()
    };
    let post = |body: String, auth: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(format!("{}/admin/pull/notify", server.url))
            .body(body);
        if let Some(t) = auth {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let idx3 = format!("{}.idx", gfs_key(run, 3));
    assert_eq!(post(event(&idx3), None).await.0, 401);
    let (status, text) = post("{\"nope\": 1}".into(), Some(token)).await;
    assert_eq!(status, 400, "{text}");
    // An SNS envelope naming f003's inventory: f003 alone is pulled.
    let sns = serde_json::json!({"Type": "Notification", "Message": event(&idx3)}).to_string();
    let (status, text) = post(sns, Some(token)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("pulled 3 messages"), "{text}");
    let layers = layers_of(&server.url).await;
    assert_eq!(layers.len(), 3, "{layers:?}");
    for (name, runs) in &layers {
        let iso = run.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        assert_eq!(runs, &vec![(iso, vec![3.0])], "{name}");
    }
    // Again: already present. Another bucket: 404.
    let (status, text) = post(event(&idx3), Some(token)).await;
    assert!(
        status == 200 && text.contains("3 already present"),
        "{text}"
    );
    let (status, text) = post(event("x").replace(BUCKET, "other-bucket"), Some(token)).await;
    assert_eq!(status, 404, "{text}");
}
