//! New-object notifications: S3 event JSON, raw or in an SNS envelope
//! (`Type: Notification`), read within a budget into (bucket, key) pairs.
//! `serve --follow` accepts them at `POST /admin/pull/notify` (admin token)
//! and pulls each named object of a followed source at once.

use serde::Deserialize;

/// Largest notification body read (an S3 event is ~1-2 KB a record).
pub const MAX_NOTIFICATION_BYTES: usize = 256 << 10;
/// Most records one notification may name.
pub const MAX_RECORDS: usize = 100;

/// Why a notification was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NotifyError {
    #[error("notification is {0} bytes, over the {MAX_NOTIFICATION_BYTES}-byte budget")]
    TooLarge(usize),
    #[error("not an S3 event or SNS notification: {0}")]
    Malformed(String),
    #[error("notification names {0} objects, over the budget of {MAX_RECORDS}")]
    TooManyRecords(usize),
    #[error(
        "SNS subscription confirmations are not confirmed automatically: open its SubscribeURL once by hand"
    )]
    SubscriptionConfirmation,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
}

#[derive(Deserialize)]
struct Record {
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Named,
    object: Keyed,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Keyed {
    key: String,
}

/// The (bucket, key) pairs a notification names.
pub fn objects(body: &[u8]) -> Result<Vec<(String, String)>, NotifyError> {
    if body.len() > MAX_NOTIFICATION_BYTES {
        return Err(NotifyError::TooLarge(body.len()));
    }
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| NotifyError::Malformed(e.to_string()))?;
    let records = match (env.kind.as_deref(), env.records) {
        (Some("SubscriptionConfirmation"), _) => return Err(NotifyError::SubscriptionConfirmation),
        (Some("Notification"), _) => {
            let inner = env
                .message
                .ok_or_else(|| NotifyError::Malformed("SNS notification without Message".into()))?;
            let inner: Envelope = serde_json::from_str(&inner)
                .map_err(|e| NotifyError::Malformed(format!("SNS Message: {e}")))?;
            inner.records.unwrap_or_default()
        }
        (_, Some(records)) => records,
        _ => return Err(NotifyError::Malformed("no Records".into())),
    };
    if records.len() > MAX_RECORDS {
        return Err(NotifyError::TooManyRecords(records.len()));
    }
    Ok(records
        .into_iter()
        .map(|r| (r.s3.bucket.name, url_decode(&r.s3.object.key)))
        .collect())
}

/// S3 event keys are URL-encoded, with `+` for spaces.
fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3: &str = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"noaa-gfs-bdp-pds"},"object":{"key":"gfs.20261129/00/atmos/gfs.t00z.pgrb2.0p25.f003.idx","size":1}}}]}"#;

    #[test]
    fn raw_and_sns_events_name_their_objects() {
        let want = vec![(
            "noaa-gfs-bdp-pds".to_owned(),
            "gfs.20261129/00/atmos/gfs.t00z.pgrb2.0p25.f003.idx".to_owned(),
        )];
        assert_eq!(objects(S3.as_bytes()).unwrap(), want);
        let sns = serde_json::json!({"Type": "Notification", "Message": S3}).to_string();
        assert_eq!(objects(sns.as_bytes()).unwrap(), want);
        let confirm = r#"{"Type":"SubscriptionConfirmation","SubscribeURL":"https://x"}"#;
        assert_eq!(
            objects(confirm.as_bytes()),
            Err(NotifyError::SubscriptionConfirmation)
        );
        assert!(matches!(objects(b"{}"), Err(NotifyError::Malformed(_))));
        assert!(matches!(
            objects(&vec![b' '; MAX_NOTIFICATION_BYTES + 1]),
            Err(NotifyError::TooLarge(_))
        ));
        assert_eq!(url_decode("a+b%2Fc%zz%4"), "a b/c%zz%4");
    }
}
