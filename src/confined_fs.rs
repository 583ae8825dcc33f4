//! A local folder as the object store, confined to that folder: a symlink
//! (or a link inside a linked folder) that leads outside it is neither
//! listed nor read. `object_store`'s `LocalFileSystem` follows links, so
//! without this anyone able to drop a link into the data folder could make
//! the server read, index and serve any file the process can open.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// Opens `dir` (created when missing) as a confined object store.
pub fn open(dir: &FsPath) -> Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let root = std::fs::canonicalize(dir).with_context(|| format!("opening {}", dir.display()))?;
    let inner = LocalFileSystem::new_with_prefix(&root)
        .with_context(|| format!("opening {}", dir.display()))?;
    Ok(Arc::new(ConfinedFs {
        confinement: Arc::new(Confinement {
            inner: LocalFileSystem::new_with_prefix(&root)?,
            root,
            warned: Mutex::default(),
        }),
        inner,
    }))
}

#[derive(Debug)]
struct ConfinedFs {
    inner: LocalFileSystem,
    confinement: Arc<Confinement>,
}

/// The check, shareable with list streams that outlive `&self`.
#[derive(Debug)]
struct Confinement {
    /// Maps object paths to file paths exactly as the store does.
    inner: LocalFileSystem,
    /// Canonical (links resolved) path of the folder.
    root: PathBuf,
    /// Objects already reported as leading outside, so polling scans do
    /// not repeat the warning every few seconds.
    warned: Mutex<HashSet<String>>,
}

impl std::fmt::Display for ConfinedFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfinedFs({})", self.confinement.root.display())
    }
}

impl Confinement {
    /// Whether `location`, links resolved, is inside the folder. A path
    /// that does not resolve (absent, or a dangling link) is left to the
    /// store, which cannot open it either.
    fn inside(&self, location: &Path) -> bool {
        let Ok(path) = self.inner.path_to_filesystem(location) else {
            return false;
        };
        match std::fs::canonicalize(&path) {
            Ok(real) => real.starts_with(&self.root),
            Err(_) => true,
        }
    }

    fn check(&self, location: &Path) -> object_store::Result<()> {
        if self.inside(location) {
            return Ok(());
        }
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(location.to_string()) {
            tracing::warn!(object = %location, root = %self.root.display(), "ignoring a link that leads out of the data folder");
        }
        Err(object_store::Error::NotFound {
            path: location.to_string(),
            source: "a link out of the data folder: not followed".into(),
        })
    }
}

impl ConfinedFs {
    fn check(&self, location: &Path) -> object_store::Result<()> {
        self.confinement.check(location)
    }

    fn confine(
        &self,
        listed: BoxStream<'static, object_store::Result<ObjectMeta>>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let confinement = self.confinement.clone();
        listed
            .filter(move |item| {
                let keep = match item {
                    Ok(meta) => confinement.check(&meta.location).is_ok(),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }
}

#[async_trait]
impl ObjectStore for ConfinedFs {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_range(&self, location: &Path, range: Range<u64>) -> object_store::Result<Bytes> {
        self.check(location)?;
        self.inner.get_range(location, range).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(location)?;
        self.inner.get_ranges(location, ranges).await
    }

    async fn head(&self, location: &Path) -> object_store::Result<ObjectMeta> {
        self.check(location)?;
        self.inner.head(location).await
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        // Deleting a link removes the link, not its target.
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.confine(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.confine(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        listed
            .objects
            .retain(|meta| self.check(&meta.location).is_ok());
        listed
            .common_prefixes
            .retain(|p| self.confinement.inside(p));
        Ok(listed)
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.copy_if_not_exists(from, to).await
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn links_out_of_the_folder_are_neither_listed_nor_read() {
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("secret.grib2");
        std::fs::write(&secret, b"outside").expect("write");
        let data = tempfile::tempdir().expect("tempdir");
        std::fs::write(data.path().join("inside.grib2"), b"inside").expect("write");
        std::fs::create_dir(data.path().join("sub")).expect("mkdir");
        std::fs::write(data.path().join("sub/real.grib2"), b"real").expect("write");
        std::os::unix::fs::symlink(&secret, data.path().join("link.grib2")).expect("link");
        std::os::unix::fs::symlink(outside.path(), data.path().join("linked_dir")).expect("link");
        // A link that stays inside is an ordinary file.
        std::os::unix::fs::symlink(
            data.path().join("inside.grib2"),
            data.path().join("alias.grib2"),
        )
        .expect("link");
        let store = open(data.path()).expect("open");
        let mut listed: Vec<String> = store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list");
        listed.sort();
        assert_eq!(listed, ["alias.grib2", "inside.grib2", "sub/real.grib2"]);
        for key in ["link.grib2", "linked_dir/secret.grib2"] {
            let r = store.get(&Path::from(key)).await;
            assert!(
                matches!(r, Err(object_store::Error::NotFound { .. })),
                "{key}"
            );
            let r = store.get_range(&Path::from(key), 0..3).await;
            assert!(r.is_err(), "{key}");
        }
        let alias = store.get(&Path::from("alias.grib2")).await.expect("alias");
        assert_eq!(&alias.bytes().await.expect("bytes")[..], b"inside");
    }
}
