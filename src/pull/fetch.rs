//! The provider's bucket, read anonymously through `object_store`'s S3
//! client: listings, sizes and byte ranges, each retried with backoff and
//! each body checked against the length asked for.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

/// A public bucket (NOAA's open data, a mirror, or a test fixture).
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// The bucket's name, for messages.
    pub name: String,
    retries: u32,
    backoff: Duration,
}

/// What a failed read was, for the caller to retry or not.
fn retryable(e: &object_store::Error) -> bool {
    !matches!(
        e,
        object_store::Error::NotFound { .. }
            | object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }
    )
}

impl Bucket {
    /// Opens `bucket` anonymously; `endpoint` (e.g. `http://127.0.0.1:9000`)
    /// for mirrors and private copies, AWS otherwise. Reads are tried
    /// `1 + retries` times, waiting `backoff`, doubling, in between.
    pub fn open(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        retries: u32,
        backoff: Duration,
    ) -> Result<Self> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_skip_signature(true)
            // Our own retries: they also cover truncated bodies, and count.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 0,
                retry_timeout: Duration::from_secs(60),
            });
        if let Some(ep) = endpoint {
            b = b
                .with_endpoint(ep.trim_end_matches('/'))
                .with_allow_http(ep.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = b.build().with_context(|| format!("bucket {bucket}"))?;
        Ok(Self {
            store: Arc::new(store),
            name: bucket.to_owned(),
            retries,
            backoff,
        })
    }

    /// Runs `op` until it succeeds, fails for good, or retries run out.
    async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, FetchError>>,
    {
        let mut delay = self.backoff;
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(FetchError::Fatal(e)) => return Err(e.context(what.to_owned())),
                Err(FetchError::Retry(e)) if attempt < self.retries => {
                    attempt += 1;
                    tracing::warn!(what, error = %format!("{e:#}"), attempt, "retrying");
                    metrics::counter!("wxfarm_pull_retries_total").increment(1);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(FetchError::Retry(e)) => {
                    return Err(e.context(format!("{what}: failed after {} attempts", attempt + 1)));
                }
            }
        }
    }

    /// The object's size, or `None` when there is no such object.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = Path::from(key);
        self.retry(&format!("s3://{}/{key}", self.name), || async {
            match self.store.head(&path).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(FetchError::from(e)),
            }
        })
        .await
    }

    /// Bytes `[start, end)` of `key`; a short or long body is retried.
    pub async fn range(&self, key: &str, start: u64, end: u64) -> Result<Bytes> {
        let path = Path::from(key);
        let what = format!("s3://{}/{key} bytes {start}-{}", self.name, end - 1);
        self.retry(&what, || async {
            let bytes = self
                .store
                .get_range(&path, start..end)
                .await
                .map_err(FetchError::from)?;
            if bytes.len() as u64 != end - start {
                return Err(FetchError::Retry(anyhow!(
                    "truncated body: {} bytes of {}",
                    bytes.len(),
                    end - start
                )));
            }
            Ok(bytes)
        })
        .await
    }

    /// A whole object of at most `max_bytes` (its size is checked first).
    pub async fn whole(&self, key: &str, max_bytes: u64) -> Result<Bytes> {
        let size = self
            .size(key)
            .await?
            .with_context(|| format!("s3://{}/{key}: no such object", self.name))?;
        if size > max_bytes {
            bail!(
                "s3://{}/{key}: {size} bytes, over the {max_bytes}-byte budget",
                self.name
            );
        }
        if size == 0 {
            bail!("s3://{}/{key}: empty object", self.name);
        }
        self.range(key, 0, size).await
    }

    /// Keys (and sizes) under `prefix`, at most [`MAX_LIST_ENTRIES`]: the
    /// endpoint may be any mirror, so its listing is bounded like any body.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let path = Path::from(prefix.trim_end_matches('/'));
        let metas = self
            .retry(&format!("listing s3://{}/{prefix}", self.name), || async {
                let metas: Vec<_> = self
                    .store
                    .list(Some(&path))
                    .take(MAX_LIST_ENTRIES + 1)
                    .try_collect()
                    .await
                    .map_err(FetchError::from)?;
                Ok(metas)
            })
            .await?;
        if metas.len() > MAX_LIST_ENTRIES {
            bail!(
                "s3://{}/{prefix}: more than {MAX_LIST_ENTRIES} objects listed",
                self.name
            );
        }
        Ok(metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.size))
            .collect())
    }
}

/// Most objects one listing may return (a day of MRMS at its 2-minute
/// cadence is 720; a GOES hour of one band about 12).
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// A failed attempt: worth another try, or not.
enum FetchError {
    Retry(anyhow::Error),
    Fatal(anyhow::Error),
}

impl From<object_store::Error> for FetchError {
    fn from(e: object_store::Error) -> Self {
        if retryable(&e) {
            FetchError::Retry(e.into())
        } else {
            FetchError::Fatal(e.into())
        }
    }
}
