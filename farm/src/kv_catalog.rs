//! The catalog in a NATS KV bucket: one key per layer, holding the
//! MessagePack [`LayerEntry`]. Ingest writes a layer; every gateway and
//! worker watches the bucket and keeps its [`SharedCatalog`] current.
//!
//! One key per layer (not per field) keeps a watcher's update atomic per
//! layer and the key count small; a layer's entry grows with its fields,
//! which retention keeps to a few runs.

use async_nats::jetstream::{self, kv, stream};
use futures::StreamExt;
use protocol::catalog::{Catalog, LayerEntry, SharedCatalog};
use protocol::codec;

use crate::{FarmConfig, FarmError, subjects};

/// The catalog bucket.
#[derive(Clone)]
pub struct KvCatalog {
    store: kv::Store,
}

impl KvCatalog {
    /// Opens the bucket, creating it on first use.
    pub async fn open(js: &jetstream::Context, config: &FarmConfig) -> Result<Self, FarmError> {
        // The bucket's stream is made here rather than by the client's
        // create_key_value, whose request nats-server 2.9 answers in a form
        // the client cannot parse. Same layout as the client makes.
        let bucket = subjects::CATALOG_BUCKET;
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            description: Some("wxfarm catalog: one MessagePack LayerEntry per layer".into()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            discard: stream::DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: config.replicas.max(1),
            ..Default::default()
        })
        .await
        .map_err(|e| FarmError::nats("create catalog bucket", e))?;
        let store = js
            .get_key_value(bucket)
            .await
            .map_err(|e| FarmError::nats("open catalog bucket", e))?;
        Ok(Self { store })
    }

    /// Stores (replaces) one layer; returns the bucket revision.
    pub async fn put_layer(&self, layer: &LayerEntry) -> Result<u64, FarmError> {
        let bytes = codec::encode(layer)?;
        self.store
            .put(&layer.info.name, bytes.into())
            .await
            .map_err(|e| FarmError::nats("put layer", e))
    }

    /// Removes one layer.
    pub async fn delete_layer(&self, name: &str) -> Result<(), FarmError> {
        self.store
            .delete(name)
            .await
            .map_err(|e| FarmError::nats("delete layer", e))
    }

    /// The whole catalog as stored now.
    pub async fn load(&self) -> Result<Catalog, FarmError> {
        let mut keys = self
            .store
            .keys()
            .await
            .map_err(|e| FarmError::nats("list layers", e))?;
        let mut catalog = Catalog::default();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| FarmError::nats("list layers", e))?;
            if let Some(bytes) = self
                .store
                .get(&key)
                .await
                .map_err(|e| FarmError::nats("get layer", e))?
            {
                let entry: LayerEntry = codec::decode(&bytes)?;
                catalog.layers.insert(key, entry);
            }
        }
        Ok(catalog)
    }

    /// Applies the stored layers and then every change to `shared`, until
    /// the returned task is aborted. Undecodable entries are logged and
    /// skipped (a newer writer's format must not take readers down).
    pub async fn watch(
        &self,
        shared: SharedCatalog,
    ) -> Result<tokio::task::JoinHandle<()>, FarmError> {
        let mut watch = self
            .store
            .watch_with_history(">")
            .await
            .map_err(|e| FarmError::nats("watch catalog", e))?;
        Ok(tokio::spawn(async move {
            while let Some(entry) = watch.next().await {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(error = %e, "catalog watch error");
                        continue;
                    }
                };
                match entry.operation {
                    kv::Operation::Put => match codec::decode::<LayerEntry>(&entry.value) {
                        Ok(layer) => shared.update(|c| {
                            c.layers.insert(entry.key.clone(), layer);
                        }),
                        Err(e) => {
                            tracing::warn!(layer = %entry.key, error = %e, "undecodable layer")
                        }
                    },
                    kv::Operation::Delete | kv::Operation::Purge => shared.update(|c| {
                        c.layers.remove(&entry.key);
                    }),
                }
            }
            tracing::warn!("catalog watch ended");
        }))
    }
}
