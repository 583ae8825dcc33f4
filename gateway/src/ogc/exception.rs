//! OWS 1.1 exception reports, as WMTS 1.0.0 returns them.
//!
//! HTTP statuses follow WMTS 1.0.0 (OGC 07-057r7) §7.1.2, §7.2.2 and §7.3.2,
//! whose tables map every exception code to a status:
//!
//! | exceptionCode            | status |
//! |--------------------------|--------|
//! | MissingParameterValue    | 400    |
//! | InvalidParameterValue    | 400    |
//! | VersionNegotiationFailed | 400    |
//! | InvalidUpdateSequence    | 400    |
//! | TileOutOfRange           | 400    |
//! | PointIJOutOfRange        | 400    |
//! | OperationNotSupported    | 501    |
//! | OptionNotSupported       | 501    |
//! | NoApplicableCode         | 500    |
//!
//! `TileOutOfRange` is 400 in the spec even though many servers answer 404;
//! we follow the spec. Two product rules add statuses the tables do not
//! have, keeping the spec's exception code so OWS clients still understand
//! the report: an unknown layer is `InvalidParameterValue` (locator `layer`)
//! with **404**, and an overloaded server is `NoApplicableCode` with **503**
//! and `Retry-After`.

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::catalog::ResolveError;

use super::xml::XmlWriter;

/// The OWS 1.1 namespace of exception reports.
pub const OWS_NS: &str = "http://www.opengis.net/ows/1.1";

/// An OWS exception code (OWS Common 1.1 Table 25 plus WMTS's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OgcErrorCode {
    /// A required parameter is absent and has no default.
    MissingParameterValue,
    /// A parameter has a value the server does not accept.
    InvalidParameterValue,
    /// The request names an operation this server does not implement.
    OperationNotSupported,
    /// The request asks for an option this server does not implement.
    OptionNotSupported,
    /// No version both sides speak (GetCapabilities `AcceptVersions`).
    VersionNegotiationFailed,
    /// `updateSequence` is newer than the server's.
    InvalidUpdateSequence,
    /// TileRow or TileCol is outside the tile matrix (or its limits).
    TileOutOfRange,
    /// GetFeatureInfo's I or J is outside the tile.
    PointIJOutOfRange,
    /// Anything else, including server-side failures.
    NoApplicableCode,
}

impl OgcErrorCode {
    /// The `exceptionCode` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingParameterValue => "MissingParameterValue",
            Self::InvalidParameterValue => "InvalidParameterValue",
            Self::OperationNotSupported => "OperationNotSupported",
            Self::OptionNotSupported => "OptionNotSupported",
            Self::VersionNegotiationFailed => "VersionNegotiationFailed",
            Self::InvalidUpdateSequence => "InvalidUpdateSequence",
            Self::TileOutOfRange => "TileOutOfRange",
            Self::PointIJOutOfRange => "PointIJOutOfRange",
            Self::NoApplicableCode => "NoApplicableCode",
        }
    }

    /// The status WMTS 1.0.0 assigns to this code (see the module table).
    pub fn default_status(self) -> StatusCode {
        match self {
            Self::MissingParameterValue
            | Self::InvalidParameterValue
            | Self::VersionNegotiationFailed
            | Self::InvalidUpdateSequence
            | Self::TileOutOfRange
            | Self::PointIJOutOfRange => StatusCode::BAD_REQUEST,
            Self::OperationNotSupported | Self::OptionNotSupported => StatusCode::NOT_IMPLEMENTED,
            Self::NoApplicableCode => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for OgcErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One OWS exception, answered as an `ExceptionReport`.
///
/// Build it with the constructors, which pick the locator and status the
/// spec (or the product rules in the module docs) prescribe.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}{}: {message}", locator.as_deref().map(|l| format!(" ({l})")).unwrap_or_default())]
pub struct OgcError {
    /// The exception code.
    pub code: OgcErrorCode,
    /// The parameter (or operation) at fault, as the spec's tables say.
    pub locator: Option<String>,
    /// Human-readable explanation (`ExceptionText`).
    pub message: String,
    /// Set where a product rule overrides the code's status.
    status_override: Option<StatusCode>,
    /// How long a client should wait before retrying (busy only).
    retry_after: Option<Duration>,
}

impl OgcError {
    /// An error with the code's default status.
    pub fn new(code: OgcErrorCode, locator: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            code,
            locator: locator.map(str::to_owned),
            message: message.into(),
            status_override: None,
            retry_after: None,
        }
    }

    /// The request URI is longer than `max` bytes (HTTP 414).
    pub fn uri_too_long(max: usize) -> Self {
        Self {
            status_override: Some(StatusCode::URI_TOO_LONG),
            ..Self::new(
                OgcErrorCode::NoApplicableCode,
                None,
                format!("the request URI is longer than {max} bytes"),
            )
        }
    }

    /// Required parameter `param` is absent.
    pub fn missing_parameter(param: &str) -> Self {
        Self::new(
            OgcErrorCode::MissingParameterValue,
            Some(param),
            format!("missing parameter {param}"),
        )
    }

    /// Parameter `param` has an unacceptable value.
    pub fn invalid_parameter(param: &str, message: impl Into<String>) -> Self {
        Self::new(OgcErrorCode::InvalidParameterValue, Some(param), message)
    }

    /// The request names an operation we do not implement.
    pub fn operation_not_supported(operation: &str) -> Self {
        Self::new(
            OgcErrorCode::OperationNotSupported,
            Some(operation),
            format!("operation {operation} is not supported"),
        )
    }

    /// TileRow/TileCol (`param`) outside the matrix.
    pub fn tile_out_of_range(param: &str, message: impl Into<String>) -> Self {
        Self::new(OgcErrorCode::TileOutOfRange, Some(param), message)
    }

    /// I/J (`param`) outside the tile.
    pub fn point_out_of_range(param: &str, message: impl Into<String>) -> Self {
        Self::new(OgcErrorCode::PointIJOutOfRange, Some(param), message)
    }

    /// The layer does not exist: `InvalidParameterValue`, locator `layer`,
    /// HTTP 404 (product rule: a missing layer is a missing resource).
    pub fn unknown_layer(layer: &str) -> Self {
        Self {
            status_override: Some(StatusCode::NOT_FOUND),
            ..Self::invalid_parameter("layer", format!("unknown layer {layer}"))
        }
    }

    /// The server is overloaded: `NoApplicableCode`, HTTP 503 with
    /// `Retry-After` (whole seconds, rounded up, at least 1).
    pub fn server_busy(retry_after: Duration) -> Self {
        Self {
            status_override: Some(StatusCode::SERVICE_UNAVAILABLE),
            retry_after: Some(retry_after),
            ..Self::new(
                OgcErrorCode::NoApplicableCode,
                None,
                "server busy, retry later",
            )
        }
    }

    /// A server-side failure: `NoApplicableCode`, HTTP 500. `message` is
    /// shown to clients, so keep internals (paths, keys) out of it.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(OgcErrorCode::NoApplicableCode, None, message)
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        self.status_override
            .unwrap_or_else(|| self.code.default_status())
    }

    /// `Retry-After` in whole seconds, when the client should retry.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .map(|s| s.max(1))
    }

    /// The OWS 1.1 `ExceptionReport` document.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.start(
            "ExceptionReport",
            &[
                ("xmlns", OWS_NS),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                (
                    "xsi:schemaLocation",
                    "http://www.opengis.net/ows/1.1 http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd",
                ),
                ("version", "1.0.0"),
                ("xml:lang", "en"),
            ],
        );
        let mut attrs = vec![("exceptionCode", self.code.as_str())];
        if let Some(l) = &self.locator {
            attrs.push(("locator", l.as_str()));
        }
        w.start("Exception", &attrs)
            .text("ExceptionText", &[], &self.message)
            .end()
            .end();
        w.finish()
    }
}

/// Maps catalog lookups onto WMTS exceptions: the locator names the
/// dimension whose value matched nothing.
impl From<ResolveError> for OgcError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::UnknownLayer(l) => Self::unknown_layer(&l),
            ResolveError::NoSuchRun(_) => Self::invalid_parameter("run", e.to_string()),
            ResolveError::NoSuchValue { dimension, .. } => {
                Self::invalid_parameter(dimension, e.to_string())
            }
            // The layer is advertised but holds nothing yet (e.g. between
            // retention sweeps): a server-side state, not a client mistake.
            ResolveError::Empty => Self::internal(e.to_string()),
        }
    }
}

impl From<protocol::plan::PlanError> for OgcError {
    fn from(e: protocol::plan::PlanError) -> Self {
        use protocol::plan::PlanError;
        match e {
            PlanError::TileOutOfRange { param, message } => Self::tile_out_of_range(param, message),
            PlanError::UnknownLayer(l) => Self::unknown_layer(&l),
            PlanError::InvalidParameter { param, message } => {
                Self::invalid_parameter(param, message)
            }
            PlanError::Resolve(e) => e.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

impl IntoResponse for OgcError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), self.to_xml()).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Some(s) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_report(xml: &str) -> (String, Option<String>, String) {
        let doc = roxmltree::Document::parse(xml).expect("report parses");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "ExceptionReport");
        assert_eq!(root.tag_name().namespace(), Some(OWS_NS));
        assert_eq!(root.attribute("version"), Some("1.0.0"));
        let ex = root
            .children()
            .find(|n| n.has_tag_name((OWS_NS, "Exception")))
            .expect("Exception");
        let text = ex
            .children()
            .find(|n| n.has_tag_name((OWS_NS, "ExceptionText")))
            .and_then(|n| n.text())
            .unwrap_or_default();
        (
            ex.attribute("exceptionCode").unwrap().to_owned(),
            ex.attribute("locator").map(str::to_owned),
            text.to_owned(),
        )
    }

    #[test]
    fn statuses_follow_wmts_tables_and_product_rules() {
        use OgcErrorCode::*;
        let cases = [
            (
                OgcError::missing_parameter("TileRow"),
                400,
                MissingParameterValue,
            ),
            (
                OgcError::invalid_parameter("format", "no"),
                400,
                InvalidParameterValue,
            ),
            (
                OgcError::tile_out_of_range("TileCol", "too far"),
                400,
                TileOutOfRange,
            ),
            (
                OgcError::point_out_of_range("I", "too far"),
                400,
                PointIJOutOfRange,
            ),
            (
                OgcError::operation_not_supported("GetLegend"),
                501,
                OperationNotSupported,
            ),
            (OgcError::unknown_layer("nope"), 404, InvalidParameterValue),
            (OgcError::internal("boom"), 500, NoApplicableCode),
            (
                OgcError::server_busy(Duration::from_secs(3)),
                503,
                NoApplicableCode,
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status().as_u16(), e.code), (status, code), "{e}");
        }
        assert_eq!(
            OgcError::unknown_layer("x").locator.as_deref(),
            Some("layer")
        );
    }

    #[test]
    fn report_is_ows_xml_with_code_locator_and_escaped_text() {
        let e = OgcError::invalid_parameter("style", r#"no style <&"'> here"#);
        let (code, locator, text) = parse_report(&e.to_xml());
        assert_eq!(code, "InvalidParameterValue");
        assert_eq!(locator.as_deref(), Some("style"));
        assert_eq!(text, r#"no style <&"'> here"#);

        // NoApplicableCode omits the locator, as the tables say.
        let (code, locator, _) = parse_report(&OgcError::internal("x").to_xml());
        assert_eq!((code.as_str(), locator), ("NoApplicableCode", None));
    }

    #[test]
    fn resolve_errors_map_to_locators() {
        let e: OgcError = ResolveError::NoSuchValue {
            dimension: "forecast",
            value: "7".into(),
        }
        .into();
        assert_eq!(
            (e.status().as_u16(), e.locator.as_deref()),
            (400, Some("forecast"))
        );
        let e: OgcError = ResolveError::UnknownLayer("x".into()).into();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let e: OgcError = ResolveError::NoSuchRun("r".into()).into();
        assert_eq!(e.locator.as_deref(), Some("run"));
    }

    #[test]
    fn retry_after_rounds_up() {
        let e = OgcError::server_busy(Duration::from_millis(1500));
        assert_eq!(e.retry_after_secs(), Some(2));
        let e = OgcError::server_busy(Duration::ZERO);
        assert_eq!(e.retry_after_secs(), Some(1));
        assert_eq!(OgcError::internal("x").retry_after_secs(), None);
    }

    #[tokio::test]
    async fn into_response_sets_status_type_and_retry_after() {
        let res = OgcError::server_busy(Duration::from_secs(5)).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/xml");
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let (code, _, _) = parse_report(std::str::from_utf8(&body).unwrap());
        assert_eq!(code, "NoApplicableCode");

        let res = OgcError::unknown_layer("nope").into_response();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
    }
}
