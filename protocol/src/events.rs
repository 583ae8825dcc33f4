//! Notifications between roles.

use serde::{Deserialize, Serialize};

/// Wire-format version of [`IngestEvent`].
pub const INGEST_EVENT_VERSION: u16 = 1;

/// An object to (re)index: published by `wxfarm ingest` (and by storage
/// notifications) for the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestEvent {
    /// [`INGEST_EVENT_VERSION`] of the sender.
    pub version: u16,
    /// The object's key in the store.
    pub object_key: String,
}

impl IngestEvent {
    /// An event of the current version.
    pub fn new(object_key: impl Into<String>) -> Self {
        Self {
            version: INGEST_EVENT_VERSION,
            object_key: object_key.into(),
        }
    }
}
