//! W3C trace context across the queue: the gateway's span travels in the
//! job message's headers (`traceparent`, `tracestate`), so the worker's
//! render joins the request's trace. Uses whatever propagator the process
//! installed (none → nothing is written or read).

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Inject<'a>(&'a mut HeaderMap);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct Extract<'a>(&'a HeaderMap);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(|(k, _)| AsRef::<str>::as_ref(k))
            .collect()
    }
}

/// Writes the current span's context into `headers`.
pub fn inject(headers: &mut HeaderMap) {
    inject_from(&tracing::Span::current(), headers);
}

/// Writes `span`'s context into `headers`.
pub fn inject_from(span: &tracing::Span, headers: &mut HeaderMap) {
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Inject(headers)));
}

/// Makes `span` a child of the context carried by `headers`, if any.
pub fn continue_in(span: &tracing::Span, headers: Option<&HeaderMap>) {
    let Some(headers) = headers else { return };
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Extract(headers)));
    // Errors only when the tracing layer is absent: nothing to join then.
    let _ = span.set_parent(parent);
}
