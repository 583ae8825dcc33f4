//! Choosing the object store: a local folder, or an S3-compatible bucket.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use object_store::aws::AmazonS3Builder;
use object_store::{ClientOptions, ObjectStore};

/// Where GRIB files live. Credentials for S3 come from the usual
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment variables.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// A local folder as the object store.
    #[arg(long, env = "WXFARM_DATA", conflicts_with = "s3_bucket")]
    pub data: Option<PathBuf>,
    /// S3 bucket holding the GRIB files.
    #[arg(long, env = "WXFARM_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3-compatible endpoint (MinIO, moto, Ceph…); AWS when unset.
    #[arg(long, env = "WXFARM_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region of the S3 bucket.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Longest one S3 request may take, seconds, before it is retried. A
    /// stalled read holds every tile of its field (they share one decode),
    /// so a latency-sensitive deployment sets this low (AWS suggests a few
    /// seconds with retries); large objects over slow links need more.
    #[arg(long, env = "WXFARM_S3_TIMEOUT_SECS", default_value_t = 30)]
    pub s3_timeout_secs: u64,
}

impl StoreArgs {
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>> {
        match (&self.data, &self.s3_bucket) {
            (Some(dir), None) => crate::confined_fs::open(dir),
            (None, Some(bucket)) => {
                let timeout = std::time::Duration::from_secs(self.s3_timeout_secs.max(1));
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(&self.s3_region)
                    .with_client_options(ClientOptions::new().with_timeout(timeout));
                if let Some(endpoint) = &self.s3_endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                Ok(Arc::new(
                    b.build().with_context(|| format!("S3 bucket {bucket}"))?,
                ))
            }
            _ => bail!("give the object store: --data DIR or --s3-bucket NAME"),
        }
    }

    /// A printable description, for logs.
    pub fn describe(&self) -> String {
        match (&self.data, &self.s3_bucket) {
            (Some(d), _) => d.display().to_string(),
            (_, Some(b)) => format!(
                "s3://{b} at {}",
                self.s3_endpoint.as_deref().unwrap_or("AWS")
            ),
            _ => "(none)".into(),
        }
    }
}
