//! Making pictures: stills and recordings from a camera's capture source, and reading back
//! what a media file holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use domain::api::{Quality, RecordingDuration};
use domain::files::{RecordingFormat, SnapshotFormat};
use domain::media::{CaptureMode, RecordingMode};
use domain::recording::RecordingOrigin;
use thiserror::Error;

use crate::camera::CaptureSource;

/// Why a capture did not happen. `dependency` names the outside tool that failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CaptureError {
    /// The device is held by another process (or another capture).
    #[error("device busy: {0}")]
    Busy(String),
    /// The device node is not there (any more).
    #[error("capture source is gone: {0}")]
    SourceGone(String),
    /// The tool cannot be run at all (not installed, not executable).
    #[error("{dependency} unavailable: {details}")]
    Unavailable {
        dependency: &'static str,
        details: String,
    },
    /// The tool ran and failed; `details` ends with the tail of its error output.
    #[error("{dependency} failed: {details}")]
    Failed {
        dependency: &'static str,
        details: String,
    },
    /// The tool did not finish in time and was killed.
    #[error("{dependency} timed out after {secs} s: {details}")]
    TimedOut {
        dependency: &'static str,
        secs: f64,
        details: String,
    },
}

/// One still picture to take.
#[derive(Debug, Clone)]
pub struct StillRequest<'a> {
    pub source: &'a CaptureSource,
    pub mode: CaptureMode,
    pub format: SnapshotFormat,
    /// JPEG quality; PNG is lossless and ignores it.
    pub quality: Quality,
    /// Where to write it (a name the file store reserved: it is overwritten).
    pub path: &'a Path,
}

/// A still that was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Still {
    pub width: u32,
    pub height: u32,
}

/// What a recording reads.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordingSource {
    /// The camera itself, encoded by the recorder in `mode` (H.264 in the profile).
    Camera {
        source: CaptureSource,
        mode: RecordingMode,
    },
    /// The camera's stream on the media server (`rtsp://127.0.0.1:8554/camera0`), already
    /// H.264 in the profile: copied as it comes, never re-encoded. The recorder is a reader
    /// of the path like any viewer; the stream ending is a failure of the recording.
    Stream { url: String },
}

impl RecordingSource {
    pub fn origin(&self) -> RecordingOrigin {
        match self {
            RecordingSource::Camera { .. } => RecordingOrigin::Device,
            RecordingSource::Stream { .. } => RecordingOrigin::Stream,
        }
    }
}

/// One recording to start.
#[derive(Debug, Clone)]
pub struct RecordingRequest {
    pub source: RecordingSource,
    pub format: RecordingFormat,
    /// Ends by itself after this long; `None`: until stopped.
    pub planned: Option<RecordingDuration>,
    /// The file to write (reserved by the file store). With segments it names the
    /// recording: the segments are written beside it as `<stem>_000.<ext>`,
    /// `<stem>_001.<ext>`, ... (the first may be reserved already), and `path` itself is
    /// removed if it exists.
    pub path: PathBuf,
    /// Start a new file every this many seconds.
    pub segment_secs: Option<u64>,
}

/// How a recording ended. The file written so far stays playable in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingEnd {
    /// Finished cleanly: stopped on request, or the planned duration was reached.
    Finished,
    /// Did not finish when asked and was killed; the file is cut at the last fragment.
    Killed,
    /// Ended without being asked and not at its planned end: the reason, with the tail of
    /// the tool's error output.
    Failed { reason: String },
}

/// A recording under way.
#[async_trait]
pub trait Recorder: Send + Sync + 'static {
    /// The files written so far, first to last (one unless it is segmented).
    fn files(&self) -> Vec<PathBuf>;

    /// A still from the frames being recorded, for while the recording holds the device.
    /// Only a recording from the camera has them; one from a stream says `Failed` (the
    /// stream's own readers serve snapshots then).
    async fn still(
        &self,
        format: SnapshotFormat,
        quality: Quality,
        path: &Path,
    ) -> Result<Still, CaptureError>;

    /// Asks it to finish the file, waits for it (forcing it after a grace time) and
    /// returns how it ended. Calling it again, or after it ended, returns the same.
    async fn stop(&self) -> RecordingEnd;

    /// Resolves when it has ended, by itself or by `stop`.
    async fn ended(&self) -> RecordingEnd;
}

/// Takes stills and starts recordings.
#[async_trait]
pub trait Capture: Send + Sync + 'static {
    async fn still(&self, request: StillRequest<'_>) -> Result<Still, CaptureError>;

    /// Starts a recording and returns once its first bytes are on disk.
    async fn record(&self, request: RecordingRequest) -> Result<Arc<dyn Recorder>, CaptureError>;

    /// Whether captures can run at all: the tool's version, or why not.
    async fn check(&self) -> Result<String, CaptureError>;
}

/// What a media file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Seconds; `None` for a still.
    pub duration: Option<f64>,
    pub video: Option<VideoInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// `h264`, `mjpeg`, `png`, ...
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// `None` for a still or when the file does not say.
    pub fps: Option<f64>,
}

/// Reads media files (recordings, snapshots).
#[async_trait]
pub trait MediaInspector: Send + Sync + 'static {
    async fn inspect(&self, path: &Path) -> Result<MediaInfo, CaptureError>;
}
