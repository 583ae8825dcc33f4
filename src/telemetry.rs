//! Logs, traces and metrics setup shared by every role.

use std::future::ready;

use anyhow::Result;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the Prometheus recorder (once per process).
pub fn install_metrics() -> Result<PrometheusHandle> {
    // Tile latencies span 100 µs (L1) to seconds (cold decode).
    // Up to 30 s: render deadlines (10–15 s) must land inside a bucket.
    let buckets = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 15.0, 30.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)?
        .install_recorder()?;
    describe_metrics();
    spawn_upkeep(handle.clone());
    Ok(handle)
}

/// Every 5 s, folds the histogram samples recorded since into the
/// exported buckets. `install_recorder` leaves this to the caller: without
/// it each sample is kept until the next scrape, so an unscraped server's
/// memory grew with every request (and every few dozen requests allocated
/// another block of samples on the request path).
fn spawn_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "metrics upkeep thread not started; histograms grow until scraped");
    }
}

/// HELP text for every metric wxfarm exports, and the unlabelled counters
/// registered at zero, so `/metrics` lists them (and `rate()` sees their
/// first increment) before anything happened.
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    // (name, help, exported at zero from the start: the unlabelled ones)
    let counters: [(&'static str, &'static str, bool); 16] = [
        (
            "wxfarm_tile_requests_total",
            "Tile requests answered, by cache tier and HTTP status.",
            false,
        ),
        (
            "wxfarm_renders_total",
            "Renders finished, by result and queue priority.",
            false,
        ),
        (
            "wxfarm_queue_rejected_total",
            "Jobs the embedded queue refused because it was full.",
            true,
        ),
        (
            "wxfarm_warm_jobs_total",
            "Warming jobs queued for newly ingested fields, by source: static (the low zooms) or hot_set (the positions users ask for most).",
            false,
        ),
        (
            "wxfarm_prefetch_jobs_total",
            "Prefetch jobs queued, by kind (spatial, temporal).",
            false,
        ),
        (
            "wxfarm_rate_limited_total",
            "Requests refused with 429 for exceeding a client's rate.",
            true,
        ),
        (
            "wxfarm_ingest_replaced_fields_total",
            "Catalog fields replaced by a field of another file.",
            true,
        ),
        (
            "wxfarm_renders_abandoned_total",
            "Queued requests dropped because their client had gone.",
            true,
        ),
        (
            "wxfarm_renders_cancelled_total",
            "Renders stopped part-way because nobody waited for them any more.",
            true,
        ),
        (
            "wxfarm_ingest_files_total",
            "Files read into the catalog, by result: ingested or rejected (named in the log).",
            false,
        ),
        (
            "wxfarm_ingest_fields_total",
            "GRIB fields of ingested files, by result: added to the catalog or rejected.",
            false,
        ),
        (
            "wxfarm_warm_queued_total",
            "Tiles queued ahead of demand that this process watches, by source (static, hot_set, spatial, temporal).",
            false,
        ),
        (
            "wxfarm_warm_used_total",
            "Tiles queued ahead of demand that were then asked for, by source: precision = used / queued.",
            false,
        ),
        (
            "wxfarm_warm_wasted_total",
            "Tiles queued ahead of demand that expired unasked, by source.",
            false,
        ),
        (
            "wxfarm_warm_decisions_total",
            "What the warm budget decided for work planned ahead, by source and decision (queued, over_budget, paused, users_waiting, dropped).",
            false,
        ),
        (
            "wxfarm_hot_set_resizes_total",
            "Hot-set sizing decisions from its precision and recall (kept, shrunk, grown).",
            false,
        ),
    ];
    for (name, help, at_zero) in counters {
        describe_counter!(name, Unit::Count, help);
        if at_zero {
            metrics::counter!(name).absolute(0);
        }
    }
    for source in ["static", "hot_set"] {
        metrics::counter!("wxfarm_warm_jobs_total", "source" => source).absolute(0);
    }
    for source in protocol::WarmSource::ALL {
        for decision in [
            "queued",
            "over_budget",
            "paused",
            "users_waiting",
            "dropped",
        ] {
            metrics::counter!("wxfarm_warm_decisions_total", "source" => source.as_str(), "decision" => decision)
                .absolute(0);
        }
    }
    for result in ["ingested", "rejected"] {
        metrics::counter!("wxfarm_ingest_files_total", "result" => result).absolute(0);
    }
    for result in ["added", "rejected"] {
        metrics::counter!("wxfarm_ingest_fields_total", "result" => result).absolute(0);
    }
    describe_gauge!("wxfarm_catalog_layers", "Layers in the catalog.");
    describe_gauge!(
        "wxfarm_catalog_fields",
        "Fields (times and levels of every layer) in the catalog."
    );
    for decision in ["kept", "shrunk", "grown"] {
        metrics::counter!("wxfarm_hot_set_resizes_total", "decision" => decision).absolute(0);
    }
    describe_gauge!(
        "wxfarm_hot_set_size",
        "Tile positions the hot set warms for each new field (resized by its precision and recall)."
    );
    describe_histogram!(
        "wxfarm_tile_request_duration_seconds",
        Unit::Seconds,
        "Tile request latency, by cache tier."
    );
    describe_histogram!(
        "wxfarm_render_stage_duration_seconds",
        Unit::Seconds,
        "Render time by stage: grids (fetch and decode, or the grid cache) and draw."
    );
}

/// `GET /metrics` in the Prometheus text format.
pub fn metrics_route(handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(move || ready(handle.render())))
}

/// Installs logging (text or JSON on stderr, filtered by `RUST_LOG`) and,
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set,
/// OpenTelemetry traces exported over OTLP/HTTP with the W3C trace-context
/// propagator. The standard `OTEL_*` variables apply (`OTEL_SERVICE_NAME`
/// overrides `service`, `OTEL_BSP_SCHEDULE_DELAY` the batch delay). Returns
/// the provider to shut down (flush) at exit.
pub fn init_tracing(format: &str, service: &'static str) -> Option<SdkTracerProvider> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: logs redirected to files stay plain.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let fmt = if format == "json" {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let provider = tracer_provider(service);
    TRACES_EXPORTED.store(provider.is_some(), std::sync::atomic::Ordering::Relaxed);
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer().with_tracer(p.tracer(service))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .init();
    provider
}

/// Whether [`init_tracing`] set up trace export.
static TRACES_EXPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans leave this process (OTLP export is configured).
pub fn traces_exported() -> bool {
    TRACES_EXPORTED.load(std::sync::atomic::Ordering::Relaxed)
}

fn tracer_provider(service: &'static str) -> Option<SdkTracerProvider> {
    let configured = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !configured {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("traces disabled: OTLP exporter: {e}");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    Some(
        SdkTracerProvider::builder()
            .with_resource(resource.build())
            .with_batch_exporter(exporter)
            .build(),
    )
}
