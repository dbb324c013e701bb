//! What each error code's `data` holds (docs/api.md, Errors): always `reason` and
//! `details`, plus the context fields of that code. Used for the document's error shapes.

use schemars::JsonSchema;

use crate::auth::Role;
use crate::camera::CameraId;
use crate::error::ErrorKind;

/// Every error's `data`.
#[derive(JsonSchema)]
#[allow(dead_code)] // only its schema is used
pub struct ErrorData {
    /// snake_case, stable: what clients branch on.
    pub reason: String,
    /// Human text.
    pub details: String,
}

/// The control a write stopped at and the ones applied before it, in the `data` of
/// several codes (a camera gone, a state, a dependency during `set_camera_controls`).
// Fields undocumented on purpose: the document's shapes of these codes stay as they were.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct ControlWriteData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<String>>,
}

/// -32602
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct InvalidParamsData {
    #[serde(flatten)]
    pub base: ErrorData,
    /// The param whose value was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// `set_camera_controls`: the control refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// `auto_control_on`: the auto control that overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_control: Option<String>,
    /// Controls written before a driver refused one (they stay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<String>>,
}

/// -32000
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct CameraNotFoundData {
    #[serde(flatten)]
    pub base: ErrorData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<CameraId>,
    /// The cameras there are (or that are connected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<Vec<CameraId>>,
    #[serde(flatten)]
    pub write: ControlWriteData,
}

/// -32002
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct PermissionData {
    #[serde(flatten)]
    pub base: ErrorData,
    pub required_role: Role,
    pub role: Role,
}

/// -32003, -32020: a camera's or a recording's state refused the call.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct StateData {
    #[serde(flatten)]
    pub base: ErrorData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<CameraId>,
    /// `capture_limit`: the cap on capture processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_captures: Option<u64>,
    /// `subscription_limit`: the cap per connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_subscriptions: Option<u64>,
    #[serde(flatten)]
    pub write: ControlWriteData,
}

/// -32004, -32005
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct FileData {
    #[serde(flatten)]
    pub base: ErrorData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<CameraId>,
}

/// -32040
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct RateLimitData {
    #[serde(flatten)]
    pub base: ErrorData,
    /// Waiting this long always admits the next call.
    pub retry_after_ms: u64,
}

/// -32050
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct DependencyData {
    #[serde(flatten)]
    pub base: ErrorData,
    /// `mediamtx`, `ffmpeg`, `ffprobe`, `v4l2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<CameraId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(flatten)]
    pub write: ControlWriteData,
}

/// -32060
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct StorageData {
    #[serde(flatten)]
    pub base: ErrorData,
    pub available_bytes: u64,
    pub min_free_bytes: u64,
}

/// The schema of `data` for errors of this kind.
pub(crate) fn data_schema(kind: ErrorKind, g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    match kind {
        ErrorKind::InvalidParams => g.subschema_for::<InvalidParamsData>(),
        ErrorKind::CameraNotFound => g.subschema_for::<CameraNotFoundData>(),
        ErrorKind::PermissionDenied => g.subschema_for::<PermissionData>(),
        ErrorKind::DeviceBusy | ErrorKind::InvalidState => g.subschema_for::<StateData>(),
        ErrorKind::RecordingInProgress | ErrorKind::FileNotFound => g.subschema_for::<FileData>(),
        ErrorKind::RateLimited => g.subschema_for::<RateLimitData>(),
        ErrorKind::DependencyUnavailable => g.subschema_for::<DependencyData>(),
        ErrorKind::InsufficientStorage => g.subschema_for::<StorageData>(),
        ErrorKind::ParseError
        | ErrorKind::InvalidRequest
        | ErrorKind::MethodNotFound
        | ErrorKind::Internal
        | ErrorKind::AuthRequired
        | ErrorKind::Unsupported => g.subschema_for::<ErrorData>(),
    }
}
