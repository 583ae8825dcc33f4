//! [`FarmError`]: what can go wrong setting up or operating the farm.

/// A failure of the farm's plumbing (not of a render: those are
/// [`protocol::RenderError`]s carried in results).
#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    /// NATS or JetStream refused or failed a request.
    #[error("nats: {0}")]
    Nats(String),
    /// Redis refused or failed a request.
    #[error("redis: {0}")]
    Redis(String),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] protocol::codec::CodecError),
    /// The thing asked for does not exist (e.g. a job sequence).
    #[error("not found: {0}")]
    NotFound(String),
    /// The configuration cannot work.
    #[error("config: {0}")]
    Config(String),
}

impl FarmError {
    /// Wraps any NATS client error with what was being done.
    pub(crate) fn nats(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Nats(format!("{what}: {e}"))
    }
}
