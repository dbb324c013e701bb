//! Snapshots and recordings.
//!
//! One recording per camera, tracked by a `RecordingSession`. While MediaMTX serves, a
//! recording copies the camera's stream (one more reader of its path, held open for it by
//! the streams use case), so viewers and the recording share the camera; otherwise it
//! records straight from the camera. A watcher per recording notices when it ends by
//! itself (planned duration), fails (the stream or the device went away), must stop
//! because free space fell below the floor, or because its camera disappeared (the
//! registry tells `Media` as a `CameraObserver`): the file is finished and the failure
//! reported as `recording.error` — except a recording from the stream in media mode `auto`,
//! which goes on from the device in a new file of the same recording when its stream ends
//! (`recording.source_changed`). Snapshots while a recording holds the device come from
//! the recording's own frames; while it reads the stream, from the stream.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use domain::api::{RecordingDuration, RecordingParams, SnapshotParams};
use domain::contract::notifications::{
    RecordingErrorEvent, RecordingSourceChangedEvent, RecordingStartEvent, RecordingStopEvent,
    SnapshotTakenEvent, StopReason,
};
use domain::contract::results::{
    Failed, Recording, RecordingPhase, RecordingStarted, RecordingStatus, RecordingStopped,
    SnapshotTaken, Stopped, Success,
};
use domain::events::{Event, Topic};
use domain::files::{recording_name, snapshot_name, FileKind, SnapshotFormat};
use domain::media::{CaptureMode, SnapshotTier, VideoEncoding};
use domain::recording::{
    FailedRecording, FinishedRecording, RecordingOrigin, RecordingPlan, RecordingSession,
    RecordingState,
};
use domain::{ApiError, CameraId, ErrorKind, SafeFileName};
use ports::capture::{
    Capture, CaptureError, MediaInspector, Recorder, RecordingEnd, RecordingRequest,
    RecordingSource, Still, StillRequest,
};
use ports::clock::Clock;
use ports::events::EventPublisher;
use ports::files::{FileStore, StoreError};
use slog::{info, warn, Logger};
use tokio::sync::oneshot;

use crate::cameras::{CameraEntry, CameraObserver, CameraRegistry};
use crate::metrics::Metrics;

mod recording;
mod snapshot;
#[cfg(test)]
mod tests;

/// A planned recording that has not ended this long after its duration is stopped.
const PLANNED_GRACE: Duration = Duration::from_secs(5);
/// How often a running recording checks the free space.
const SPACE_CHECK: Duration = Duration::from_secs(5);

/// What the media use cases are built from.
pub struct MediaParts {
    pub capture: Arc<dyn Capture>,
    pub inspector: Arc<dyn MediaInspector>,
    pub store: Arc<dyn FileStore>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
    pub cameras: Arc<CameraRegistry>,
    pub metrics: Metrics,
    pub encoding: VideoEncoding,
    /// Captures are refused below this many free bytes.
    pub min_free_bytes: u64,
    /// Recordings are split into files of this many seconds.
    pub segment_secs: Option<u64>,
    /// Snapshots (tiers 1 and 2) and recordings from MediaMTX's stream while it serves;
    /// `None` in media mode `direct`.
    pub streams: Option<Arc<crate::streams::Streams>>,
    pub log: Logger,
    /// Snapshot capture processes running at once, all cameras together.
    pub max_captures: usize,
    /// Longest a snapshot waits for a capture slot before it is refused.
    pub capture_wait: Duration,
}

/// How a recording ended, kept for the `stop_recording` that asked for it.
#[derive(Debug, Clone)]
enum Outcome {
    Finished(FinishedRecording),
    Failed(FailedRecording),
}

/// One camera's recording: the session, the running recorder, the last outcome.
#[derive(Default)]
struct Slot {
    session: RecordingSession,
    recorder: Option<Arc<dyn Recorder>>,
    /// Counts the recordings of this camera, so late reports of an old one are ignored.
    generation: u64,
    last: Option<(u64, Outcome)>,
    /// Tells the recording's watcher that the camera went away (and why).
    lost: Option<oneshot::Sender<String>>,
    /// The files of the recorders this recording had before `recorder` (it went on from
    /// the device when its stream ended), first to last.
    earlier: Vec<PathBuf>,
    /// The recording's base name (the file, or the name its segments are named after).
    base: Option<SafeFileName>,
    /// Held while the recording changes recorder, so a stop waits for the new one.
    switch: Arc<tokio::sync::Mutex<()>>,
    /// Held while a recording's end is settled and announced: a second report of the same
    /// end (the watcher's and a stop's) waits until the first has published its event, so
    /// a stop — and the service's shutdown — returns only after the event is out.
    ending: Arc<tokio::sync::Mutex<()>>,
}

impl Slot {
    /// Every file of the recording so far, first to last.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = self.earlier.clone();
        if let Some(r) = &self.recorder {
            files.extend(r.files());
        }
        files
    }
}

pub struct Media {
    parts: MediaParts,
    slots: Mutex<HashMap<CameraId, Slot>>,
    snapshots: snapshot::Snapshots,
}

/// -32060 with the figures.
pub fn insufficient_storage(available: u64, floor: u64) -> ApiError {
    ApiError::new(
        ErrorKind::InsufficientStorage,
        "insufficient_storage",
        format!(
            "{available} bytes free, below the floor of {floor} bytes (storage.min_free_bytes)"
        ),
    )
    .with("available_bytes", available)
    .with("min_free_bytes", floor)
}

/// A storage failure as a client sees it.
pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(name) => ApiError::new(
            ErrorKind::FileNotFound,
            "file_not_found",
            format!("no file {name}"),
        )
        .with("filename", name.as_str()),
        StoreError::NamesExhausted(name) => ApiError::new(
            ErrorKind::InvalidState,
            "names_exhausted",
            format!("every variant of {name} is taken"),
        )
        .with("filename", name.as_str()),
        StoreError::Io(details) => ApiError::internal(details),
    }
}

/// A capture failure as a client sees it: -32003 busy, -32000 gone, -32050 the tool.
pub fn capture_error(e: CaptureError, device: CameraId) -> ApiError {
    match e {
        CaptureError::Busy(details) => ApiError::new(ErrorKind::DeviceBusy, "device_busy", details)
            .with("device", device.to_string()),
        CaptureError::SourceGone(details) => {
            ApiError::new(ErrorKind::CameraNotFound, "camera_gone", details)
                .with("device", device.to_string())
        }
        CaptureError::Unavailable {
            dependency,
            details,
        } => ApiError::new(
            ErrorKind::DependencyUnavailable,
            "dependency_unavailable",
            details,
        )
        .with("dependency", dependency)
        .with("device", device.to_string()),
        CaptureError::Failed {
            dependency,
            details,
        } => ApiError::new(
            ErrorKind::DependencyUnavailable,
            "dependency_failed",
            details,
        )
        .with("dependency", dependency)
        .with("device", device.to_string()),
        CaptureError::TimedOut {
            dependency,
            secs,
            details,
        } => ApiError::new(
            ErrorKind::DependencyUnavailable,
            "dependency_timeout",
            format!("no result after {secs} s: {details}"),
        )
        .with("dependency", dependency)
        .with("device", device.to_string()),
    }
}

impl Media {
    pub fn new(parts: MediaParts) -> Media {
        Media {
            snapshots: snapshot::Snapshots::new(parts.max_captures, parts.capture_wait),
            parts,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<CameraId, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether captures can run at all (the tool's version, or why not).
    pub async fn check_capture(&self) -> Result<String, CaptureError> {
        self.parts.capture.check().await
    }

    pub fn min_free_bytes(&self) -> u64 {
        self.parts.min_free_bytes
    }

    /// -32060 when the collection's filesystem has less free space than the floor.
    pub async fn ensure_space(&self, kind: FileKind) -> Result<(), ApiError> {
        let space = self.parts.store.space(kind).await.map_err(store_error)?;
        if space.available_bytes < self.parts.min_free_bytes {
            return Err(insufficient_storage(
                space.available_bytes,
                self.parts.min_free_bytes,
            ));
        }
        Ok(())
    }

    /// Whether `name` is a file a recording is writing now.
    pub fn is_being_written(&self, name: &SafeFileName) -> bool {
        self.slots().values().any(|slot| {
            slot.session.writes(name)
                || (slot.session.is_active()
                    && slot
                        .files()
                        .iter()
                        .any(|p| p.file_name().and_then(|f| f.to_str()) == Some(name.as_str())))
        })
    }

    /// Every file being written now (for retention).
    pub fn files_being_written(&self) -> Vec<SafeFileName> {
        let slots = self.slots();
        let mut names = Vec::new();
        for slot in slots.values() {
            if let Some(plan) = slot.session.active() {
                names.push(plan.file.clone());
            }
            if slot.session.is_active() {
                names.extend(slot.files().iter().filter_map(|p| {
                    p.file_name()?
                        .to_str()
                        .and_then(|n| SafeFileName::parse(n).ok())
                }));
            }
        }
        names
    }

    /// `get_camera_status.recording`: the recording under way, or null.
    pub fn recording_status(&self, device: CameraId) -> Option<RecordingStatus> {
        let now = self.parts.clock.now();
        let slots = self.slots();
        let slot = slots.get(&device)?;
        match slot.session.state() {
            RecordingState::Recording { plan, started_at }
            | RecordingState::Stopping {
                plan, started_at, ..
            } => Some(RecordingStatus {
                filename: plan.file.clone(),
                status: if matches!(slot.session.state(), RecordingState::Recording { .. }) {
                    RecordingPhase::Recording
                } else {
                    RecordingPhase::Stopping
                },
                start_time: Some(*started_at),
                duration: now.secs_since(*started_at).max(0.0),
                planned_duration: plan.planned.map(|d| d.secs()),
                format: plan.format,
                source: plan.origin,
            }),
            RecordingState::Starting { plan, .. } => Some(RecordingStatus {
                filename: plan.file.clone(),
                status: RecordingPhase::Starting,
                start_time: None,
                duration: 0.0,
                planned_duration: plan.planned.map(|d| d.secs()),
                format: plan.format,
                source: plan.origin,
            }),
            RecordingState::Idle | RecordingState::Failed { .. } => None,
        }
    }

    /// Recordings under way now.
    pub fn active_recordings(&self) -> usize {
        self.slots()
            .values()
            .filter(|s| s.session.is_active())
            .count()
    }
}

impl CameraObserver for Media {
    /// A camera that is no longer usable (unplugged, descriptor removed, in error) ends its
    /// recording: the watcher finishes the file and reports `recording.error`.
    fn changed(&self, camera: &CameraEntry) {
        if camera.status.is_usable() {
            return;
        }
        let lost = self
            .slots()
            .get_mut(&camera.id)
            .filter(|s| s.session.is_active())
            .and_then(|s| s.lost.take());
        if let Some(tx) = lost {
            let status = serde_json::to_value(camera.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut reason = format!("camera {} went away ({status})", camera.id);
            if let Some(e) = &camera.error {
                reason.push_str(&format!(": {e}"));
            }
            let _ = tx.send(reason);
        }
    }
}
