//! Recordings and snapshots as files: listing, facts, deletion, downloads, storage and
//! retention (policy persisted in the state directory, applied on a schedule).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use domain::api::{ListParams, Positive, RetentionUpdate};
use domain::contract::results::{
    Cleanup, Deleted, FileInfo, FileList, RecordingInfo, RetentionSet, SnapshotInfo, StorageInfo,
    VideoFacts,
};
use domain::files::{content_type_of, FileKind};
use domain::retention::{RetentionPolicy, StoredFile};
use domain::{ApiError, ErrorKind, SafeFileName, Timestamp};
use ports::api::Download;
use ports::capture::{CaptureError, MediaInfo, MediaInspector};
use ports::clock::Clock;
use ports::files::{FileFacts, FileStore, StateStore, StoreError};
use slog::{info, warn, Logger};

use crate::health::{self, ComponentStatus, Health};
use crate::media::{store_error, Media};

/// Where the retention policy is kept in the state directory.
const POLICY_KEY: &str = "retention-policy.json";
/// Facts of this many files are remembered; past that the memory starts afresh.
const INFO_CACHE_MAX: usize = 4096;
/// How often storage health is checked (retention runs on its own interval).
const STORAGE_CHECK: Duration = Duration::from_secs(30);

/// What the file use cases are built from.
pub struct FilesParts {
    pub store: Arc<dyn FileStore>,
    pub inspector: Arc<dyn MediaInspector>,
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    pub media: Arc<Media>,
    pub health: Arc<Health>,
    /// The policy from the configuration, used until one is set and persisted.
    pub configured: RetentionPolicy,
    pub log: Logger,
}

/// What ffprobe said about a file of a given size and modification time.
struct Cached {
    size: u64,
    modified: Timestamp,
    info: MediaInfo,
}

pub struct Files {
    parts: FilesParts,
    policy: RwLock<RetentionPolicy>,
    cache: Mutex<HashMap<(FileKind, SafeFileName), Cached>>,
}

/// The retention policy the configuration describes.
pub fn configured_policy(c: &config::RetentionConfig) -> RetentionPolicy {
    RetentionPolicy::new(
        c.enabled,
        c.max_age_days.and_then(Positive::new),
        c.max_size_gb.and_then(Positive::new),
    )
}

fn policy_key() -> SafeFileName {
    SafeFileName::parse(POLICY_KEY).expect("POLICY_KEY is a constant safe file name")
}

impl Files {
    /// Loads the persisted retention policy (or takes the configured one).
    pub async fn open(parts: FilesParts) -> Files {
        let policy = match parts.state.load(&policy_key()).await {
            Ok(Some(text)) => match serde_json::from_str::<RetentionPolicy>(&text) {
                Ok(p) => p,
                Err(e) => {
                    warn!(parts.log, "ignoring an unreadable retention policy file"; "error" => e.to_string());
                    parts.configured
                }
            },
            Ok(None) => parts.configured,
            Err(e) => {
                warn!(parts.log, "cannot read the retention policy file"; "error" => e.to_string());
                parts.configured
            }
        };
        Files {
            parts,
            policy: RwLock::new(policy),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> RetentionPolicy {
        *self.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<(FileKind, SafeFileName), Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// FileInfo of the contract.
    fn file_info(&self, f: &FileFacts) -> FileInfo {
        FileInfo {
            filename: f.name.clone(),
            device: f.name.camera(),
            file_size: f.size,
            created_time: f.created,
            modified_time: f.modified,
            format: f.format(),
            download_url: f.kind.download_url(&f.name),
            in_progress: (f.kind == FileKind::Recording)
                .then(|| self.parts.media.is_being_written(&f.name)),
        }
    }

    /// `list_recordings` / `list_snapshots`: newest first, optionally one camera's.
    pub async fn list(&self, kind: FileKind, p: ListParams) -> Result<FileList, ApiError> {
        let mut files = self.parts.store.list(kind).await.map_err(store_error)?;
        if let Some(device) = p.device {
            files.retain(|f| f.name.camera() == Some(device));
        }
        files.sort_by(|a, b| {
            b.modified
                .cmp(&a.modified)
                .then_with(|| b.name.cmp(&a.name))
        });
        let total = files.len();
        let page: Vec<FileInfo> = files
            .iter()
            .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
            .take(p.limit.get() as usize)
            .map(|f| self.file_info(f))
            .collect();
        Ok(FileList {
            files: page,
            total,
            limit: p.limit.get(),
            offset: p.offset,
        })
    }

    /// What ffprobe says, remembered by (name, size, modification time).
    async fn media_info(&self, f: &FileFacts) -> Result<Option<MediaInfo>, ApiError> {
        let key = (f.kind, f.name.clone());
        if let Some(c) = self.cache().get(&key) {
            if c.size == f.size && c.modified == f.modified {
                return Ok(Some(c.info.clone()));
            }
        }
        let path = self.parts.store.path_of(f.kind, &f.name);
        match self.parts.inspector.inspect(&path).await {
            Ok(info) => {
                let mut cache = self.cache();
                if cache.len() >= INFO_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(
                    key,
                    Cached {
                        size: f.size,
                        modified: f.modified,
                        info: info.clone(),
                    },
                );
                Ok(Some(info))
            }
            // The file is there but not readable as media (cut before its first frame...).
            Err(CaptureError::Failed { .. }) => Ok(None),
            Err(e) => Err(ApiError::new(
                ErrorKind::DependencyUnavailable,
                "dependency_unavailable",
                e.to_string(),
            )
            .with("dependency", "ffprobe")),
        }
    }

    /// `get_recording_info`: FileInfo + duration and video facts.
    pub async fn recording_info(&self, name: &SafeFileName) -> Result<RecordingInfo, ApiError> {
        let f = self.stat(FileKind::Recording, name).await?;
        let info = self.media_info(&f).await?;
        Ok(RecordingInfo {
            file: self.file_info(&f),
            duration: info.as_ref().and_then(|i| i.duration),
            video: info
                .as_ref()
                .and_then(|i| i.video.as_ref())
                .map(|video| VideoFacts {
                    codec: video.codec.clone(),
                    width: video.width,
                    height: video.height,
                    fps: video.fps,
                }),
        })
    }

    /// `get_snapshot_info`: FileInfo + width and height.
    pub async fn snapshot_info(&self, name: &SafeFileName) -> Result<SnapshotInfo, ApiError> {
        let f = self.stat(FileKind::Snapshot, name).await?;
        let info = self.media_info(&f).await?;
        let video = info.as_ref().and_then(|i| i.video.as_ref());
        Ok(SnapshotInfo {
            file: self.file_info(&f),
            width: video.map(|v| v.width),
            height: video.map(|v| v.height),
        })
    }

    async fn stat(&self, kind: FileKind, name: &SafeFileName) -> Result<FileFacts, ApiError> {
        self.parts.store.stat(kind, name).await.map_err(store_error)
    }

    /// `delete_recording` / `delete_snapshot`; a recording being written is refused.
    pub async fn delete(&self, kind: FileKind, name: &SafeFileName) -> Result<Deleted, ApiError> {
        if kind == FileKind::Recording && self.parts.media.is_being_written(name) {
            return Err(ApiError::new(
                ErrorKind::RecordingInProgress,
                "recording_in_progress",
                format!("{name} is being recorded; stop the recording first"),
            )
            .with("filename", name.as_str()));
        }
        self.parts
            .store
            .delete(kind, name)
            .await
            .map_err(store_error)?;
        self.cache().remove(&(kind, name.clone()));
        Ok(Deleted {
            filename: name.clone(),
            deleted: true,
        })
    }

    /// `GET /files/{kind}/{name}`.
    pub async fn download(
        &self,
        kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError> {
        let f = self.stat(kind, name).await?;
        Ok(Download {
            path: self.parts.store.path_of(kind, name),
            size: f.size,
            modified: f.modified,
            content_type: content_type_of(name),
        })
    }

    /// `get_storage_info`: the recordings' filesystem and what the collections hold.
    pub async fn storage_info(&self) -> Result<StorageInfo, ApiError> {
        let space = self
            .parts
            .store
            .space(FileKind::Recording)
            .await
            .map_err(store_error)?;
        let recordings = self
            .parts
            .store
            .list(FileKind::Recording)
            .await
            .map_err(store_error)?;
        let snapshots = self
            .parts
            .store
            .list(FileKind::Snapshot)
            .await
            .map_err(store_error)?;
        let floor = self.parts.media.min_free_bytes();
        let usage = if space.total_bytes == 0 {
            0.0
        } else {
            (space.used_bytes as f64 * 10_000.0 / space.total_bytes as f64).round() / 100.0
        };
        Ok(StorageInfo {
            total_bytes: space.total_bytes,
            used_bytes: space.used_bytes,
            available_bytes: space.available_bytes,
            usage_percent: usage,
            recordings_bytes: recordings.iter().map(|f| f.size).sum::<u64>(),
            snapshots_bytes: snapshots.iter().map(|f| f.size).sum::<u64>(),
            recordings_count: recordings.len(),
            snapshots_count: snapshots.len(),
            low_space_warning: low_space(space.available_bytes, usage, floor),
            min_free_bytes: floor,
            retention: self.policy(),
        })
    }

    /// `set_retention_policy`: changes the named fields and persists the policy.
    pub async fn set_retention(&self, update: RetentionUpdate) -> Result<RetentionSet, ApiError> {
        let policy = self.policy().updated(&update);
        let text = serde_json::to_string(&policy).map_err(|e| ApiError::internal(e.to_string()))?;
        self.parts
            .state
            .save(&policy_key(), &text)
            .await
            .map_err(|e| ApiError::internal(format!("cannot persist the retention policy: {e}")))?;
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        info!(self.parts.log, "retention policy set"; "enabled" => policy.enabled(),
            "max_age_days" => policy.max_age_days(), "max_size_gb" => policy.max_size_gb());
        Ok(RetentionSet { policy })
    }

    /// A new policy from the configuration (reload): it replaces the one in effect, and is
    /// persisted as `set_retention_policy` would.
    pub async fn reconfigure(&self, policy: RetentionPolicy) -> Result<(), String> {
        let text = serde_json::to_string(&policy).map_err(|e| e.to_string())?;
        self.parts
            .state
            .save(&policy_key(), &text)
            .await
            .map_err(|e| format!("cannot persist the retention policy: {e}"))?;
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        info!(self.parts.log, "retention policy reconfigured"; "enabled" => policy.enabled(),
            "max_age_days" => policy.max_age_days(), "max_size_gb" => policy.max_size_gb());
        Ok(())
    }

    /// `cleanup_old_files`: applies the policy's limits now (whether or not the automatic
    /// schedule is enabled). With `dry_run` nothing is deleted.
    pub async fn cleanup(&self, dry_run: bool) -> Result<Cleanup, ApiError> {
        let policy = self.policy();
        let now = self.parts.clock.now();
        let writing: HashSet<SafeFileName> =
            self.parts.media.files_being_written().into_iter().collect();
        let mut files = Vec::new();
        for kind in [FileKind::Recording, FileKind::Snapshot] {
            for f in self.parts.store.list(kind).await.map_err(store_error)? {
                files.push(StoredFile {
                    in_use: kind == FileKind::Recording && writing.contains(&f.name),
                    kind,
                    name: f.name,
                    size: f.size,
                    modified: f.modified,
                });
            }
        }
        let chosen = policy.select(&files, now);
        let (mut recordings, mut snapshots, mut bytes) = (0u64, 0u64, 0u64);
        let mut names = Vec::new();
        for f in chosen {
            if !dry_run {
                // Checked again: a recording may have begun writing it since the listing.
                if f.kind == FileKind::Recording && self.parts.media.is_being_written(&f.name) {
                    continue;
                }
                match self.parts.store.delete(f.kind, &f.name).await {
                    Ok(()) => {
                        self.cache().remove(&(f.kind, f.name.clone()));
                    }
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => {
                        warn!(self.parts.log, "retention could not delete a file"; "file" => f.name.as_str(), "error" => e.to_string());
                        continue;
                    }
                }
            }
            match f.kind {
                FileKind::Recording => recordings += 1,
                FileKind::Snapshot => snapshots += 1,
            }
            bytes += f.size;
            names.push(f.name.as_str().to_owned());
        }
        if !dry_run && !names.is_empty() {
            info!(self.parts.log, "retention deleted files"; "count" => names.len(), "bytes" => bytes);
        }
        Ok(Cleanup {
            dry_run,
            files_deleted: recordings + snapshots,
            recordings_deleted: recordings,
            snapshots_deleted: snapshots,
            bytes_freed: bytes,
            files: names,
        })
    }

    /// The storage component of health: DEGRADED when space is low, UNHEALTHY below the
    /// floor (captures are refused).
    pub async fn check_storage(&self) {
        let floor = self.parts.media.min_free_bytes();
        match self.parts.store.space(FileKind::Recording).await {
            Ok(s) => {
                let usage = if s.total_bytes == 0 {
                    0.0
                } else {
                    s.used_bytes as f64 * 100.0 / s.total_bytes as f64
                };
                let details = format!(
                    "{} bytes free of {} ({usage:.1} % used)",
                    s.available_bytes, s.total_bytes
                );
                let status = if s.available_bytes < floor {
                    ComponentStatus::Unhealthy
                } else if low_space(s.available_bytes, usage, floor) {
                    ComponentStatus::Degraded
                } else {
                    ComponentStatus::Healthy
                };
                self.parts.health.set(health::STORAGE, status, details);
            }
            Err(e) => {
                self.parts
                    .health
                    .set(health::STORAGE, ComponentStatus::Unhealthy, e.to_string())
            }
        }
    }

    /// Checks storage health regularly and applies the retention policy every `every`
    /// while it is enabled. Runs until the task is dropped.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut storage = tokio::time::interval(STORAGE_CHECK);
        let mut retention = tokio::time::interval(every);
        retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = storage.tick() => self.check_storage().await,
                _ = retention.tick() => {
                    if self.policy().enabled() {
                        if let Err(e) = self.cleanup(false).await {
                            warn!(self.parts.log, "automatic retention failed"; "error" => e.to_string());
                        }
                    }
                }
            }
        }
    }
}

/// Space is low when less than twice the floor is free or 90 % is used.
fn low_space(available: u64, usage_percent: f64, floor: u64) -> bool {
    available < floor.saturating_mul(2) || usage_percent >= 90.0
}

#[cfg(test)]
mod tests;
