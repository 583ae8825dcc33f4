//! Message signatures: every job, result and point query a farm process
//! sends carries an HMAC-SHA256 of its payload under the farm's shared
//! secret, and receivers drop what does not verify. NATS credentials keep
//! strangers off the server; signatures mean that even a client that gets
//! onto it cannot queue work or answer for a worker.

use async_nats::HeaderMap;
use ring::hmac;

use crate::FarmError;

/// Header carrying a message's signature (lower-case hex).
pub const SIGNATURE_HEADER: &str = "wxfarm-sig";

/// Shortest secret accepted, bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The farm's signing key, shared by every gateway, worker and scheduler.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// The key of `secret`, which must be at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &str) -> Result<Self, FarmError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(FarmError::Config(format!(
                "the farm secret must be at least {MIN_SECRET_LEN} bytes"
            )));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())))
    }

    /// The signature of `payload`, as sent in [`SIGNATURE_HEADER`].
    pub fn sign(&self, payload: &[u8]) -> String {
        hex(hmac::sign(&self.0, payload).as_ref())
    }

    /// Adds the signature of `payload` to `headers`.
    pub fn sign_into(&self, headers: &mut HeaderMap, payload: &[u8]) {
        headers.insert(SIGNATURE_HEADER, self.sign(payload).as_str());
    }

    /// Whether `headers` carry a valid signature of `payload`.
    pub fn verify(&self, headers: Option<&HeaderMap>, payload: &[u8]) -> bool {
        let Some(sig) = headers.and_then(|h| h.get(SIGNATURE_HEADER)) else {
            return false;
        };
        match unhex(sig.as_str()) {
            Some(tag) => hmac::verify(&self.0, payload, &tag).is_ok(),
            None => false,
        }
    }
}

/// Whether a message passes `key` (always, when the farm runs unsigned).
pub(crate) fn accepts(
    key: Option<&SigningKey>,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> bool {
    key.is_none_or(|k| k.verify(headers, payload))
}

/// Headers with `payload`'s signature, when signing.
pub(crate) fn signed_headers(key: Option<&SigningKey>, payload: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(k) = key {
        k.sign_into(&mut headers, payload);
    }
    headers
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_under_the_same_key_and_payload() {
        let key = SigningKey::new("a farm secret of some length").unwrap();
        let mut headers = HeaderMap::new();
        key.sign_into(&mut headers, b"job");
        assert!(key.verify(Some(&headers), b"job"));
        assert!(!key.verify(Some(&headers), b"jobs"), "payload changed");
        let other = SigningKey::new("another farm secret, as long").unwrap();
        assert!(!other.verify(Some(&headers), b"job"), "other key");
        assert!(!key.verify(None, b"job"), "unsigned");
        let mut forged = HeaderMap::new();
        forged.insert(SIGNATURE_HEADER, "zz");
        assert!(!key.verify(Some(&forged), b"job"), "not hex");
        assert!(SigningKey::new("short").is_err());
        assert!(accepts(None, None, b"anything"));
        assert!(!accepts(Some(&key), None, b"anything"));
    }
}
