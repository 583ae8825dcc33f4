//! Statistics: percentiles on known distributions, merging, classification.

use std::time::Duration;
use wxfarm_loadgen::stats::{CacheTier, ErrorKind, Recorder, Sample};

fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}

fn close(actual: f64, expected: f64) -> bool {
    // HDR histograms with 3 significant digits are within 0.1 % (plus bucket rounding).
    (actual - expected).abs() <= expected * 0.002 + 0.002
}

#[test]
fn percentiles_of_a_uniform_distribution() {
    let mut r = Recorder::new();
    for v in 1..=10_000u64 {
        r.record_latency(us(v * 100), us(v * 100), CacheTier::Miss); // 0.1 ms … 1000 ms
    }
    let l = r.latency();
    assert_eq!(l.count, 10_000);
    for (got, want) in [
        (l.p50_ms, 500.0),
        (l.p75_ms, 750.0),
        (l.p90_ms, 900.0),
        (l.p95_ms, 950.0),
        (l.p99_ms, 990.0),
        (l.p999_ms, 999.0),
        (l.max_ms, 1000.0),
        (l.min_ms, 0.1),
        (l.mean_ms, 500.05),
    ] {
        assert!(close(got, want), "got {got}, want {want}");
    }
}

#[test]
fn percentiles_of_a_bimodal_distribution() {
    let mut r = Recorder::new();
    for _ in 0..980 {
        r.record_latency(Duration::from_millis(5), us(1), CacheTier::L1);
    }
    for _ in 0..20 {
        r.record_latency(Duration::from_millis(400), us(1), CacheTier::Miss);
    }
    let s = r.summary(Duration::from_secs(2));
    assert!(close(s.latency.p50_ms, 5.0) && close(s.latency.p95_ms, 5.0));
    assert!(close(s.latency.p99_ms, 400.0), "p99 {}", s.latency.p99_ms);
    assert_eq!(s.cache["L1"].count, 980);
    assert!(close(s.cache["MISS"].latency.p50_ms, 400.0));
    assert!((s.cache["MISS"].share - 0.02).abs() < 1e-9);
}

fn sample(ms: u64, status: Option<u16>, tier: CacheTier, error: Option<ErrorKind>) -> Sample {
    Sample {
        latency: Duration::from_millis(ms),
        service_time: Duration::from_millis(ms),
        status,
        tier,
        bytes: if status.is_some() { 100 } else { 0 },
        error,
    }
}

#[test]
fn merging_equals_recording_everything_in_one() {
    let samples: Vec<Sample> = (0..1000u64)
        .map(|i| match i % 5 {
            0 => sample(i, Some(200), CacheTier::L1, None),
            1 => sample(i * 3, Some(200), CacheTier::L2, None),
            2 => sample(i, Some(503), CacheTier::Miss, Some(ErrorKind::HttpStatus)),
            3 => sample(i, None, CacheTier::Unknown, Some(ErrorKind::Connect)),
            _ => sample(i / 2, Some(200), CacheTier::Unknown, None),
        })
        .collect();
    let mut all = Recorder::new();
    let (mut a, mut b) = (Recorder::new(), Recorder::new());
    for (i, s) in samples.iter().enumerate() {
        all.record(s);
        if i % 3 == 0 { a.record(s) } else { b.record(s) }
    }
    a.merge(&b);
    let d = Duration::from_secs(10);
    assert_eq!(a.summary(d), all.summary(d));
    let s = all.summary(d);
    assert_eq!(s.requests, 1000);
    assert_eq!(s.errors, 400);
    assert_eq!(s.ok, 600);
    assert_eq!(s.statuses["200"], 600);
    assert_eq!(s.statuses["503"], 200);
    assert_eq!(s.errors_by_kind["connect"], 200);
    assert_eq!(s.errors_by_kind["http_status"], 200);
    // Connect failures carry no latency: 800 latency samples.
    assert_eq!(s.latency.count, 800);
    assert_eq!(s.bytes, 800 * 100);
    assert!((s.rps - 100.0).abs() < 1e-9);
    assert!((s.error_rate - 0.4).abs() < 1e-9);
}

#[test]
fn cache_tier_from_header() {
    assert_eq!(CacheTier::from_header(Some("L1")), CacheTier::L1);
    assert_eq!(CacheTier::from_header(Some(" l2 ")), CacheTier::L2);
    assert_eq!(CacheTier::from_header(Some("MISS")), CacheTier::Miss);
    assert_eq!(CacheTier::from_header(Some("HIT")), CacheTier::Unknown);
    assert_eq!(CacheTier::from_header(None), CacheTier::Unknown);
}
