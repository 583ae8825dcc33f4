//! The GFS fixture of the pull tests: moto with NOAA's bucket and key
//! layout, the proxy in front, and what a pull of it must fetch and store.

use chrono::{DateTime, TimeZone, Utc};

use super::{Moto, Proxy, gfs_file, gfs_key};

/// Layers as `/api/layers` lists them: (name, runs with their forecast hours).
pub type Layers = Vec<(String, Vec<(String, Vec<f64>)>)>;

pub const BUCKET: &str = "noaa-gfs-bdp-pds";
pub const HOURS: [u32; 3] = [0, 3, 6];

pub struct Fixture {
    pub moto: Moto,
    pub proxy: Proxy,
    pub messages: Vec<(&'static str, Vec<u8>)>,
}

impl Fixture {
    pub async fn start() -> Option<Fixture> {
        let messages = super::sample_messages()?;
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
    pub async fn upload_run(
        &self,
        run: DateTime<Utc>,
        hours: &[u32],
    ) -> Vec<(String, u64, Vec<u64>)> {
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
    pub fn field(&self, i: usize) -> String {
        let m = &decode::list_messages(&self.messages[i].1).unwrap()[0];
        format!("{}:{}", m.short_name, m.level)
    }

    /// The fields the tests pull: the first two messages (adjacent: one
    /// request) and the last (to the end of the file: a second request).
    pub fn wanted(&self) -> String {
        [self.field(0), self.field(1), self.field(3)].join(",")
    }

    /// A sources file whose `gfs` pulls [`Fixture::wanted`] at hours 0
    /// and 3 and keeps `keep_runs` runs.
    pub fn sources_file(&self, path: &std::path::Path, keep_runs: usize) {
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

    pub fn pull_args(
        &self,
        run: DateTime<Utc>,
        data: &std::path::Path,
        extra: &[&str],
    ) -> Vec<String> {
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

pub fn run_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap()
}

/// The ranges a pull of [`Fixture::wanted`] must fetch, as the proxy logs
/// them, and the objects it must store.
pub fn expected(files: &[(String, u64, Vec<u64>)]) -> (Vec<(String, String)>, Vec<String>) {
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
pub async fn layers(data: &std::path::Path) -> Layers {
    let server = crate::support::Server::start(data, &[]);
    layers_of(&server.url).await
}

pub async fn layers_of(url: &str) -> Layers {
    let (status, _, body) = crate::support::get(&format!("{url}/api/layers")).await;
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
