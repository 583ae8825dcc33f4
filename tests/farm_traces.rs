//! One OpenTelemetry trace across the farm: a tile miss on the gateway, the
//! job through NATS JetStream, the worker's render. The roles export over
//! OTLP/HTTP to a receiver this test runs, which decodes the protobuf
//! export requests.

mod farm_support;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use farm_support::Farm;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use support::get;

/// One received span.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    /// OTLP span kind (2 = SERVER).
    kind: i32,
    /// String and integer attributes, as text.
    attributes: HashMap<String, String>,
    /// Span ids this span links to.
    links: Vec<Vec<u8>>,
    /// OTLP status code (2 = ERROR) and message.
    status: (i32, String),
}

/// An OTLP/HTTP trace receiver on a free loopback port.
async fn receiver() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut sink = sink.lock().expect("lock");
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            Value::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for ss in rs.scope_spans {
                        for s in ss.spans {
                            sink.push(Span {
                                service: service.clone(),
                                name: s.name,
                                trace_id: s.trace_id,
                                span_id: s.span_id,
                                parent_span_id: s.parent_span_id,
                                kind: s.kind,
                                attributes: s
                                    .attributes
                                    .iter()
                                    .filter_map(|a| {
                                        let v = match a.value.as_ref()?.value.as_ref()? {
                                            Value::StringValue(s) => s.clone(),
                                            Value::IntValue(i) => i.to_string(),
                                            _ => return None,
                                        };
                                        Some((a.key.clone(), v))
                                    })
                                    .collect(),
                                links: s.links.iter().map(|l| l.span_id.clone()).collect(),
                                status: s
                                    .status
                                    .as_ref()
                                    .map(|st| (st.code, st.message.clone()))
                                    .unwrap_or_default(),
                            });
                        }
                    }
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

/// GETs `url` as a sampled client span `parent` of trace `trace_id` (hex)
/// would, asserting a 200; the trace id's bytes.
async fn get_in_trace(url: &str, trace_id: &str, parent: &str) -> Vec<u8> {
    let res = reqwest::Client::new()
        .get(url)
        .header("traceparent", format!("00-{trace_id}-{parent}-01"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// One traced farm at a time in this binary: several at once on two cores
/// (each process exporting spans every 100 ms) left one farm answering
/// 503 for 30 s in about one run in four, while each test alone passed.
static ONE_FARM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A farm exporting its traces to a receiver of ours, what it got, and
/// the receiver's URL.
async fn traced_farm_with(extra: &[&str]) -> Option<(Farm, Arc<Mutex<Vec<Span>>>, String)> {
    let (otlp, spans) = receiver().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    Farm::up_with_env(extra, &env).map(|farm| (farm, spans, otlp))
}

async fn traced_farm() -> Option<(Farm, Arc<Mutex<Vec<Span>>>)> {
    traced_farm_with(&[])
        .await
        .map(|(farm, spans, _)| (farm, spans))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tile_miss_is_one_trace_from_gateway_through_the_queue_to_the_worker() {
    let _one_farm = ONE_FARM.lock().await;
    let Some((farm, spans)) = traced_farm().await else {
        return;
    };
    // The gateway serves once the catalog reached it.
    assert_eq!(farm.serving(0).await, 200);
    let (status, headers, _) = get(&format!(
        "{}/tiles/cmc_TMP_isbl/gradient/5/9/11.png",
        farm.gateway(0)
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-cache"], "MISS");

    // Wait for a trace holding the gateway's request and the worker's render.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (gateway, worker) = loop {
        let all = spans.lock().expect("lock").clone();
        let joined = all
            .iter()
            .filter(|s| s.service == "wxfarm-gateway" && s.name == "tile")
            .map(|tile| -> (Vec<Span>, Vec<Span>) {
                all.iter()
                    .filter(|s| s.trace_id == tile.trace_id)
                    .cloned()
                    .partition(|s| s.service == "wxfarm-gateway")
            })
            .find(|(_, w)| w.iter().any(|s| s.name == "draw"));
        if let Some(found) = joined {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no joined trace; spans received: {:?}",
            all.iter()
                .map(|s| (&s.service, &s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let by_id: HashMap<&[u8], &Span> = gateway
        .iter()
        .chain(&worker)
        .map(|s| (s.span_id.as_slice(), s))
        .collect();
    let parent_name = |s: &Span| {
        by_id
            .get(s.parent_span_id.as_slice())
            .map(|p| p.name.as_str())
    };
    let job = worker
        .iter()
        .find(|s| s.name == "render job")
        .expect("the worker's job span");
    assert_eq!(
        parent_name(job),
        Some("publish job"),
        "the worker's CONSUMER span continues the gateway's PRODUCER span"
    );
    assert_eq!(job.kind, 5, "CONSUMER");
    let publish = gateway
        .iter()
        .find(|s| s.name == "publish job")
        .expect("the gateway's publish span");
    assert_eq!(publish.kind, 4, "PRODUCER");
    assert_eq!(parent_name(publish), Some("render via queue"));
    for span in [publish, job] {
        assert_eq!(
            span.attributes.get("messaging.system").map(String::as_str),
            Some("nats")
        );
        assert!(
            span.attributes
                .get("messaging.destination.name")
                .is_some_and(|d| d.starts_with("wxfarm.jobs.")),
            "{:?}",
            span.attributes
        );
    }
    for stage in ["grids", "draw"] {
        let s = worker
            .iter()
            .find(|s| s.name == stage)
            .unwrap_or_else(|| panic!("{stage} span"));
        assert_eq!(parent_name(s), Some("render job"), "{stage}");
    }
    let via_queue = gateway
        .iter()
        .find(|s| s.name == "render via queue")
        .expect("gateway queue span");
    assert_eq!(parent_name(via_queue), Some("tile"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_traceparent_continues_through_a_server_span_to_the_worker() {
    let _one_farm = ONE_FARM.lock().await;
    let Some((farm, spans)) = traced_farm().await else {
        return;
    };
    assert_eq!(farm.serving(0).await, 200);
    let ours = get_in_trace(
        &format!(
            "{}/tiles/cmc_TMP_isbl/gradient/5/10/11.png",
            farm.gateway(0)
        ),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let (server, worker_job) = loop {
        let all = spans.lock().expect("lock").clone();
        let in_trace: Vec<&Span> = all.iter().filter(|s| s.trace_id == ours).collect();
        let server = in_trace
            .iter()
            .find(|s| s.service == "wxfarm-gateway" && s.kind == 2)
            .map(|s| (*s).clone());
        let job = in_trace
            .iter()
            .find(|s| s.service == "wxfarm-worker" && s.name == "render job")
            .map(|s| (*s).clone());
        if let (Some(server), Some(job)) = (server, job) {
            break (server, job);
        }
        assert!(
            Instant::now() < deadline,
            "the client's trace did not reach the worker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(server.name, "GET /tiles/{layer}/{style}/{z}/{x}/{file}");
    assert_eq!(
        server.parent_span_id,
        vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        "the client's span is the parent"
    );
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/tiles/{layer}/{style}/{z}/{x}/{file}"),
        ("url.path", "/tiles/cmc_TMP_isbl/gradient/5/10/11.png"),
        ("http.response.status_code", "200"),
        ("wxfarm.cache_tier", "MISS"),
    ] {
        assert_eq!(
            server.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}: {:?}",
            server.attributes
        );
    }
    assert_eq!(worker_job.trace_id, ours);
    // The tile span says which tile of which field.
    let all = spans.lock().expect("lock").clone();
    let tile = all
        .iter()
        .find(|s| s.trace_id == ours && s.name == "tile")
        .expect("the tile span");
    for (key, value) in [
        ("layer", "cmc_TMP_isbl"),
        ("tms", "WebMercatorQuad"),
        ("z", "5"),
        ("x", "10"),
        ("y", "11"),
        ("run", "2021-05-18T00:00:00Z"),
    ] {
        assert_eq!(
            tile.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}: {:?}",
            tile.attributes
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingest_is_one_trace_and_its_warm_jobs_link_to_it() {
    let _one_farm = ONE_FARM.lock().await;
    let Some((farm, spans, otlp)) = traced_farm_with(&["--warm-max-zoom", "0"]).await else {
        return;
    };
    assert_eq!(farm.serving(0).await, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    farm.ingest_demo_file(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let (announce, event, ingest, warm, render) = loop {
        let all = spans.lock().expect("lock").clone();
        let announce = all
            .iter()
            .find(|s| s.service == "wxfarm-cli" && s.name == "announce file");
        let event = announce.and_then(|a| {
            all.iter()
                .find(|s| s.name == "ingest event" && s.parent_span_id == a.span_id)
        });
        let ingest = event.and_then(|e| {
            all.iter()
                .find(|s| s.name == "ingest" && s.parent_span_id == e.span_id)
        });
        let warm = ingest.and_then(|i| {
            all.iter()
                .find(|s| s.name == "warm job" && s.links.contains(&i.span_id))
        });
        let render = warm.and_then(|w| {
            all.iter()
                .find(|s| s.name == "render job" && s.trace_id == w.trace_id)
        });
        if let (Some(a), Some(e), Some(i), Some(w), Some(r)) =
            (announce, event, ingest, warm, render)
        {
            break (a.clone(), e.clone(), i.clone(), w.clone(), r.clone());
        }
        assert!(
            Instant::now() < deadline,
            "no ingest trace; spans: {:?}",
            all.iter()
                .map(|s| (&s.service, &s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // wxfarm ingest → NATS → the scheduler: one trace, PRODUCER → CONSUMER.
    assert_eq!(announce.kind, 4, "PRODUCER");
    assert_eq!(event.kind, 5, "CONSUMER");
    assert_eq!(event.service, "wxfarm-scheduler");
    assert_eq!(ingest.trace_id, announce.trace_id);
    // Each warm job is a trace of its own, linked to the ingest, and the
    // worker renders it in that trace.
    assert_ne!(warm.trace_id, ingest.trace_id);
    assert_eq!(warm.service, "wxfarm-scheduler");
    assert_eq!(render.service, "wxfarm-worker");
    assert_eq!(
        warm.attributes.get("source").map(String::as_str),
        Some("static")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standard_sampler_variables_are_honoured() {
    let _one_farm = ONE_FARM.lock().await;
    let (otlp, spans) = receiver().await;
    // Sample no new trace, but follow a caller's decision (parent-based).
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0"),
    ];
    let Some(farm) = Farm::up_with_env(&[], &env) else {
        return;
    };
    assert_eq!(farm.serving(0).await, 200);
    for x in 0..3 {
        let (status, _, _) = get(&format!(
            "{}/tiles/cmc_TMP_isbl/gradient/4/{x}/5.png",
            farm.gateway(0)
        ))
        .await;
        assert_eq!(status, 200);
    }
    // A sampled caller: its trace is recorded end to end.
    let ours = get_in_trace(
        &format!("{}/tiles/cmc_TMP_isbl/gradient/4/7/5.png", farm.gateway(0)),
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = spans.lock().expect("lock").clone();
        if all
            .iter()
            .any(|s| s.trace_id == ours && s.service == "wxfarm-worker")
        {
            // Every span received belongs to the sampled caller's trace.
            let others: Vec<_> = all
                .iter()
                .filter(|s| s.trace_id != ours && s.name == "tile")
                .map(|s| (&s.service, &s.name))
                .collect();
            assert!(others.is_empty(), "unsampled requests exported: {others:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the sampled trace never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_render_timeout_marks_the_tile_and_server_spans_as_errors() {
    let _one_farm = ONE_FARM.lock().await;
    let (otlp, spans) = receiver().await;
    // No render budget at all, and a render that takes tens of ms: a zero
    // deadline fires at the timer's next tick (up to a millisecond or
    // more away), and a small tile of the coarse test data could be done
    // by then (it was, once: 200). A 2048 px map cannot.
    let server = support::Server::start_env(
        support::demo_data(),
        &["--render-timeout-ms", "0"],
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let (status, _, _) = get(&format!(
        "{}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=gfs_PRMSL_msl&STYLES=gradient\
         &CRS=EPSG:3857&BBOX=-20000000,-15000000,20000000,15000000&WIDTH=2048&HEIGHT=2048\
         &FORMAT=image/png",
        server.url
    ))
    .await;
    assert_eq!(status, 503);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = spans.lock().expect("lock").clone();
        let tile = all.iter().find(|s| s.name == "tile");
        let server_span = all.iter().find(|s| s.kind == 2);
        if let (Some(tile), Some(server_span)) = (tile, server_span) {
            assert_eq!(tile.status.0, 2, "tile span status: {:?}", tile.status);
            assert!(
                tile.status.1.contains("timed out") || tile.status.1.contains("1 ms"),
                "{:?}",
                tile.status
            );
            assert_eq!(
                server_span.status.0, 2,
                "server span status: {:?}",
                server_span.status
            );
            assert_eq!(
                server_span
                    .attributes
                    .get("http.response.status_code")
                    .map(String::as_str),
                Some("503")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans: {:?}",
            all.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
