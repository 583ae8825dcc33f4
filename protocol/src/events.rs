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

/// Wire-format version of [`PullNotice`].
pub const PULL_NOTICE_VERSION: u16 = 1;

/// Longest object key a [`PullNotice`] may name (S3's own limit).
pub const MAX_NOTICE_KEY_BYTES: usize = 1024;

/// Longest bucket name a [`PullNotice`] may name (S3's own limit).
pub const MAX_NOTICE_BUCKET_BYTES: usize = 63;

/// Largest encoded [`PullNotice`] a receiver decodes.
pub const MAX_NOTICE_BYTES: usize = 2048;

/// A new object in a source bucket, named by a notification the gateway's
/// webhook accepted: for the scheduler to pull when it follows that bucket.
/// Receivers treat it as untrusted (see [`PullNotice::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullNotice {
    /// [`PULL_NOTICE_VERSION`] of the sender.
    pub version: u16,
    /// The source bucket.
    pub bucket: String,
    /// The new object's key in it (URL-decoded).
    pub key: String,
}

/// Why a [`PullNotice`] was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("bucket name empty or over {MAX_NOTICE_BUCKET_BYTES} bytes")]
    Bucket,
    #[error("object key empty or over {MAX_NOTICE_KEY_BYTES} bytes")]
    Key,
}

impl PullNotice {
    /// A notice of the current version.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            version: PULL_NOTICE_VERSION,
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// Refuses empty or oversized names (and control characters in them).
    pub fn check(&self) -> Result<(), NoticeError> {
        let bad =
            |s: &str, max: usize| s.is_empty() || s.len() > max || s.chars().any(char::is_control);
        if bad(&self.bucket, MAX_NOTICE_BUCKET_BYTES) {
            return Err(NoticeError::Bucket);
        }
        if bad(&self.key, MAX_NOTICE_KEY_BYTES) {
            return Err(NoticeError::Key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_notices_round_trip_and_are_bounded() {
        let n = PullNotice::new("noaa-gfs-bdp-pds", "gfs.20261129/00/atmos/x.idx");
        let bytes = crate::codec::encode(&n).unwrap();
        assert!(bytes.len() < MAX_NOTICE_BYTES);
        assert_eq!(crate::codec::decode::<PullNotice>(&bytes).unwrap(), n);
        assert_eq!(n.check(), Ok(()));
        let long = PullNotice::new("b", "k".repeat(MAX_NOTICE_KEY_BYTES + 1));
        assert_eq!(long.check(), Err(NoticeError::Key));
        // The largest acceptable notice still fits the decode budget.
        let max = PullNotice::new("b".repeat(63), "k".repeat(MAX_NOTICE_KEY_BYTES));
        assert!(crate::codec::encode(&max).unwrap().len() <= MAX_NOTICE_BYTES);
        assert_eq!(PullNotice::new("", "k").check(), Err(NoticeError::Bucket));
        assert_eq!(PullNotice::new("b", "a\nb").check(), Err(NoticeError::Key));
    }
}
