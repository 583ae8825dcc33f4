//! The catalogue of data sources (`protocol/sources.toml`, built in, with
//! `--sources FILE` merged over it): which bucket, which key layout, which
//! fields by default, and how long to keep them.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::Deserialize;

/// The built-in catalogue.
pub const DEFAULT_SOURCES_TOML: &str = include_str!("../../protocol/sources.toml");

/// What a source publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Runs with forecast hours; GRIB2 with a wgrib2 `.idx` beside each file.
    Model,
    /// Time-stamped GRIB2 objects (often `.gz`), fetched whole.
    Observation,
    /// Time-stamped NetCDF objects, fetched whole.
    Satellite,
}

/// One source of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The name users give (`wxfarm pull gfs`).
    pub name: String,
    pub kind: SourceKind,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// Model runs: the hours (UTC) of the cycles.
    #[serde(default)]
    pub cycles: Vec<u32>,
    /// Model runs: the key of one forecast hour's file.
    #[serde(default)]
    pub key: String,
    /// Model runs: what the inventory's key adds to the file's.
    #[serde(default = "default_idx_suffix")]
    pub idx_suffix: String,
    /// Model runs: default forecast hours (`0-48/3`, `0,6,12`).
    #[serde(default)]
    pub forecasts: String,
    /// Model runs: default fields, `NAME:level` as in the `.idx`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Observations and satellites: the product (`{product}` in keys).
    #[serde(default)]
    pub product: String,
    /// Observations and satellites: the listing prefix of one hour or day.
    #[serde(default)]
    pub prefix: String,
    /// Observations and satellites: how object names start.
    #[serde(default)]
    pub name_prefix: String,
    /// Satellites: the ABI bands wanted by default.
    #[serde(default)]
    pub bands: Vec<u8>,
    /// Observations and satellites: objects (of each band) each follow
    /// poll pulls, so a poll interval longer than the cadence misses none.
    #[serde(default)]
    pub follow_count: Option<usize>,
    /// Retention of models: runs kept.
    #[serde(default)]
    pub keep_runs: Option<usize>,
    /// Retention of observations: hours kept.
    #[serde(default)]
    pub keep_hours: Option<u32>,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_idx_suffix() -> String {
    ".idx".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    source: Vec<Source>,
}

/// Every source, by name.
#[derive(Debug, Clone)]
pub struct Sources(Vec<Source>);

impl Sources {
    /// The built-in catalogue, with `extra` (a TOML file) merged over it.
    pub fn load(extra: Option<&Path>) -> Result<Self> {
        let mut sources = Self::parse(DEFAULT_SOURCES_TOML).context("built-in sources.toml")?;
        if let Some(path) = extra {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let over = Self::parse(&text).with_context(|| format!("{}", path.display()))?;
            for s in over.0 {
                sources.0.retain(|old| old.name != s.name);
                sources.0.push(s);
            }
        }
        Ok(sources)
    }

    fn parse(text: &str) -> Result<Self> {
        let file: SourcesFile = toml::from_str(text)?;
        for s in &file.source {
            s.check()?;
        }
        Ok(Self(file.source))
    }

    /// The source called `name`, or an error naming it and the known ones.
    pub fn get(&self, name: &str) -> Result<&Source> {
        self.0.iter().find(|s| s.name == name).with_context(|| {
            let known: Vec<&str> = self.0.iter().map(|s| s.name.as_str()).collect();
            format!("unknown source {name:?} (known: {})", known.join(", "))
        })
    }
}

impl Source {
    fn check(&self) -> Result<()> {
        match self.kind {
            SourceKind::Model if self.key.is_empty() || self.cycles.is_empty() => {
                bail!("source {}: a model needs `key` and `cycles`", self.name)
            }
            SourceKind::Observation | SourceKind::Satellite if self.prefix.is_empty() => {
                bail!("source {}: needs `prefix`", self.name)
            }
            _ if self.cycles.iter().any(|&c| c > 23) => {
                bail!("source {}: cycles are hours 0-23", self.name)
            }
            _ => Ok(()),
        }
    }

    /// The key of forecast hour `fh` of `run`.
    pub fn model_key(&self, run: DateTime<Utc>, fh: u32) -> String {
        expand(&self.key, run, Some(fh), &self.product)
    }

    /// The listing prefix of observations around `at`.
    pub fn listing_prefix(&self, at: DateTime<Utc>) -> String {
        expand(&self.prefix, at, None, &self.product)
    }

    /// Whether `key` (under a listing prefix) is an object of this source,
    /// and its time. Satellites: only the wanted `bands`.
    pub fn observation_time(&self, key: &str, bands: &[u8]) -> Option<DateTime<Utc>> {
        let name = key.rsplit('/').next()?;
        let rest =
            name.strip_prefix(&expand(&self.name_prefix, Utc::now(), None, &self.product))?;
        match self.kind {
            SourceKind::Observation => {
                // MRMS_<product>_YYYYMMDD-HHMMSS.grib2.gz
                let stamp = rest.get(..15)?;
                NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S")
                    .ok()
                    .map(|t| t.and_utc())
            }
            SourceKind::Satellite => {
                // OR_ABI-L2-CMIPC-M6C13_G16_sYYYYDDDHHMMSSt_e…_c….nc
                if !name.ends_with(".nc") {
                    return None;
                }
                let band_ok =
                    bands.is_empty() || bands.iter().any(|b| rest.contains(&format!("C{b:02}_")));
                if !band_ok {
                    return None;
                }
                let s = rest.split('_').find_map(|p| p.strip_prefix('s'))?;
                let (year, doy, hms) = (s.get(..4)?, s.get(4..7)?, s.get(7..13)?);
                let date = NaiveDate::from_yo_opt(year.parse().ok()?, doy.parse().ok()?)?;
                let time = chrono::NaiveTime::parse_from_str(hms, "%H%M%S").ok()?;
                Some(date.and_time(time).and_utc())
            }
            SourceKind::Model => None,
        }
    }
}

/// Fills a key template.
fn expand(template: &str, t: DateTime<Utc>, fh: Option<u32>, product: &str) -> String {
    let mut s = template
        .replace("{product}", product)
        .replace("{YYYYMMDD}", &t.format("%Y%m%d").to_string())
        .replace("{YYYY}", &format!("{:04}", t.year()))
        .replace("{MM}", &format!("{:02}", t.month()))
        .replace("{DD}", &format!("{:02}", t.day()))
        .replace("{DDD}", &format!("{:03}", t.ordinal()))
        .replace("{HH}", &format!("{:02}", t.hour()));
    if let Some(fh) = fh {
        s = s
            .replace("{FFF}", &format!("{fh:03}"))
            .replace("{FF}", &format!("{fh:02}"));
    }
    s
}

/// Parses forecast hours: `0-48/3`, `0-18`, `0,6,12`, or a mix
/// (`0-12,18-48/6`). At most [`MAX_FORECASTS`] hours.
pub fn parse_forecasts(spec: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("forecast hours {part:?}: use N, A-B or A-B/STEP");
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().with_context(bad)?),
            None => (part, 1),
        };
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (
                a.parse::<u32>().with_context(bad)?,
                b.parse::<u32>().with_context(bad)?,
            ),
            None => {
                let a = range.parse::<u32>().with_context(bad)?;
                (a, a)
            }
        };
        if step == 0 || a > b || b > 1000 {
            bail!(bad());
        }
        out.extend((a..=b).step_by(step as usize));
        if out.len() > MAX_FORECASTS {
            bail!("forecast hours {spec:?}: more than {MAX_FORECASTS}");
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        bail!("no forecast hours in {spec:?}");
    }
    Ok(out)
}

/// Most forecast hours one pull names.
pub const MAX_FORECASTS: usize = 400;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn built_in_layouts_match_the_providers() {
        let s = Sources::load(None).unwrap();
        let run = Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 0).unwrap();
        assert_eq!(
            s.get("gfs").unwrap().model_key(run, 3),
            "gfs.20261129/06/atmos/gfs.t06z.pgrb2.0p25.f003"
        );
        assert_eq!(
            s.get("hrrr").unwrap().model_key(run, 3),
            "hrrr.20261129/conus/hrrr.t06z.wrfsfcf03.grib2"
        );
        let mrms = s.get("mrms").unwrap();
        assert_eq!(mrms.follow_count, Some(3));
        assert_eq!(
            mrms.listing_prefix(run),
            "CONUS/MergedReflectivityQCComposite_00.50/20261129/"
        );
        assert_eq!(
            mrms.observation_time(
                "CONUS/MergedReflectivityQCComposite_00.50/20261129/MRMS_MergedReflectivityQCComposite_00.50_20261129-060039.grib2.gz",
                &[]
            ),
            Some(Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 39).unwrap())
        );
        let goes = s.get("goes16").unwrap();
        assert_eq!(goes.listing_prefix(run), "ABI-L2-CMIPC/2026/333/06/");
        let key = "ABI-L2-CMIPC/2026/333/06/OR_ABI-L2-CMIPC-M6C13_G16_s20263330601170_e20263330603543_c20263330604022.nc";
        assert_eq!(
            goes.observation_time(key, &[13]),
            Some(Utc.with_ymd_and_hms(2026, 11, 29, 6, 1, 17).unwrap())
        );
        assert_eq!(goes.observation_time(key, &[2]), None);
        assert!(s.get("ecmwf").unwrap_err().to_string().contains("ecmwf"));
    }

    #[test]
    fn forecast_hours() {
        assert_eq!(parse_forecasts("0-9/3").unwrap(), vec![0, 3, 6, 9]);
        assert_eq!(parse_forecasts("6,0-2").unwrap(), vec![0, 1, 2, 6]);
        assert!(parse_forecasts("9-3").is_err());
        assert!(parse_forecasts("0-48/0").is_err());
        assert!(parse_forecasts("x").is_err());
    }
}
