//! Value types of scenario files: durations, dimension values, thresholds.

use crate::template::Dim;
use serde::Deserialize;
use std::time::Duration;

/// A duration written as seconds (`30`, `0.5`) or with a unit (`500ms`, `30s`, `2m`, `1h`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    /// Plain seconds.
    Secs(f64),
    /// Number with unit suffix.
    Text(String),
}

impl DurationValue {
    /// Converts to a [`Duration`], rejecting negative or malformed values.
    pub fn to_duration(&self) -> Result<Duration, String> {
        let secs = match self {
            DurationValue::Secs(s) => *s,
            DurationValue::Text(t) => parse_duration_secs(t)?,
        };
        if !secs.is_finite() || secs < 0.0 {
            return Err("must be a non-negative duration".into());
        }
        Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
    }
}

/// Parses `"500ms"`, `"30s"`, `"2m"`, `"1h"`, `"1.5"` into seconds.
pub fn parse_duration_secs(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    num.trim()
        .parse::<f64>()
        .map(|v| v * scale)
        .map_err(|_| format!("must be a duration like 500ms, 30s, 2m or 1h (got {text:?})"))
}

/// A scalar dimension value as written in YAML (`6`, `"2024-05-01T00:00:00Z"`, `850.5`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Text.
    Text(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(v) => write!(f, "{v}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// Dimension values: an explicit list or an integer range (`{from: 0, to: 24, step: 3}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DimValues {
    /// Explicit values.
    List(Vec<Scalar>),
    /// Inclusive integer range.
    Range {
        /// First value.
        from: i64,
        /// Last value (inclusive).
        to: i64,
        /// Increment (default 1).
        step: Option<i64>,
    },
}

impl DimValues {
    pub(crate) fn expand(&self) -> Result<Vec<String>, String> {
        let values: Vec<String> = match self {
            DimValues::List(v) => v.iter().map(ToString::to_string).collect(),
            DimValues::Range { from, to, step } => {
                let step = step.unwrap_or(1);
                if step < 1 || to < from {
                    return Err("range needs from ≤ to and step ≥ 1".into());
                }
                if (to - from) / step > 100_000 {
                    return Err("range expands to more than 100000 values".into());
                }
                (*from..=*to)
                    .step_by(step as usize)
                    .map(|v| v.to_string())
                    .collect()
            }
        };
        if values.is_empty() {
            return Err("must list at least one value".into());
        }
        Ok(values)
    }
}

/// Per-dimension value lists (scenario-wide defaults or per layer).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionsSpec {
    /// `{time}` values.
    pub time: Option<DimValues>,
    /// `{run}` values.
    pub run: Option<DimValues>,
    /// `{forecast}` values.
    pub forecast: Option<DimValues>,
    /// `{elevation}` values.
    pub elevation: Option<DimValues>,
}

impl DimensionsSpec {
    pub(crate) fn get(&self, d: Dim) -> Option<&DimValues> {
        match d {
            Dim::Time => self.time.as_ref(),
            Dim::Run => self.run.as_ref(),
            Dim::Forecast => self.forecast.as_ref(),
            Dim::Elevation => self.elevation.as_ref(),
        }
    }
}

/// Pass/fail limits checked after the run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Maximum fraction (0–1) of failed requests.
    pub max_error_rate: Option<f64>,
    /// Maximum median latency in ms.
    pub max_p50_ms: Option<f64>,
    /// Maximum p90 latency in ms.
    pub max_p90_ms: Option<f64>,
    /// Maximum p95 latency in ms.
    pub max_p95_ms: Option<f64>,
    /// Maximum p99 latency in ms.
    pub max_p99_ms: Option<f64>,
    /// Maximum p99.9 latency in ms.
    pub max_p999_ms: Option<f64>,
    /// Minimum measured throughput in requests/s.
    pub min_rps: Option<f64>,
}
