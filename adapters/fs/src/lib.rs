//! Recordings, snapshots and the service's state documents on a local filesystem.
//!
//! Only regular files (never symlinks) whose names are safe and whose extensions belong to
//! the collection are listed, served or deleted, so nothing outside the two directories
//! can be reached through them.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use domain::files::FileKind;
use domain::{SafeFileName, Timestamp};
use ports::files::{FileFacts, FileStore, NewFile, Space, StateStore, StoreError};

/// Variants of a wanted name tried before giving up (`name`, `name-2`, ..., `name-1000`).
const MAX_NAME_TRIES: u32 = 1000;

/// The extensions each collection holds.
pub fn extensions(kind: FileKind) -> &'static [&'static str] {
    match kind {
        FileKind::Recording => &["mp4", "mkv"],
        FileKind::Snapshot => &["jpg", "jpeg", "png"],
    }
}

fn belongs(kind: FileKind, name: &SafeFileName) -> bool {
    name.extension()
        .is_some_and(|e| extensions(kind).contains(&e.as_str()))
}

fn io_error(what: &str, path: &Path, e: io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

fn timestamp(t: io::Result<SystemTime>) -> Option<Timestamp> {
    let t = t.ok()?;
    let millis = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_millis()).ok()?,
    };
    Some(Timestamp::from_unix_millis(millis))
}

fn facts(kind: FileKind, name: SafeFileName, meta: &Metadata) -> FileFacts {
    let modified = timestamp(meta.modified()).unwrap_or(Timestamp::UNIX_EPOCH);
    FileFacts {
        kind,
        name,
        size: meta.len(),
        created: timestamp(meta.created()).unwrap_or(modified),
        modified,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(format!("file task failed: {e}")))?
}

/// Bytes free to an unprivileged user on the file system holding `dir` (for `doctor`).
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let v = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
    Ok((v.blocks_available() as u64).saturating_mul(v.fragment_size() as u64))
}

/// The two collections, each in its own directory.
#[derive(Debug, Clone)]
pub struct FsFileStore {
    recordings: PathBuf,
    snapshots: PathBuf,
}

impl FsFileStore {
    /// Creates the directories when missing.
    pub fn open(
        recordings: impl Into<PathBuf>,
        snapshots: impl Into<PathBuf>,
    ) -> io::Result<FsFileStore> {
        let store = FsFileStore {
            recordings: recordings.into(),
            snapshots: snapshots.into(),
        };
        fs::create_dir_all(&store.recordings)?;
        fs::create_dir_all(&store.snapshots)?;
        Ok(store)
    }

    pub fn dir(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Recording => &self.recordings,
            FileKind::Snapshot => &self.snapshots,
        }
    }

    /// A regular file of the collection, or NotFound.
    fn regular(kind: FileKind, path: &Path, name: &SafeFileName) -> Result<Metadata, StoreError> {
        if !belongs(kind, name) {
            return Err(StoreError::NotFound(name.clone()));
        }
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_file() => Ok(m),
            Ok(_) => Err(StoreError::NotFound(name.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(name.clone()))
            }
            Err(e) => Err(io_error("reading", path, e)),
        }
    }
}

#[async_trait]
impl FileStore for FsFileStore {
    async fn list(&self, kind: FileKind) -> Result<Vec<FileFacts>, StoreError> {
        let dir = self.dir(kind).to_path_buf();
        blocking(move || {
            let entries = fs::read_dir(&dir).map_err(|e| io_error("listing", &dir, e))?;
            let mut out = Vec::new();
            for entry in entries {
                let Ok(entry) = entry else { continue };
                let Some(name) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| SafeFileName::parse(n).ok())
                else {
                    continue;
                };
                if !belongs(kind, &name) {
                    continue;
                }
                // DirEntry::metadata does not follow symlinks.
                match entry.metadata() {
                    Ok(m) if m.file_type().is_file() => out.push(facts(kind, name, &m)),
                    _ => continue,
                }
            }
            Ok(out)
        })
        .await
    }

    async fn stat(&self, kind: FileKind, name: &SafeFileName) -> Result<FileFacts, StoreError> {
        let path = self.path_of(kind, name);
        let name = name.clone();
        blocking(move || {
            let meta = FsFileStore::regular(kind, &path, &name)?;
            Ok(facts(kind, name, &meta))
        })
        .await
    }

    async fn delete(&self, kind: FileKind, name: &SafeFileName) -> Result<(), StoreError> {
        let path = self.path_of(kind, name);
        let name = name.clone();
        blocking(move || {
            FsFileStore::regular(kind, &path, &name)?;
            match fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound(name)),
                Err(e) => Err(io_error("deleting", &path, e)),
            }
        })
        .await
    }

    async fn space(&self, kind: FileKind) -> Result<Space, StoreError> {
        let dir = self.dir(kind).to_path_buf();
        blocking(move || {
            let v = nix::sys::statvfs::statvfs(&dir)
                .map_err(|e| io_error("measuring", &dir, e.into()))?;
            let unit = v.fragment_size() as u64;
            let total = (v.blocks() as u64).saturating_mul(unit);
            let free = (v.blocks_free() as u64).saturating_mul(unit);
            Ok(Space {
                total_bytes: total,
                available_bytes: (v.blocks_available() as u64).saturating_mul(unit),
                used_bytes: total.saturating_sub(free),
            })
        })
        .await
    }

    async fn create_new(
        &self,
        kind: FileKind,
        wanted: &SafeFileName,
    ) -> Result<NewFile, StoreError> {
        let dir = self.dir(kind).to_path_buf();
        let wanted = wanted.clone();
        blocking(move || {
            for n in 1..=MAX_NAME_TRIES {
                let name = if n == 1 {
                    Some(wanted.clone())
                } else {
                    wanted.with_counter(n)
                };
                let Some(name) = name else { break };
                let path = dir.join(name.as_str());
                // O_CREAT|O_EXCL: of two creators of one name, exactly one wins.
                match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o644)
                    .open(&path)
                {
                    Ok(_) => return Ok(NewFile { name, path }),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(io_error("creating", &path, e)),
                }
            }
            Err(StoreError::NamesExhausted(wanted))
        })
        .await
    }

    fn path_of(&self, kind: FileKind, name: &SafeFileName) -> PathBuf {
        self.dir(kind).join(name.as_str())
    }

    async fn copy(
        &self,
        kind: FileKind,
        from: &SafeFileName,
        to: &SafeFileName,
    ) -> Result<u64, StoreError> {
        let source = self.path_of(kind, from);
        let target = self.path_of(kind, to);
        let from = from.clone();
        let to = to.clone();
        blocking(move || {
            FsFileStore::regular(kind, &source, &from)?;
            // The target was reserved by create_new: a regular file, never a symlink.
            FsFileStore::regular(kind, &target, &to)?;
            fs::copy(&source, &target).map_err(|e| io_error("copying", &source, e))
        })
        .await
    }
}

/// State documents as files in one directory, replaced atomically (write, fsync, rename).
#[derive(Debug, Clone)]
pub struct FsStateStore {
    dir: PathBuf,
}

impl FsStateStore {
    /// Creates the directory when missing.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<FsStateStore> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(FsStateStore { dir })
    }
}

#[async_trait]
impl StateStore for FsStateStore {
    async fn load(&self, key: &SafeFileName) -> Result<Option<String>, StoreError> {
        let path = self.dir.join(key.as_str());
        blocking(move || match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path, e)),
        })
        .await
    }

    async fn save(&self, key: &SafeFileName, text: &str) -> Result<(), StoreError> {
        let dir = self.dir.clone();
        let path = dir.join(key.as_str());
        // A dot name is never a SafeFileName, so it cannot clash with a document.
        static SAVES: AtomicU64 = AtomicU64::new(0);
        let n = SAVES.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{key}.tmp-{}-{n}", std::process::id()));
        let text = text.to_owned();
        blocking(move || {
            let write = || -> io::Result<()> {
                let mut f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)?;
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                fs::rename(&tmp, &path)?;
                File::open(&dir)?.sync_all()
            };
            write().map_err(|e| {
                let _ = fs::remove_file(&tmp);
                io_error("saving", &path, e)
            })
        })
        .await
    }
}
