//! Scenario parsing and validation: shipped files parse, errors name fields.

use std::path::Path;
use std::time::Duration;
use wxfarm_loadgen::scenario::{
    DurationValue, LoadModel, Overrides, Scenario, ScenarioError, ScenarioSpec, StopCondition,
};

const BASE: &str = r#"
name: t
url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"
requests: 10
concurrency: 2
dimensions: {forecast: [0, 6]}
layers: [{name: gfs_TMP_2m}]
strategy: {kind: random, zoom: [0, 4]}
"#;

fn validate(yaml: &str) -> Result<Scenario, ScenarioError> {
    let spec = ScenarioSpec::from_yaml(yaml, "scenario.yaml")?;
    Scenario::from_spec(spec, "scenario.yaml")
}

/// `BASE` with one top-level line replaced (or added).
fn with(key: &str, line: &str) -> String {
    let mut out: Vec<String> = BASE
        .lines()
        .filter(|l| !l.starts_with(&format!("{key}:")))
        .map(String::from)
        .collect();
    out.push(line.to_string());
    out.join("\n")
}

fn err(yaml: &str) -> String {
    validate(yaml).expect_err("should be invalid").to_string()
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let s = Scenario::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !s.description.is_empty(),
            "{} has no description",
            path.display()
        );
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        names.push(s.name);
    }
    names.sort();
    let want = [
        "animation",
        "cold_cache",
        "layer_comparison",
        "pan",
        "quick",
        "stress",
        "warm_cache",
        "zoom_sweep",
    ];
    assert_eq!(names, want);
}

#[test]
fn validation_errors_name_the_field() {
    let cases = [
        (
            with("concurrency", "concurrency: 0"),
            "scenario.yaml: `concurrency` must be ≥ 1",
        ),
        (with("requests", "requests: 0"), "`requests` must be ≥ 1"),
        (
            with("requests", "duration: 10s\nrequests: 5"),
            "`duration` and `requests` are mutually exclusive",
        ),
        (
            with("requests", "warmup: 1s"),
            "`duration` or `requests` is required",
        ),
        (
            with("requests", "duration: ten"),
            "`duration` must be a duration",
        ),
        (with("rate", "rate: -5"), "`rate` must be > 0"),
        (with("rate", "rate: 1e-300"), "`rate` must be > 0"),
        (
            with("requests", "duration: 1e15"),
            "`duration` must be > 0 and ≤ 30 days",
        ),
        (with("timeout", "timeout: 0"), "`timeout` must be > 0"),
        (
            with("warmup", "warmup: -1"),
            "`warmup` must be a non-negative duration",
        ),
        (
            with("url", "url: /tiles/{z}/{x}"),
            "`url` must contain {z}, {x} and {y}",
        ),
        (
            with("url", "url: /tiles/{z}/{x}/{y}/{colour}"),
            "`url` has unknown placeholder {colour}",
        ),
        (
            with("base_url", "base_url: ftp://x"),
            "`base_url` must start with http",
        ),
        (
            with("layers", "layers: []"),
            "`layers` must list at least one layer",
        ),
        (
            with("layers", "layers: [{name: a, weight: 0}]"),
            "`layers[0].weight` must be > 0",
        ),
        (
            with("dimensions", "dimensions: {time: [a]}"),
            "`layers[0].dimensions.forecast` is required",
        ),
        (
            with("strategy", "strategy: {kind: random, zoom: [6, 2]}"),
            "`strategy.zoom` must be",
        ),
        (
            with(
                "strategy",
                "strategy: {kind: random, zoom: 3, bbox: [10, 0, -10, 5]}",
            ),
            "`strategy.bbox`",
        ),
        (
            with("strategy", "strategy: {kind: fixed, tiles: [[1, 2, 0]]}"),
            "`strategy.tiles[0]`",
        ),
        (
            with(
                "strategy",
                "strategy: {kind: hotspot, zoom: 3, center: [0, 99]}",
            ),
            "`strategy.center`",
        ),
        (
            with(
                "strategy",
                "strategy: {kind: pan, zoom: 3, viewport: [0, 2]}",
            ),
            "`strategy.viewport`",
        ),
        (
            with(
                "strategy",
                "strategy: {kind: animation, zoom: 3, center: [0, 0], dimension: time}",
            ),
            "`strategy.dimension` animates {time}",
        ),
        (
            with("thresholds", "thresholds: {max_error_rate: 2}"),
            "`thresholds.max_error_rate`",
        ),
        (
            with("concurrency", "concurrncy: 3"),
            "`concurrncy`: unknown field",
        ),
        (
            with("strategy", "strategy: {kind: random}"),
            "`strategy`: missing field `zoom`",
        ),
        (
            with("strategy", "strategy: {kind: spiral, zoom: 3}"),
            "`strategy.kind`: unknown variant `spiral`",
        ),
        (
            with("layers", "layers: [{name: a, colour: red}]"),
            "`layers[0].colour`: ",
        ),
    ];
    for (yaml, want) in cases {
        let got = err(&yaml);
        assert!(got.contains(want), "expected {want:?} in {got:?}");
        assert!(
            got.starts_with("scenario.yaml: "),
            "no file name in {got:?}"
        );
    }
}

#[test]
fn defaults_and_typed_values() {
    let s = validate(&with(
        "requests",
        "duration: 1m\nwarmup: 500ms\ntimeout: 2.5",
    ))
    .unwrap();
    assert_eq!(s.stop, StopCondition::Duration(Duration::from_secs(60)));
    assert_eq!(s.warmup, Duration::from_millis(500));
    assert_eq!(s.timeout, Duration::from_millis(2500));
    assert_eq!(s.load, LoadModel::Closed { concurrency: 2 });
    assert_eq!(s.seed, 1);
    assert_eq!(s.layers[0].style, "gradient");
    let open = validate(&with("rate", "rate: 250")).unwrap();
    assert_eq!(
        open.load,
        LoadModel::Open {
            rate: 250.0,
            max_in_flight: 2
        }
    );
}

#[test]
fn overrides_replace_fields_and_switch_modes() {
    let mut spec = ScenarioSpec::from_yaml(BASE, "b.yaml").unwrap();
    spec.apply(&Overrides {
        concurrency: Some(16),
        duration: Some(DurationValue::Text("5s".into())),
        rate: Some(100.0),
        base_url: Some("http://127.0.0.1:9999/".into()),
        seed: Some(77),
        ..Default::default()
    });
    let s = Scenario::from_spec(spec, "b.yaml").unwrap();
    assert_eq!(s.stop, StopCondition::Duration(Duration::from_secs(5)));
    assert_eq!(
        s.load,
        LoadModel::Open {
            rate: 100.0,
            max_in_flight: 16
        }
    );
    assert_eq!(s.base_url, "http://127.0.0.1:9999");
    assert_eq!(s.seed, 77);
    let mut spec = ScenarioSpec::from_yaml(&with("requests", "duration: 30s"), "b.yaml").unwrap();
    spec.apply(&Overrides {
        requests: Some(3),
        ..Default::default()
    });
    assert_eq!(
        Scenario::from_spec(spec, "b.yaml").unwrap().stop,
        StopCondition::Requests(3)
    );
    let mut spec = ScenarioSpec::from_yaml(BASE, "b.yaml").unwrap();
    spec.apply(&Overrides {
        concurrency: Some(0),
        ..Default::default()
    });
    let e = Scenario::from_spec(spec, "b.yaml").unwrap_err().to_string();
    assert!(e.starts_with("b.yaml: `concurrency` must be ≥ 1"), "{e}");
}

#[test]
fn missing_file_is_reported_with_its_name() {
    let e = Scenario::load(Path::new("/nonexistent/nope.yaml"), &Overrides::default()).unwrap_err();
    assert!(e.to_string().starts_with("nope.yaml: "), "{e}");
}
