//! The result of every method, as the client gets it (docs/api.md, Methods). The use cases
//! build these values; their schemas are the OpenRPC document's result schemas.
//!
//! Fields that are sometimes absent are `Option` with `skip_serializing_if`; fields that are
//! present but may be `null` are plain `Option`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::auth::Role;
use crate::camera::{CameraId, CameraStatus};
use crate::capabilities::Capabilities;
use crate::controls::Control;
use crate::files::{RecordingFormat, SafeFileName, SnapshotFormat};
use crate::media::SnapshotTier;
use crate::recording::RecordingOrigin;
use crate::retention::RetentionPolicy;
use crate::stream::StreamUrls;
use crate::time::Timestamp;

/// A status text that is always the same for a result (`"SUCCESS"`, `"STOPPED"`, ...).
macro_rules! fixed_text {
    ($name:ident = $text:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
        pub enum $name {
            #[default]
            #[serde(rename = $text)]
            Value,
        }
    };
}

fixed_text!(Pong = "pong");
fixed_text!(Success = "SUCCESS");
fixed_text!(Recording = "RECORDING");
fixed_text!(Stopped = "STOPPED");
fixed_text!(Failed = "FAILED");

/// `authenticate`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Authenticated {
    pub authenticated: bool,
    pub role: Role,
    /// viewer `["view"]`, operator adds `"control"`, admin adds `"admin"`.
    pub permissions: Vec<String>,
    /// `null` for API keys without expiry.
    pub expires_at: Option<Timestamp>,
    pub session_id: String,
}

/// A camera's stream URLs while MediaMTX serves; an empty object otherwise.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct CameraStreams {
    #[serde(flatten)]
    pub urls: Option<StreamUrls>,
}

/// Camera
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Camera {
    pub device: CameraId,
    pub status: CameraStatus,
    /// The card name V4L2 reports.
    pub name: String,
    /// The current or default mode (`1920x1080`).
    pub resolution: Option<String>,
    pub fps: Option<f64>,
    pub streams: CameraStreams,
    /// Why the camera is in ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `get_camera_list`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraList {
    pub cameras: Vec<Camera>,
    pub total: usize,
    pub connected: usize,
}

/// `get_camera_status.stream`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraStreamState {
    pub ready: bool,
    pub readers: u32,
    pub bytes_sent: u64,
}

/// Where a recording under way stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordingPhase {
    Starting,
    Recording,
    Stopping,
}

/// `get_camera_status.recording`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingStatus {
    pub filename: SafeFileName,
    pub status: RecordingPhase,
    /// `null` while starting.
    pub start_time: Option<Timestamp>,
    /// Seconds so far.
    pub duration: f64,
    pub planned_duration: Option<f64>,
    pub format: RecordingFormat,
    pub source: RecordingOrigin,
}

/// `get_camera_status`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraDetails {
    #[serde(flatten)]
    pub camera: Camera,
    pub capabilities: Capabilities,
    pub stream: Option<CameraStreamState>,
    pub recording: Option<RecordingStatus>,
}

/// `take_snapshot`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotTaken {
    pub device: CameraId,
    pub filename: SafeFileName,
    pub status: Success,
    pub timestamp: Timestamp,
    pub file_size: u64,
    pub format: SnapshotFormat,
    pub width: u32,
    pub height: u32,
    pub tier: SnapshotTier,
    pub download_url: String,
}

/// `start_recording`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingStarted {
    pub device: CameraId,
    pub filename: SafeFileName,
    pub status: Recording,
    pub start_time: Timestamp,
    /// Planned seconds, `null` until stopped.
    pub duration: Option<f64>,
    pub format: RecordingFormat,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub source: RecordingOrigin,
    pub download_url: String,
}

/// `stop_recording`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingStopped {
    pub device: CameraId,
    pub filename: SafeFileName,
    pub status: Stopped,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    /// The files' own duration (ffprobe), summed.
    pub duration: f64,
    pub file_size: u64,
    pub format: RecordingFormat,
    pub files: Vec<String>,
    pub download_url: String,
}

/// StreamInfo
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StreamInfo {
    pub device: CameraId,
    pub stream_name: String,
    pub ready: bool,
    pub readers: u32,
    pub urls: StreamUrls,
}

/// `get_stream_status`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StreamStatus {
    #[serde(flatten)]
    pub info: StreamInfo,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub ready_since: Option<Timestamp>,
}

/// What still holds a stream open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamHold {
    Viewing,
    Recording,
    Snapshot,
}

/// `stop_streaming`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StreamStopped {
    pub device: CameraId,
    pub status: Stopped,
    pub held_by: Vec<StreamHold>,
}

/// `get_streams`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StreamList {
    pub streams: Vec<StreamInfo>,
    pub total: usize,
    pub active: usize,
}

/// FileInfo
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileInfo {
    pub filename: SafeFileName,
    /// `null` for a name that does not start with a camera id.
    pub device: Option<CameraId>,
    pub file_size: u64,
    pub created_time: Timestamp,
    pub modified_time: Timestamp,
    /// The extension (`mp4`, `jpg`).
    pub format: String,
    pub download_url: String,
    /// Recordings only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<bool>,
}

/// `list_recordings`, `list_snapshots`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileList {
    pub files: Vec<FileInfo>,
    pub total: usize,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VideoFacts {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
}

/// `get_recording_info`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingInfo {
    #[serde(flatten)]
    pub file: FileInfo,
    /// `null` when ffprobe cannot read the file.
    pub duration: Option<f64>,
    pub video: Option<VideoFacts>,
}

/// `get_snapshot_info`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotInfo {
    #[serde(flatten)]
    pub file: FileInfo,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// `delete_recording`, `delete_snapshot`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Deleted {
    pub filename: SafeFileName,
    pub deleted: bool,
}

/// A component's (or the whole service's) health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComponentStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ComponentReport {
    pub status: ComponentStatus,
    pub details: String,
}

/// The component report (`system.health`, part of `get_status` and `GET /health`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HealthReport {
    pub status: ComponentStatus,
    /// `api`, `camera_monitor`, `media_server`, `storage`.
    pub components: BTreeMap<String, ComponentReport>,
}

/// `get_status`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    #[serde(flatten)]
    pub health: HealthReport,
    pub uptime: f64,
    pub version: String,
    pub timestamp: Timestamp,
}

/// The media plane serving now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    Mediamtx,
    Direct,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SupportedFormats {
    pub snapshot: Vec<SnapshotFormat>,
    pub recording: Vec<RecordingFormat>,
}

/// `get_server_info`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    pub media_mode: MediaMode,
    /// `media.mode` as configured: `auto`, `mediamtx` or `direct`.
    pub configured_media_mode: String,
    /// What works now (`streams` only while MediaMTX serves).
    pub capabilities: Vec<String>,
    pub supported_formats: SupportedFormats,
    pub max_cameras: u32,
    pub methods: Vec<String>,
}

/// `get_storage_info`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StorageInfo {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub usage_percent: f64,
    pub recordings_bytes: u64,
    pub snapshots_bytes: u64,
    pub recordings_count: usize,
    pub snapshots_count: usize,
    pub low_space_warning: bool,
    pub min_free_bytes: u64,
    pub retention: RetentionPolicy,
}

/// `set_retention_policy`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RetentionSet {
    pub policy: RetentionPolicy,
}

/// `cleanup_old_files`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cleanup {
    pub dry_run: bool,
    pub files_deleted: u64,
    pub recordings_deleted: u64,
    pub snapshots_deleted: u64,
    pub bytes_freed: u64,
    pub files: Vec<String>,
}

/// `subscribe_events`: the subscription id the notifications carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SubscriptionId(pub u64);

/// `get_camera_controls`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraControls {
    pub device: CameraId,
    pub controls: Vec<Control>,
}

/// `set_camera_controls`, `reset_camera_controls`: the values read back after the writes,
/// by control id (`null`: not readable).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlsChanged {
    pub device: CameraId,
    pub controls: BTreeMap<String, Option<i64>>,
    /// Reset only: inactive controls left as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Vec<String>>,
}

/// An API key as listed: never the key or its hash.
// Also the key store's record (`ports::auth::ApiKeyRecord`); a plain comment so that the
// document's description stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ApiKeyInfo {
    pub id: String,
    pub role: Role,
    pub label: String,
    pub created_at: Timestamp,
    /// `null`: never.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

/// `list_api_keys`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyInfo>,
    pub total: usize,
}

/// `create_api_key`: the key itself, here and never again, with its record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatedApiKey {
    pub key: String,
    #[serde(flatten)]
    pub info: ApiKeyInfo,
}

/// `revoke_api_key`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RevokedApiKey {
    pub id: String,
    pub revoked: bool,
}

/// `rpc.discover`: the OpenRPC document (its own meta-schema describes it).
#[derive(Debug, Clone, Serialize)]
pub struct OpenRpcDocument(pub serde_json::Value);

impl JsonSchema for OpenRpcDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OpenRpcDocument".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An OpenRPC 1.3 document (https://spec.open-rpc.org).",
            "type": "object",
            "required": ["openrpc", "info", "methods"],
            "properties": {"openrpc": {"type": "string", "pattern": "^1\\.3\\.[0-9]+$"}}
        })
    }
}

/// `get_metrics.process`: every figure `null` when unreadable.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ProcessFigures {
    pub rss_bytes: Option<u64>,
    /// Percent of one core since the previous sample.
    pub cpu_percent: Option<f64>,
    pub threads: Option<u64>,
    pub open_fds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConnectionFigures {
    pub active: u64,
    pub authenticated: u64,
    pub accepted_total: u64,
}

/// One method's calls; latencies `null` before its first call.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MethodFigures {
    pub count: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RequestFigures {
    pub total: u64,
    pub errors: u64,
    /// By method name.
    pub by_method: BTreeMap<String, MethodFigures>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraFigures {
    pub total: u64,
    pub connected: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingFigures {
    pub active: u64,
    pub started_total: u64,
    pub failed_total: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotFigures {
    pub total: u64,
    /// By tier: `"1"`, `"2"`, `"3"`.
    pub by_tier: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventFigures {
    pub published: u64,
    pub delivered: u64,
    pub dropped: u64,
}

/// The MQTT bridge's figures (only when a broker is configured).
// Also the broker connection's counters (`ports::broker::BrokerStats`). Plain comments
// below, so that the document's descriptions stay as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MqttFigures {
    pub connected: bool,
    // Messages handed to the broker connection.
    pub sent: u64,
    // Events dropped (oldest first) because the outgoing queue was full.
    pub dropped: u64,
    // Messages waiting now.
    pub queued: u64,
    // Connections made (the first and every reconnect).
    pub connects: u64,
    pub received: u64,
}

/// `get_metrics`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Metrics {
    pub timestamp: Timestamp,
    pub uptime: f64,
    pub process: ProcessFigures,
    pub connections: ConnectionFigures,
    pub requests: RequestFigures,
    pub cameras: CameraFigures,
    pub recordings: RecordingFigures,
    pub snapshots: SnapshotFigures,
    pub events: EventFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttFigures>,
}
