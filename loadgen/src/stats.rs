//! Measurement: HDR latency histograms, status codes, error kinds, cache tiers.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Highest recordable latency (1 hour, in µs); larger values saturate.
const MAX_MICROS: u64 = 3_600_000_000;

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect failed / refused.
    Connect,
    /// Request exceeded the timeout.
    Timeout,
    /// Response arrived with status ≥ 400.
    HttpStatus,
    /// Reading the body failed.
    Body,
    /// Any other transport error.
    Other,
}

impl ErrorKind {
    /// Report label.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Body => "body",
            ErrorKind::Other => "other",
        }
    }
}

/// Cache tier reported by the server's `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CacheTier {
    /// `X-Cache: L1` (in-memory hit).
    L1,
    /// `X-Cache: L2` (shared/object-store hit).
    L2,
    /// `X-Cache: MISS` (rendered).
    Miss,
    /// Absent or any other value.
    Unknown,
}

impl CacheTier {
    /// All tiers in report order.
    pub const ALL: [CacheTier; 4] = [
        CacheTier::L1,
        CacheTier::L2,
        CacheTier::Miss,
        CacheTier::Unknown,
    ];

    /// Classifies a header value (case-insensitive; `None` = header absent).
    pub fn from_header(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("L1") => CacheTier::L1,
            Some(v) if v.eq_ignore_ascii_case("L2") => CacheTier::L2,
            Some(v) if v.eq_ignore_ascii_case("MISS") => CacheTier::Miss,
            _ => CacheTier::Unknown,
        }
    }

    /// Report label.
    pub fn label(self) -> &'static str {
        match self {
            CacheTier::L1 => "L1",
            CacheTier::L2 => "L2",
            CacheTier::Miss => "MISS",
            CacheTier::Unknown => "unknown",
        }
    }
}

/// The outcome of one measured request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// From the *scheduled* send time to completion (coordinated-omission corrected).
    pub latency: Duration,
    /// From the actual send to completion (what a naive tool reports).
    pub service_time: Duration,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Cache tier of the response.
    pub tier: CacheTier,
    /// Body bytes received.
    pub bytes: u64,
    /// Failure, if any (`HttpStatus` still carries a status and latency).
    pub error: Option<ErrorKind>,
}

/// Accumulates samples; recorders from several workers can be merged.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    tiers: [Histogram<u64>; 4],
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<ErrorKind, u64>,
    requests: u64,
    ok: u64,
    bytes: u64,
}

fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds (1 µs – 1 h, 3 significant digits): cannot fail.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS)
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// Empty recorder.
    pub fn new() -> Self {
        Recorder {
            latency: new_histogram(),
            service: new_histogram(),
            tiers: [
                new_histogram(),
                new_histogram(),
                new_histogram(),
                new_histogram(),
            ],
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            requests: 0,
            ok: 0,
            bytes: 0,
        }
    }

    /// Records one request.
    pub fn record(&mut self, s: &Sample) {
        self.requests += 1;
        self.bytes += s.bytes;
        if let Some(status) = s.status {
            *self.statuses.entry(status).or_default() += 1;
        }
        if let Some(kind) = s.error {
            *self.errors.entry(kind).or_default() += 1;
        } else {
            self.ok += 1;
        }
        // Latency is only meaningful for complete responses (including 4xx/5xx);
        // transport failures are reported as errors instead.
        if s.status.is_some() && matches!(s.error, None | Some(ErrorKind::HttpStatus)) {
            self.record_latency(s.latency, s.service_time, s.tier);
        }
    }

    /// Records a bare latency (tests, synthetic data) under `tier`.
    pub fn record_latency(&mut self, latency: Duration, service_time: Duration, tier: CacheTier) {
        let v = micros(latency);
        self.latency.saturating_record(v);
        self.service.saturating_record(micros(service_time));
        self.tiers[tier as usize].saturating_record(v);
    }

    /// Adds another recorder's data into this one.
    pub fn merge(&mut self, other: &Recorder) {
        // Identical bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        for (a, b) in self.tiers.iter_mut().zip(other.tiers.iter()) {
            let _ = a.add(b);
        }
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        self.requests += other.requests;
        self.ok += other.ok;
        self.bytes += other.bytes;
    }

    /// Requests recorded so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Failed requests so far.
    pub fn errors(&self) -> u64 {
        self.requests - self.ok
    }

    /// Latency summary (coordinated-omission corrected).
    pub fn latency(&self) -> LatencySummary {
        LatencySummary::of(&self.latency)
    }

    /// Summary over `elapsed` of measured time.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let errors = self.requests - self.ok;
        let cache = CacheTier::ALL
            .iter()
            .map(|t| {
                let h = &self.tiers[*t as usize];
                let count = h.len();
                let share = if self.latency.is_empty() {
                    0.0
                } else {
                    count as f64 / self.latency.len() as f64
                };
                let latency = LatencySummary::of(h);
                (
                    t.label().to_string(),
                    TierSummary {
                        count,
                        share,
                        latency,
                    },
                )
            })
            .collect();
        Summary {
            requests: self.requests,
            ok: self.ok,
            errors,
            error_rate: if self.requests == 0 {
                0.0
            } else {
                errors as f64 / self.requests as f64
            },
            bytes: self.bytes,
            elapsed_s: elapsed.as_secs_f64(),
            rps: self.requests as f64 / secs,
            bytes_per_s: self.bytes as f64 / secs,
            latency: LatencySummary::of(&self.latency),
            service_time: LatencySummary::of(&self.service),
            statuses: self
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            errors_by_kind: self
                .errors
                .iter()
                .map(|(k, v)| (k.label().to_string(), *v))
                .collect(),
            cache,
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Minimum.
    pub min_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Standard deviation.
    pub stdev_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 75th percentile.
    pub p75_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return LatencySummary {
                count: 0,
                min_ms: 0.0,
                mean_ms: 0.0,
                stdev_ms: 0.0,
                p50_ms: 0.0,
                p75_ms: 0.0,
                p90_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                p999_ms: 0.0,
                max_ms: 0.0,
            };
        }
        let q = |p: f64| ms(h.value_at_quantile(p));
        LatencySummary {
            count: h.len(),
            min_ms: ms(h.min()),
            mean_ms: h.mean() / 1000.0,
            stdev_ms: h.stdev() / 1000.0,
            p50_ms: q(0.50),
            p75_ms: q(0.75),
            p90_ms: q(0.90),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: ms(h.max()),
        }
    }
}

/// Per-cache-tier statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TierSummary {
    /// Responses in this tier.
    pub count: u64,
    /// Fraction of all responses.
    pub share: f64,
    /// Latency of this tier's responses.
    pub latency: LatencySummary,
}

/// Aggregated results of a measured phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Measured requests.
    pub requests: u64,
    /// Successful requests (response with status < 400).
    pub ok: u64,
    /// Failed requests (transport errors and status ≥ 400).
    pub errors: u64,
    /// `errors / requests`.
    pub error_rate: f64,
    /// Body bytes received.
    pub bytes: u64,
    /// Measured wall time in seconds.
    pub elapsed_s: f64,
    /// Throughput in requests/s.
    pub rps: f64,
    /// Throughput in bytes/s.
    pub bytes_per_s: f64,
    /// Latency from the scheduled send time (what users experience).
    pub latency: LatencySummary,
    /// Latency from the actual send (naive; hides queueing in open loop).
    pub service_time: LatencySummary,
    /// Counts per HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Counts per error kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Per `X-Cache` tier.
    pub cache: BTreeMap<String, TierSummary>,
}
