//! Every event's fields, by topic (docs/api.md, Notifications). A use case builds one of
//! these and hands it to `Event::typed`; the envelope (`topic`, `timestamp`, `device`,
//! `dropped`) is the event's own.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::camera::{CameraId, CameraStatus};
use crate::events::Topic;
use crate::files::RecordingFormat;
use crate::media::SnapshotTier;
use crate::recording::RecordingOrigin;

use super::results::{ComponentReport, ComponentStatus, Failed, Recording, Stopped};

/// `camera.connected`, `camera.disconnected`, `camera.status_change`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraStatusEvent {
    pub status: CameraStatus,
    pub name: String,
    pub resolution: Option<String>,
    pub fps: Option<f64>,
    /// The node the same camera was on before it was re-plugged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_device: Option<CameraId>,
    /// Why it is in ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `recording.start`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingStartEvent {
    pub filename: String,
    pub status: Recording,
    /// Planned seconds, `null` until stopped.
    pub duration: Option<f64>,
    pub format: RecordingFormat,
    pub source: RecordingOrigin,
}

/// Why a recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Requested,
    DurationReached,
    SourceEnded,
}

/// `recording.stop`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingStopEvent {
    pub filename: String,
    pub status: Stopped,
    /// The files' own duration (ffprobe).
    pub duration: f64,
    pub file_size: u64,
    pub stop_reason: StopReason,
}

/// `recording.error`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingErrorEvent {
    pub filename: String,
    pub status: Failed,
    pub duration: f64,
    pub file_size: u64,
    pub reason: String,
}

/// `recording.source_changed`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordingSourceChangedEvent {
    pub filename: String,
    pub status: Recording,
    pub source: RecordingOrigin,
    pub previous_source: RecordingOrigin,
    pub reason: String,
    pub new_file: String,
    pub files: Vec<String>,
    pub duration: f64,
}

/// `snapshot.taken`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotTakenEvent {
    pub filename: String,
    pub file_size: u64,
    pub tier: SnapshotTier,
}

/// `system.health`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SystemHealthEvent {
    pub status: ComponentStatus,
    pub components: BTreeMap<String, ComponentReport>,
    /// The component that changed.
    pub component: String,
}

/// Why a camera's controls changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlsReason {
    Set,
    Reset,
    Restored,
}

/// `camera.controls`
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CameraControlsEvent {
    /// Values as read back, by control id.
    pub controls: BTreeMap<String, Option<i64>>,
    pub reason: ControlsReason,
}

/// Why the service ended a subscription (the transport's `subscription_ended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionEndReason {
    TokenExpired,
    KeyRevoked,
}

/// `subscription_ended`'s `result`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionEnded {
    pub reason: SubscriptionEndReason,
    pub details: String,
}

/// The notification method of the transport's last word to a subscription.
pub const SUBSCRIPTION_ENDED: &str = "subscription_ended";

/// The schema of a topic's event fields (without the envelope), as the type says.
pub(crate) fn fields_schema(topic: Topic, g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    match topic {
        Topic::CameraConnected | Topic::CameraDisconnected | Topic::CameraStatusChange => {
            CameraStatusEvent::json_schema(g)
        }
        Topic::RecordingStart => RecordingStartEvent::json_schema(g),
        Topic::RecordingStop => RecordingStopEvent::json_schema(g),
        Topic::RecordingError => RecordingErrorEvent::json_schema(g),
        Topic::RecordingSourceChanged => RecordingSourceChangedEvent::json_schema(g),
        Topic::SnapshotTaken => SnapshotTakenEvent::json_schema(g),
        Topic::SystemHealth => SystemHealthEvent::json_schema(g),
        Topic::CameraControls => CameraControlsEvent::json_schema(g),
    }
}

/// Whether events of a topic are about one camera (they carry `device`).
pub fn has_device(topic: Topic) -> bool {
    topic != Topic::SystemHealth
}
