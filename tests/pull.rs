//! `wxfarm pull` against a fixture of NOAA's buckets: moto_server holding
//! GFS-layout files of real GRIB2 messages with wgrib2 inventories, behind
//! a proxy that records every request and injects faults.

mod pull_support;
mod support;

use chrono::{DateTime, Utc};
use pull_support::fixture::{BUCKET, Fixture, HOURS, expected, layers, layers_of, run_time};
use pull_support::{Fault, data_ranges, files_under, gfs_key, wxfarm};

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
async fn a_killed_pull_completes_on_rerun_without_duplicates() {
    let Some(fx) = Fixture::start().await else {
        return;
    };
    let files = fx.upload_run(run_time(), &HOURS).await;
    let (want_ranges, want_stored) = expected(&files);
    let data = tempfile::tempdir().unwrap();
    // Two data requests answered, the third never: kill the pull there.
    fx.proxy.set_faults(vec![Fault::HangDataAfter(2)]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(fx.pull_args(run_time(), data.path(), &["--concurrency", "1"]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "pull never reached its third range"
        );
        seen.extend(data_ranges(&fx.proxy.take_log()));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What the two answered requests held is stored, whole; nothing of the
    // third.
    let held = |range: &str| if range.starts_with("bytes=0-") { 2 } else { 1 };
    let partial = files_under(data.path());
    assert_eq!(
        partial.len(),
        held(&seen[0].1) + held(&seen[1].1),
        "{partial:?}"
    );
    assert!(
        partial.iter().all(|f| want_stored.contains(f)),
        "{partial:?}"
    );

    fx.proxy.set_faults(Vec::new());
    let (ok, out, err) = wxfarm(fx.pull_args(run_time(), data.path(), &[])).await;
    assert!(ok, "rerun failed: {out}\n{err}");
    let rerun = data_ranges(&fx.proxy.take_log());
    assert_eq!(rerun.len(), want_ranges.len() - 2, "{rerun:?}");
    assert!(
        !rerun.contains(&seen[0]) && !rerun.contains(&seen[1]),
        "{rerun:?}"
    );
    assert_eq!(files_under(data.path()), want_stored);
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
    // Two bands: the newest of each; the C13 already stored is not fetched.
    let (ok, out, err) = wxfarm(args("goes16", &["--bands", "2,13"])).await;
    assert!(ok, "{out}\n{err}");
    let gets: Vec<String> = data_ranges(&fx.proxy.take_log())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(gets, vec![format!("/noaa-goes16/{}", goes_key(2, 11))]);
    assert!(files_under(data.path()).contains(&format!("noaa-goes16/{}", goes_key(13, 6))));
}
