//! Messages the farm adds to the protocol's wire format: the result of a
//! job, published by the worker on the job's result subject.

use bytes::Bytes;
use protocol::RenderError;
use serde::{Deserialize, Serialize};

/// Wire-format version of [`JobResult`].
pub const RESULT_VERSION: u16 = 1;

/// What became of one job, MessagePack-encoded via `protocol::codec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// [`RESULT_VERSION`] of the sender.
    pub version: u16,
    /// The tile's cache key (result subjects are hashes of it; receivers
    /// compare this to drop the rare hash collision).
    pub key: String,
    /// The encoded tile, or why there is none. Empty when [`Self::in_l2`].
    pub result: Result<Bytes, RenderError>,
    /// The tile was too large for a NATS message: it is in L2 (Redis)
    /// under `key`, and receivers read it from there.
    #[serde(default)]
    pub in_l2: bool,
}

impl JobResult {
    /// A result of the current version.
    pub fn new(key: String, result: Result<Bytes, RenderError>) -> Self {
        Self {
            version: RESULT_VERSION,
            key,
            result,
            in_l2: false,
        }
    }

    /// A result that says "read the tile from L2".
    pub fn in_l2(key: String) -> Self {
        Self {
            in_l2: true,
            ..Self::new(key, Ok(Bytes::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::codec;

    #[test]
    fn results_round_trip() {
        for r in [
            Ok(Bytes::from_static(b"\x89PNG")),
            Err(RenderError::Data("gone".into())),
        ] {
            let m = JobResult::new("k".into(), r);
            let back: JobResult = codec::decode(&codec::encode(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }
}
