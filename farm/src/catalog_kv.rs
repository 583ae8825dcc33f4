//! The catalog in a NATS KV bucket: one key per layer (`layer.<name>`,
//! MessagePack [`LayerEntry`]). The scheduler writes; gateways watch and
//! keep a [`SharedCatalog`] current, so capabilities reflect a new run as
//! soon as the scheduler has indexed it.

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use protocol::catalog::{Catalog, LayerEntry, SharedCatalog};

use crate::FarmError;
use crate::subjects::CATALOG_BUCKET;

const KEY_PREFIX: &str = "layer.";

/// Opens the catalog bucket, creating it when absent.
///
/// A KV bucket is a stream named `KV_<bucket>` over `$KV.<bucket>.>`.
/// We create that stream through the plain stream API: async-nats' own
/// `create_key_value` sends settings that nats-server 2.9 (Debian's) answers
/// in a form the client cannot parse, while stream creation works on both.
pub async fn open(js: &jetstream::Context) -> Result<kv::Store, FarmError> {
    if let Ok(store) = js.get_key_value(CATALOG_BUCKET).await {
        return Ok(store);
    }
    js.get_or_create_stream(jetstream::stream::Config {
        name: format!("KV_{CATALOG_BUCKET}"),
        description: Some("wxfarm catalog: one MessagePack LayerEntry per layer".into()),
        subjects: vec![format!("$KV.{CATALOG_BUCKET}.>")],
        // One value per key, as a KV with history 1.
        max_messages_per_subject: 1,
        discard: jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        ..Default::default()
    })
    .await
    .map_err(|e| FarmError::nats("create catalog bucket", e))?;
    js.get_key_value(CATALOG_BUCKET)
        .await
        .map_err(|e| FarmError::nats("open catalog bucket", e))
}

/// Writes the named layers of `catalog` (all when `names` is `None`).
pub async fn publish(
    store: &kv::Store,
    catalog: &Catalog,
    names: Option<&[String]>,
) -> Result<usize, FarmError> {
    let mut written = 0;
    for (name, entry) in &catalog.layers {
        if names.is_some_and(|n| !n.contains(name)) {
            continue;
        }
        let bytes = protocol::codec::encode(entry).map_err(FarmError::Codec)?;
        store
            .put(format!("{KEY_PREFIX}{name}"), bytes.into())
            .await
            .map_err(|e| FarmError::nats("put catalog layer", e))?;
        written += 1;
    }
    Ok(written)
}

/// Reads the whole catalog once.
pub async fn load(store: &kv::Store) -> Result<Catalog, FarmError> {
    let mut catalog = Catalog::default();
    let mut keys = store
        .keys()
        .await
        .map_err(|e| FarmError::nats("list catalog", e))?;
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| FarmError::nats("list catalog", e))?;
        if let Some(bytes) = store
            .get(&key)
            .await
            .map_err(|e| FarmError::nats("get catalog layer", e))?
        {
            apply(&mut catalog, &key, Some(&bytes));
        }
    }
    Ok(catalog)
}

/// Keeps `shared` equal to the bucket until the watch ends (the caller
/// restarts it; the NATS client reconnects underneath).
pub async fn watch(store: &kv::Store, shared: &SharedCatalog) -> Result<(), FarmError> {
    let mut updates = store
        .watch_with_history(format!("{KEY_PREFIX}>"))
        .await
        .map_err(|e| FarmError::nats("watch catalog", e))?;
    while let Some(entry) = updates.next().await {
        let entry = entry.map_err(|e| FarmError::nats("watch catalog", e))?;
        let value = matches!(entry.operation, kv::Operation::Put).then_some(&entry.value[..]);
        shared.update(|c| apply(c, &entry.key, value));
    }
    Ok(())
}

fn apply(catalog: &mut Catalog, key: &str, value: Option<&[u8]>) {
    let Some(name) = key.strip_prefix(KEY_PREFIX) else {
        return;
    };
    match value.map(protocol::codec::decode::<LayerEntry>) {
        Some(Ok(entry)) => {
            catalog.layers.insert(name.to_owned(), entry);
        }
        Some(Err(e)) => {
            tracing::warn!(layer = name, error = %e, "undecodable catalog entry ignored")
        }
        None => {
            catalog.layers.remove(name);
        }
    }
}
