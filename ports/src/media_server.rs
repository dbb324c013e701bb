//! The media server (MediaMTX) as the app needs it: the paths it serves, how they are doing,
//! and whether it answers at all.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::stream::{PathConfig, Publication};
use domain::{Resolution, Timestamp};
use thiserror::Error;

/// A path as the media server runs it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStatus {
    pub name: String,
    /// A publisher is up and its tracks are known: readers get pictures.
    pub ready: bool,
    /// Since when it is ready.
    pub ready_since: Option<Timestamp>,
    /// Readers attached now (RTSP sessions, WebRTC sessions, HLS muxer, ...).
    pub readers: u32,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

/// Why a media server request failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MediaServerError {
    /// Not reachable (connection refused, no route, DNS).
    #[error("media server unreachable: {0}")]
    Unreachable(String),
    /// No complete answer within the request timeout.
    #[error("media server did not answer within {0} ms")]
    Timeout(u64),
    /// The path does not exist.
    #[error("media server has no path {0:?}")]
    NotFound(String),
    /// It refused the request (4xx); `message` is its own error text.
    #[error("media server refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// It failed (5xx); `message` is its own error text.
    #[error("media server failed ({status}): {message}")]
    Failed { status: u16, message: String },
    /// It answered something that is not its API.
    #[error("unexpected answer from the media server: {0}")]
    Protocol(String),
}

impl MediaServerError {
    /// The server cannot serve now (down, hung, failing, or not the server we expect), as
    /// opposed to refusing one request.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            MediaServerError::Unreachable(_)
                | MediaServerError::Timeout(_)
                | MediaServerError::Failed { .. }
                | MediaServerError::Protocol(_)
        )
    }
}

#[async_trait]
pub trait MediaServer: Send + Sync + 'static {
    /// Creates the path with `config`, or, when it exists, applies `config` to it.
    async fn ensure_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError>;

    /// Applies the settings `config` says to an existing path, leaving the others.
    async fn patch_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError>;

    /// Removes the path; also `Ok` when it was not there.
    async fn remove_path(&self, name: &str) -> Result<(), MediaServerError>;

    /// Every configured path by name, with the settings [`PathConfig`] knows.
    async fn path_configs(&self) -> Result<BTreeMap<String, PathConfig>, MediaServerError>;

    /// One path's runtime state; `None` when the server has no such path.
    async fn path_status(&self, name: &str) -> Result<Option<PathStatus>, MediaServerError>;

    /// Every path's runtime state.
    async fn path_statuses(&self) -> Result<Vec<PathStatus>, MediaServerError>;

    /// `Ok` when the server answers its API (a cheap read of its global configuration).
    async fn probe(&self) -> Result<(), MediaServerError>;
}

/// The newest picture a stream reader decoded: a JPEG of a keyframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFrame {
    pub jpeg: std::sync::Arc<[u8]>,
    /// How long ago it was decoded.
    pub age: std::time::Duration,
    /// Pictures decoded so far by this reader.
    pub count: u64,
}

/// A reader of the media server's stream, kept by the service so an on-demand publisher
/// runs as long as a use of the stream holds it. Reading stops when it is dropped.
pub trait StreamHandle: Send + Sync + 'static {
    /// Still reading (the reader has not ended by itself).
    fn is_reading(&self) -> bool;

    /// The newest keyframe it decoded, for snapshots of a running stream (tier 1) that
    /// need no process start and no wait for a keyframe.
    fn latest_frame(&self) -> Option<StreamFrame>;
}

/// Reads streams from the media server as a client does.
#[async_trait]
pub trait StreamReader: Send + Sync + 'static {
    /// Starts reading `url` (`rtsp://127.0.0.1:8554/camera0`); does not wait for pictures.
    async fn attach(&self, url: &str) -> Result<Box<dyn StreamHandle>, String>;

    /// Writes a picture a reader kept ([`StreamFrame::jpeg`]) to `path` (a tier-1 or tier-2
    /// snapshot).
    async fn save_frame(&self, jpeg: &[u8], path: &std::path::Path) -> Result<(), String>;
}

/// Why a publisher command could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublisherError {
    /// MediaMTX expands `$NAME` in hook commands before splitting them (even inside quotes),
    /// so text with `$` cannot be passed through; nor can control characters.
    #[error(
        "{what} {text:?} cannot be put in a MediaMTX hook command ('$' or a control character)"
    )]
    UnsafeText { what: &'static str, text: String },
    #[error("test pattern must be an ffmpeg lavfi source name (letters, digits, _), got {0:?}")]
    BadPattern(String),
    #[error("no frame size of a {0} source fits the video encoding")]
    NoFit(Resolution),
}

/// Makes the command line a path's `runOnDemand` publisher runs (the ffmpeg adapter).
pub trait PublisherCommands: Send + Sync + 'static {
    /// One line for MediaMTX's command splitter, publishing `publication` over RTSP to the
    /// path it runs for (`$RTSP_PORT` and `$MTX_PATH` left for MediaMTX to expand).
    fn publisher_command(&self, publication: &Publication) -> Result<String, PublisherError>;
}
