//! Where recordings and snapshots live, and the service's own small state.

use std::path::PathBuf;

use async_trait::async_trait;
use domain::files::FileKind;
use domain::{SafeFileName, Timestamp};
use thiserror::Error;

/// What the store knows about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub kind: FileKind,
    pub name: SafeFileName,
    pub size: u64,
    /// Birth time where the filesystem records it, else the modification time.
    pub created: Timestamp,
    pub modified: Timestamp,
}

impl FileFacts {
    /// The format by extension (`"mp4"`, `"jpg"`).
    pub fn format(&self) -> String {
        self.name.extension().unwrap_or_default()
    }
}

/// Space on the filesystem that holds a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub total_bytes: u64,
    /// Free to this (unprivileged) process.
    pub available_bytes: u64,
    /// In use by anyone.
    pub used_bytes: u64,
}

/// A name reserved for a new file: the file exists, empty, and nobody else will get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub name: SafeFileName,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("no such file: {0}")]
    NotFound(SafeFileName),
    /// Every variant of the wanted name is taken.
    #[error("no free name like {0}")]
    NamesExhausted(SafeFileName),
    #[error("storage error: {0}")]
    Io(String),
}

/// The two file collections (recordings, snapshots). Names are flat and already safe;
/// only regular files with the collection's extensions are listed or served.
#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    async fn list(&self, kind: FileKind) -> Result<Vec<FileFacts>, StoreError>;

    async fn stat(&self, kind: FileKind, name: &SafeFileName) -> Result<FileFacts, StoreError>;

    async fn delete(&self, kind: FileKind, name: &SafeFileName) -> Result<(), StoreError>;

    async fn space(&self, kind: FileKind) -> Result<Space, StoreError>;

    /// Creates `wanted`, or `wanted-2`, `wanted-3`, ... when taken; never overwrites.
    async fn create_new(
        &self,
        kind: FileKind,
        wanted: &SafeFileName,
    ) -> Result<NewFile, StoreError>;

    /// Where a file of the collection is (for the capture tool and downloads).
    fn path_of(&self, kind: FileKind, name: &SafeFileName) -> PathBuf;

    /// Copies the regular file `from` over `to` (a name reserved by `create_new`), both in
    /// `kind`'s collection; returns the bytes copied.
    async fn copy(
        &self,
        kind: FileKind,
        from: &SafeFileName,
        to: &SafeFileName,
    ) -> Result<u64, StoreError>;
}

/// Small documents the service keeps across restarts (the retention policy, ...).
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// The document saved under `key`, if any.
    async fn load(&self, key: &SafeFileName) -> Result<Option<String>, StoreError>;

    /// Replaces the document atomically (a crash leaves the old or the new one).
    async fn save(&self, key: &SafeFileName, text: &str) -> Result<(), StoreError>;
}
