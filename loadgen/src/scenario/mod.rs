//! Scenario files: YAML parsing, CLI overrides and validation.
//!
//! Parsing happens in two steps: serde reads a permissive [`ScenarioSpec`]
//! (so CLI overrides can be applied to it), then [`Scenario::from_spec`]
//! checks every field and produces typed values. Each validation error names
//! the offending field, e.g. ``quick.yaml: `concurrency` must be ≥ 1``.

use crate::strategy::StrategySpec;
use crate::template::{Dim, UrlTemplate};
use crate::tile::TileMatrixSet;
use serde::Deserialize;
use std::collections::BTreeMap;

mod values;
use std::path::Path;
use std::time::Duration;
pub use values::{
    DimValues, DimensionsSpec, DurationValue, Scalar, Thresholds, parse_duration_secs,
};

/// Default target: a local wxfarm server.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// Closed-loop worker count when none is given.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Open-loop in-flight cap when none is given: high enough not to throttle a
/// healthy server, low enough not to exhaust file descriptors.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Longest accepted duration, warm-up or timeout.
const MAX_PHASE: Duration = Duration::from_secs(30 * 86_400);

/// A scenario problem, naming the file and field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown/mistyped fields.
    #[error("{file}: {message}")]
    Parse {
        /// File name.
        file: String,
        /// Parser message (includes the field path and position).
        message: String,
    },
    /// A field has an invalid value.
    #[error("{file}: `{field}` {message}")]
    Invalid {
        /// File name.
        file: String,
        /// Dotted field path, e.g. `layers[1].weight`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// One layer entry in a scenario.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Layer identifier (`{layer}`).
    pub name: String,
    /// Style (`{style}`); defaults to `gradient`.
    pub style: Option<String>,
    /// Relative weight (default 1).
    pub weight: Option<f64>,
    /// Dimension values overriding the scenario-wide ones.
    #[serde(default)]
    pub dimensions: DimensionsSpec,
}

/// A scenario as written in YAML, before validation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Short name (shown in reports).
    pub name: String,
    /// One-line description (shown by `list`).
    #[serde(default)]
    pub description: String,
    /// Server root, e.g. `http://127.0.0.1:8080`.
    pub base_url: Option<String>,
    /// URL template or preset (`xyz`, `wmts_rest`, `wmts_kvp`).
    pub url: String,
    /// Tile matrix set (default WebMercatorQuad).
    #[serde(default)]
    pub tms: TileMatrixSet,
    /// PRNG seed (default 1).
    pub seed: Option<u64>,
    /// Measured-phase duration (exclusive with `requests`).
    pub duration: Option<DurationValue>,
    /// Measured request count (exclusive with `duration`).
    pub requests: Option<i64>,
    /// Closed loop: workers; open loop: maximum requests in flight.
    pub concurrency: Option<i64>,
    /// Open-loop target rate in requests/s.
    pub rate: Option<f64>,
    /// Warm-up period excluded from statistics.
    pub warmup: Option<DurationValue>,
    /// Per-request timeout (default 10s).
    pub timeout: Option<DurationValue>,
    /// Dimension values shared by all layers.
    #[serde(default)]
    pub dimensions: DimensionsSpec,
    /// Layers to request, with weights.
    pub layers: Vec<LayerSpec>,
    /// Tile selection strategy.
    pub strategy: StrategySpec,
    /// Pass/fail limits.
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopCondition {
    /// After this long.
    Duration(Duration),
    /// After this many measured requests.
    Requests(u64),
}

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadModel {
    /// Fixed number of workers, each sending its next request when the previous completes.
    Closed {
        /// Worker count.
        concurrency: usize,
    },
    /// Requests scheduled at a fixed rate regardless of responses; latency counts from the schedule.
    Open {
        /// Requests per second.
        rate: f64,
        /// Cap on concurrent requests (late ones queue, and their wait counts as latency).
        max_in_flight: usize,
    },
}

/// A validated layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Layer identifier.
    pub name: String,
    /// Style identifier.
    pub style: String,
    /// Relative weight (> 0).
    pub weight: f64,
    /// Values per dimension, indexed by [`Dim::index`] (empty when unused).
    pub dims: [Vec<String>; 4],
}

/// A validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Server root without trailing slash.
    pub base_url: String,
    /// URL template.
    pub url: UrlTemplate,
    /// Tile matrix set.
    pub tms: TileMatrixSet,
    /// PRNG seed.
    pub seed: u64,
    /// End of the measured phase.
    pub stop: StopCondition,
    /// Pacing.
    pub load: LoadModel,
    /// Warm-up before measuring.
    pub warmup: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Layers.
    pub layers: Vec<Layer>,
    /// Strategy.
    pub strategy: StrategySpec,
    /// Pass/fail limits.
    pub thresholds: Thresholds,
}

/// Command-line overrides applied on top of a scenario file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `concurrency`.
    pub concurrency: Option<i64>,
    /// Replaces `duration` (and clears `requests`).
    pub duration: Option<DurationValue>,
    /// Replaces `rate` (switching to open loop).
    pub rate: Option<f64>,
    /// Replaces `base_url`.
    pub base_url: Option<String>,
    /// Replaces `requests` (and clears `duration`).
    pub requests: Option<i64>,
    /// Replaces `warmup`.
    pub warmup: Option<DurationValue>,
    /// Replaces `seed`.
    pub seed: Option<u64>,
}

impl ScenarioSpec {
    /// Parses YAML text; `file` only labels errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<Self, ScenarioError> {
        // serde_path_to_error adds the field path (e.g. `strategy`, `layers[2].weight`)
        // that serde alone drops for nested and tagged values.
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let message = if path.is_empty() || path == "." {
                inner
            } else {
                // serde_norway sometimes prefixes the path itself: don't repeat it.
                let bare = match inner.split_once(": ") {
                    Some((prefix, rest)) if path.starts_with(prefix) => rest,
                    _ => &inner,
                };
                format!("`{path}`: {bare}")
            };
            ScenarioError::Parse {
                file: file.to_string(),
                message,
            }
        })
    }

    /// Applies CLI overrides.
    pub fn apply(&mut self, o: &Overrides) {
        if let Some(c) = o.concurrency {
            self.concurrency = Some(c);
        }
        if let Some(d) = &o.duration {
            self.duration = Some(d.clone());
            self.requests = None;
        }
        if let Some(r) = o.requests {
            self.requests = Some(r);
            self.duration = None;
        }
        if let Some(r) = o.rate {
            self.rate = Some(r);
        }
        if let Some(b) = &o.base_url {
            self.base_url = Some(b.clone());
        }
        if let Some(w) = &o.warmup {
            self.warmup = Some(w.clone());
        }
        if let Some(s) = o.seed {
            self.seed = Some(s);
        }
    }
}

impl Scenario {
    /// Reads, overrides and validates a scenario file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ScenarioError> {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        let mut spec = ScenarioSpec::from_yaml(&text, &file)?;
        spec.apply(overrides);
        Scenario::from_spec(spec, &file)
    }

    /// Validates a spec; `file` labels errors.
    pub fn from_spec(spec: ScenarioSpec, file: &str) -> Result<Self, ScenarioError> {
        let bad = |field: &str, message: String| ScenarioError::Invalid {
            file: file.to_string(),
            field: field.to_string(),
            message,
        };
        if spec.name.trim().is_empty() {
            return Err(bad("name", "must not be empty".into()));
        }
        let base_url = spec
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(bad(
                "base_url",
                "must start with http:// or https://".into(),
            ));
        }
        let url = UrlTemplate::parse(&spec.url).map_err(|m| bad("url", m))?;
        if !url.has_tile_placeholders() {
            return Err(bad("url", "must contain {z}, {x} and {y}".into()));
        }
        if !url.as_str().starts_with('/') {
            return Err(bad(
                "url",
                "must be a path starting with `/` (the host goes in `base_url`)".into(),
            ));
        }
        let stop = match (&spec.duration, spec.requests) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "duration",
                    "and `requests` are mutually exclusive".into(),
                ));
            }
            (None, None) => return Err(bad("duration", "or `requests` is required".into())),
            (Some(d), None) => {
                let d = d.to_duration().map_err(|m| bad("duration", m))?;
                // Upper bounds keep every `Instant + Duration` in the runner far from overflow.
                if d.is_zero() || d > MAX_PHASE {
                    return Err(bad("duration", "must be > 0 and ≤ 30 days".into()));
                }
                StopCondition::Duration(d)
            }
            (None, Some(n)) if n < 1 => return Err(bad("requests", "must be ≥ 1".into())),
            (None, Some(n)) => StopCondition::Requests(n as u64),
        };
        let concurrency = match spec.concurrency {
            Some(c) if !(1..=100_000).contains(&c) => {
                return Err(bad("concurrency", "must be ≥ 1 (and ≤ 100000)".into()));
            }
            Some(c) => Some(c as usize),
            None => None,
        };
        let load = match spec.rate {
            Some(r) if !(r.is_finite() && (0.001..=1e6).contains(&r)) => {
                return Err(bad(
                    "rate",
                    "must be > 0 requests/s (0.001 – 1000000)".into(),
                ));
            }
            Some(rate) => LoadModel::Open {
                rate,
                max_in_flight: concurrency.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            },
            None => LoadModel::Closed {
                concurrency: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            },
        };
        let warmup = match &spec.warmup {
            Some(w) => w.to_duration().map_err(|m| bad("warmup", m))?,
            None => Duration::ZERO,
        };
        let timeout = match &spec.timeout {
            Some(t) => t.to_duration().map_err(|m| bad("timeout", m))?,
            None => Duration::from_secs(10),
        };
        if warmup > MAX_PHASE {
            return Err(bad("warmup", "must be ≤ 30 days".into()));
        }
        if timeout.is_zero() || timeout > MAX_PHASE {
            return Err(bad("timeout", "must be > 0 and ≤ 30 days".into()));
        }
        if spec.layers.is_empty() {
            return Err(bad("layers", "must list at least one layer".into()));
        }
        let used_dims = url.dims();
        let mut global: BTreeMap<Dim, Vec<String>> = BTreeMap::new();
        for d in Dim::ALL {
            if let Some(v) = spec.dimensions.get(d) {
                let field = format!("dimensions.{}", d.name());
                global.insert(d, v.expand().map_err(|m| bad(&field, m))?);
            }
        }
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (i, l) in spec.layers.iter().enumerate() {
            if l.name.trim().is_empty() {
                return Err(bad(
                    &format!("layers[{i}].name"),
                    "must not be empty".into(),
                ));
            }
            let weight = l.weight.unwrap_or(1.0);
            if !(weight.is_finite() && weight > 0.0) {
                return Err(bad(&format!("layers[{i}].weight"), "must be > 0".into()));
            }
            let mut dims: [Vec<String>; 4] = Default::default();
            for d in Dim::ALL {
                let field = format!("layers[{i}].dimensions.{}", d.name());
                let values = match l.dimensions.get(d) {
                    Some(v) => v.expand().map_err(|m| bad(&field, m))?,
                    None => global.get(&d).cloned().unwrap_or_default(),
                };
                if values.is_empty() && used_dims.contains(&d) {
                    return Err(bad(
                        &field,
                        format!(
                            "is required: `url` uses {{{}}} (set it per layer or in `dimensions`)",
                            d.name()
                        ),
                    ));
                }
                dims[d.index()] = values;
            }
            layers.push(Layer {
                name: l.name.clone(),
                style: l.style.clone().unwrap_or_else(|| "gradient".to_string()),
                weight,
                dims,
            });
        }
        spec.strategy
            .validate(spec.tms, &url)
            .map_err(|(field, m)| bad(&format!("strategy.{field}"), m))?;
        let t = &spec.thresholds;
        if let Some(e) = t.max_error_rate
            && !(0.0..=1.0).contains(&e)
        {
            return Err(bad(
                "thresholds.max_error_rate",
                "must be within 0–1".into(),
            ));
        }
        Ok(Scenario {
            name: spec.name,
            description: spec.description,
            base_url,
            url,
            tms: spec.tms,
            seed: spec.seed.unwrap_or(1),
            stop,
            load,
            warmup,
            timeout,
            layers,
            strategy: spec.strategy,
            thresholds: spec.thresholds,
        })
    }
}
