//! Wire format: MessagePack via rmp-serde, with named fields so that
//! adding an optional field stays readable by older decoders.

use serde::{Serialize, de::DeserializeOwned};

/// A message that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("encode: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("decode: {0} bytes after the message")]
    Trailing(usize),
}

/// Encodes `value` as MessagePack (map-keyed).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Decodes MessagePack produced by [`encode`]: exactly one value, so
/// trailing bytes (a corrupt or forged message) are an error too.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    let value = T::deserialize(&mut de)?;
    match de.get_ref().len() {
        0 => Ok(value),
        n => Err(CodecError::Trailing(n)),
    }
}
