//! [`DecodeError`] and the [`MessageId`] it names.

use std::fmt;

/// Which field of a buffer: the message (0-based) and the field within it
/// (0-based; GRIB2 messages may repeat sections 2–7). Displays 1-based like
/// wgrib2: `3` for the first field of the third message, `3.2` for the
/// second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId {
    /// 0-based message number in the buffer.
    pub message: usize,
    /// 0-based field number within the message.
    pub field: usize,
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message + 1)?;
        if self.field > 0 {
            write!(f, ".{}", self.field + 1)?;
        }
        Ok(())
    }
}

/// Why a field could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a GRIB2 stream the parser can walk.
    #[error("not a readable GRIB2 stream: {0}")]
    Unreadable(String),
    /// The requested field index is past the end of the buffer.
    #[error("field {index} requested but the data holds {count} fields")]
    NoSuchField { index: usize, count: usize },
    /// A data representation template we do not decode.
    #[error("message {message}: data representation template 5.{template} is not supported")]
    UnsupportedDataTemplate { message: MessageId, template: u16 },
    /// A grid definition template we do not georeference.
    #[error("message {message}: grid definition template 3.{template} is not supported")]
    UnsupportedGridTemplate { message: MessageId, template: u16 },
    /// Some other feature we do not handle (bit-map kind, scan mode...).
    #[error("message {message}: {what} is not supported")]
    Unsupported { message: MessageId, what: String },
    /// A NetCDF file we cannot read as a satellite product, and why.
    #[error("NetCDF: {0}")]
    NetCdf(String),
    /// The message contradicts itself or is cut short.
    #[error("message {message}: corrupt data: {reason}")]
    Corrupt { message: MessageId, reason: String },
}
