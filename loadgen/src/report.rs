//! Run reports: terminal table, JSON document, CSV row; threshold checks.

use crate::runner::RunOutput;
use crate::scenario::{LoadModel, Scenario, Thresholds};
use crate::stats::{LatencySummary, Summary};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// One threshold and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdCheck {
    /// Threshold name as in the scenario (e.g. `max_p99_ms`).
    pub name: String,
    /// Configured limit.
    pub limit: f64,
    /// Measured value.
    pub actual: f64,
    /// Whether the run satisfied it.
    pub passed: bool,
}

/// Checks every configured threshold against a summary.
pub fn check_thresholds(t: &Thresholds, s: &Summary) -> Vec<ThresholdCheck> {
    let l = &s.latency;
    let maxima = [
        ("max_error_rate", t.max_error_rate, s.error_rate),
        ("max_p50_ms", t.max_p50_ms, l.p50_ms),
        ("max_p90_ms", t.max_p90_ms, l.p90_ms),
        ("max_p95_ms", t.max_p95_ms, l.p95_ms),
        ("max_p99_ms", t.max_p99_ms, l.p99_ms),
        ("max_p999_ms", t.max_p999_ms, l.p999_ms),
    ];
    let mut out: Vec<ThresholdCheck> = maxima
        .into_iter()
        .filter_map(|(name, limit, actual)| {
            limit.map(|limit| ThresholdCheck {
                name: name.into(),
                limit,
                actual,
                passed: actual <= limit,
            })
        })
        .collect();
    if let Some(limit) = t.min_rps {
        out.push(ThresholdCheck {
            name: "min_rps".into(),
            limit,
            actual: s.rps,
            passed: s.rps >= limit,
        });
    }
    out
}

/// Everything known about one run; serialised as the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Always `wxfarm-loadgen`.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Target server.
    pub base_url: String,
    /// URL template.
    pub url_template: String,
    /// Tile matrix set id.
    pub tms: &'static str,
    /// `closed` or `open`.
    pub mode: &'static str,
    /// Workers (closed) or in-flight cap (open).
    pub concurrency: usize,
    /// Target rate (open loop only).
    pub rate: Option<f64>,
    /// PRNG seed.
    pub seed: u64,
    /// Warm-up length in seconds.
    pub warmup_s: f64,
    /// Requests sent during warm-up.
    pub warmup_requests: u64,
    /// Start time, seconds since the Unix epoch.
    pub started_at_unix: f64,
    /// Whether the run was cut short (Ctrl-C).
    pub interrupted: bool,
    /// Measured statistics.
    pub summary: Summary,
    /// Threshold verdicts.
    pub thresholds: Vec<ThresholdCheck>,
    /// True when every threshold passed.
    pub passed: bool,
}

impl RunReport {
    /// Builds the report for a finished run.
    pub fn new(scenario: &Scenario, out: &RunOutput) -> Self {
        let summary = out.recorder.summary(out.elapsed);
        let thresholds = check_thresholds(&scenario.thresholds, &summary);
        let (mode, concurrency, rate) = match scenario.load {
            LoadModel::Closed { concurrency } => ("closed", concurrency, None),
            LoadModel::Open {
                rate,
                max_in_flight,
            } => ("open", max_in_flight, Some(rate)),
        };
        RunReport {
            tool: "wxfarm-loadgen",
            version: env!("CARGO_PKG_VERSION"),
            scenario: scenario.name.clone(),
            base_url: scenario.base_url.clone(),
            url_template: scenario.url.as_str().to_string(),
            tms: scenario.tms.id(),
            mode,
            concurrency,
            rate,
            seed: scenario.seed,
            warmup_s: scenario.warmup.as_secs_f64(),
            warmup_requests: out.warmup_requests,
            started_at_unix: out
                .started_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            interrupted: out.interrupted,
            passed: thresholds.iter().all(|t| t.passed),
            summary,
            thresholds,
        }
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Human-readable table.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let mut o = String::new();
        let rate = self
            .rate
            .map(|r| format!(", target {r} req/s"))
            .unwrap_or_default();
        let _ = writeln!(o, "scenario   {} → {}", self.scenario, self.base_url);
        let _ = writeln!(
            o,
            "load       {} loop, concurrency {}{rate}, seed {}",
            self.mode, self.concurrency, self.seed
        );
        if self.interrupted {
            let _ = writeln!(o, "           (interrupted: partial results)");
        }
        let _ = writeln!(
            o,
            "requests   {} measured ({} warm-up) in {:.2} s · {:.1} req/s · {} · {}/s",
            s.requests,
            self.warmup_requests,
            s.elapsed_s,
            s.rps,
            human_bytes(s.bytes as f64),
            human_bytes(s.bytes_per_s)
        );
        let _ = writeln!(
            o,
            "errors     {} ({:.2} %) {}",
            s.errors,
            s.error_rate * 100.0,
            kv(&s.errors_by_kind)
        );
        let _ = writeln!(o, "statuses   {}", kv(&s.statuses));
        let _ = writeln!(
            o,
            "\n{:<12}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "latency ms", "count", "p50", "p75", "p90", "p95", "p99", "p99.9", "max", "mean"
        );
        let mut row = |label: &str, l: &LatencySummary| {
            let _ = writeln!(
                o,
                "{label:<12}{:>8}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>9.2}",
                l.count,
                l.p50_ms,
                l.p75_ms,
                l.p90_ms,
                l.p95_ms,
                l.p99_ms,
                l.p999_ms,
                l.max_ms,
                l.mean_ms
            );
        };
        row("all", &s.latency);
        if self.mode == "open" {
            row("service", &s.service_time);
        }
        for (tier, t) in &s.cache {
            if t.count > 0 {
                row(&format!("{tier} {:.0}%", t.share * 100.0), &t.latency);
            }
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(o);
            for t in &self.thresholds {
                let verdict = if t.passed { "ok  " } else { "FAIL" };
                let _ = writeln!(
                    o,
                    "{verdict} {:<16} limit {:<10} actual {:.4}",
                    t.name, t.limit, t.actual
                );
            }
        }
        o
    }

    /// CSV column names.
    pub const CSV_HEADER: &'static str = "started_at_unix,scenario,base_url,mode,concurrency,rate,seed,requests,ok,errors,error_rate,rps,bytes,bytes_per_s,elapsed_s,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,mean_ms,l1,l2,miss,unknown,passed";

    /// One CSV row matching [`RunReport::CSV_HEADER`] (no trailing newline).
    pub fn csv_row(&self) -> String {
        let s = &self.summary;
        let l = &s.latency;
        let tier = |k: &str| s.cache.get(k).map_or(0, |t| t.count);
        let rate = self.rate.map(|r| r.to_string()).unwrap_or_default();
        format!(
            "{:.3},{},{},{},{},{rate},{},{},{},{},{:.6},{:.3},{},{:.1},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{},{},{}",
            self.started_at_unix,
            csv_field(&self.scenario),
            csv_field(&self.base_url),
            self.mode,
            self.concurrency,
            self.seed,
            s.requests,
            s.ok,
            s.errors,
            s.error_rate,
            s.rps,
            s.bytes,
            s.bytes_per_s,
            s.elapsed_s,
            l.p50_ms,
            l.p75_ms,
            l.p90_ms,
            l.p95_ms,
            l.p99_ms,
            l.p999_ms,
            l.max_ms,
            l.mean_ms,
            tier("L1"),
            tier("L2"),
            tier("MISS"),
            tier("unknown"),
            self.passed
        )
    }

    /// Appends a row to `path`, writing the header first when the file is new or empty.
    pub fn append_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut text = String::new();
        if f.metadata()?.len() == 0 {
            text.push_str(Self::CSV_HEADER);
            text.push('\n');
        }
        text.push_str(&self.csv_row());
        text.push('\n');
        // One write call so concurrent runs appending to the same file do not interleave lines.
        f.write_all(text.as_bytes())
    }
}

/// Quotes a CSV field when it contains a separator, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn kv(m: &std::collections::BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}
