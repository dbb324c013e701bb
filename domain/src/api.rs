//! The client contract's methods, who may call them, and their typed params.
//!
//! `Call::parse` turns a method name and its JSON params into a value whose fields are
//! already valid (parse, don't validate): handlers never re-check them.
//!
//! One file of ~900 lines, ~230 of them tests: the method table and one typed params parser per
//! method are the contract, read in one place.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::auth::Role;
use crate::camera::CameraId;
use crate::controls::ControlInput;
use crate::error::{ApiError, ErrorKind};
use crate::events::{EventFilter, Topic, TopicSet};
use crate::files::{RecordingFormat, SafeFileName, SnapshotFormat};

macro_rules! methods {
    ($( $variant:ident => $name:literal, $role:expr, [$($param:literal),*] ;)*) => {
        /// Every method of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Method { $($variant),* }

        impl Method {
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Method::$variant => $name),* }
            }

            /// The least role that may call it; `None` for methods open to everyone.
            pub fn min_role(self) -> Option<Role> {
                match self { $(Method::$variant => $role),* }
            }

            /// Param names in positional order (for params given as an array).
            pub fn param_names(self) -> &'static [&'static str] {
                match self { $(Method::$variant => &[$($param),*]),* }
            }
        }
    };
}

const NONE: Option<Role> = None;
const VIEWER: Option<Role> = Some(Role::Viewer);
const OPERATOR: Option<Role> = Some(Role::Operator);
const ADMIN: Option<Role> = Some(Role::Admin);

methods! {
    Ping => "ping", NONE, [];
    RpcDiscover => "rpc.discover", NONE, [];
    Authenticate => "authenticate", NONE, ["auth_token"];
    GetCameraList => "get_camera_list", VIEWER, [];
    GetCameraStatus => "get_camera_status", VIEWER, ["device"];
    GetCameraCapabilities => "get_camera_capabilities", VIEWER, ["device"];
    TakeSnapshot => "take_snapshot", OPERATOR, ["device", "format", "quality", "filename"];
    StartRecording => "start_recording", OPERATOR, ["device", "duration", "format"];
    StopRecording => "stop_recording", OPERATOR, ["device"];
    StartStreaming => "start_streaming", OPERATOR, ["device"];
    StopStreaming => "stop_streaming", OPERATOR, ["device"];
    GetStreamUrl => "get_stream_url", VIEWER, ["device"];
    GetStreamStatus => "get_stream_status", VIEWER, ["device"];
    GetStreams => "get_streams", VIEWER, [];
    ListRecordings => "list_recordings", VIEWER, ["limit", "offset", "device"];
    ListSnapshots => "list_snapshots", VIEWER, ["limit", "offset", "device"];
    GetRecordingInfo => "get_recording_info", VIEWER, ["filename"];
    GetSnapshotInfo => "get_snapshot_info", VIEWER, ["filename"];
    DeleteRecording => "delete_recording", OPERATOR, ["filename"];
    DeleteSnapshot => "delete_snapshot", OPERATOR, ["filename"];
    GetMetrics => "get_metrics", ADMIN, [];
    GetStatus => "get_status", VIEWER, [];
    GetServerInfo => "get_server_info", VIEWER, [];
    GetStorageInfo => "get_storage_info", ADMIN, [];
    SetRetentionPolicy => "set_retention_policy", ADMIN, ["enabled", "max_age_days", "max_size_gb"];
    CleanupOldFiles => "cleanup_old_files", ADMIN, ["dry_run"];
    SubscribeEvents => "subscribe_events", VIEWER, ["topics", "filters"];
    UnsubscribeEvents => "unsubscribe_events", VIEWER, ["subscription"];
    GetCameraControls => "get_camera_controls", VIEWER, ["device"];
    SetCameraControls => "set_camera_controls", OPERATOR, ["device", "controls", "switch_to_manual"];
    ResetCameraControls => "reset_camera_controls", OPERATOR, ["device"];
    ListApiKeys => "list_api_keys", ADMIN, [];
    CreateApiKey => "create_api_key", ADMIN, ["role", "label", "expires_in_secs"];
    RevokeApiKey => "revoke_api_key", ADMIN, ["id"];
}

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Whether a call changes state (these are written to the audit log).
    pub fn changes_state(self) -> bool {
        matches!(
            self,
            Method::TakeSnapshot
                | Method::StartRecording
                | Method::StopRecording
                | Method::StartStreaming
                | Method::StopStreaming
                | Method::DeleteRecording
                | Method::DeleteSnapshot
                | Method::SetRetentionPolicy
                | Method::CleanupOldFiles
                | Method::SetCameraControls
                | Method::ResetCameraControls
                | Method::CreateApiKey
                | Method::RevokeApiKey
        )
    }

    /// Whether `role` may call it (`None`: not authenticated).
    pub fn allowed_for(self, role: Option<Role>) -> bool {
        match (self.min_role(), role) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(need), Some(have)) => have.allows(need),
        }
    }
}

/// JPEG quality 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality(u8);

impl Quality {
    pub const DEFAULT: Quality = Quality(85);

    pub fn new(v: u8) -> Option<Quality> {
        (1..=100).contains(&v).then_some(Quality(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        u8::try_from(v)
            .ok()
            .and_then(Quality::new)
            .ok_or_else(|| serde::de::Error::custom(format!("quality must be 1..=100, got {v}")))
    }
}

/// A planned recording length, 1..=86400 seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingDuration(f64);

impl RecordingDuration {
    pub fn new(secs: f64) -> Option<RecordingDuration> {
        (secs.is_finite() && (1.0..=86400.0).contains(&secs)).then_some(RecordingDuration(secs))
    }

    pub fn secs(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for RecordingDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        RecordingDuration::new(v).ok_or_else(|| {
            serde::de::Error::custom(format!("duration must be 1..=86400 seconds, got {v}"))
        })
    }
}

/// Page size 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const DEFAULT: PageLimit = PageLimit(50);

    pub fn new(v: u32) -> Option<PageLimit> {
        (1..=1000).contains(&v).then_some(PageLimit(v))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for PageLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        u32::try_from(v)
            .ok()
            .and_then(PageLimit::new)
            .ok_or_else(|| serde::de::Error::custom(format!("limit must be 1..=1000, got {v}")))
    }
}

/// A number that must be > 0 (and finite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Positive(f64);

impl Positive {
    pub fn new(v: f64) -> Option<Positive> {
        (v.is_finite() && v > 0.0).then_some(Positive(v))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Positive::new(v).ok_or_else(|| serde::de::Error::custom(format!("must be > 0, got {v}")))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotParams {
    pub device: CameraId,
    #[serde(default)]
    pub format: SnapshotFormat,
    #[serde(default = "default_quality")]
    pub quality: Quality,
    #[serde(default)]
    pub filename: Option<SafeFileName>,
}

fn default_quality() -> Quality {
    Quality::DEFAULT
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingParams {
    pub device: CameraId,
    #[serde(default)]
    pub duration: Option<RecordingDuration>,
    #[serde(default)]
    pub format: RecordingFormat,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default = "default_limit")]
    pub limit: PageLimit,
    #[serde(default)]
    pub offset: u64,
    #[serde(default)]
    pub device: Option<CameraId>,
}

fn default_limit() -> PageLimit {
    PageLimit::DEFAULT
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub max_age_days: Option<Positive>,
    #[serde(default)]
    pub max_size_gb: Option<Positive>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeParams {
    pub topics: TopicSet,
    pub filter: EventFilter,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubscribe {
    /// Topic names, group wildcards (`camera.*`) or `*`; never empty.
    #[schemars(schema_with = "crate::contract::topic_patterns")]
    topics: Vec<String>,
    #[serde(default)]
    filters: Option<RawFilters>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFilters {
    #[serde(default)]
    device: Option<CameraId>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceOnly {
    device: CameraId,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileOnly {
    filename: SafeFileName,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenOnly {
    auth_token: String,
}

/// `create_api_key`'s params: a role, a label, and optionally a lifetime.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub role: Role,
    pub label: ApiKeyLabel,
    /// Seconds from now until the key expires; absent: never.
    #[serde(default)]
    pub expires_in_secs: Option<KeyLifetime>,
}

/// An API key's label: 1..=64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyLabel(String);

impl ApiKeyLabel {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Option<ApiKeyLabel> {
        let n = text.chars().count();
        ((1..=Self::MAX_CHARS).contains(&n) && !text.chars().any(char::is_control))
            .then(|| ApiKeyLabel(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ApiKeyLabel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ApiKeyLabel::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "label must be 1..={} characters without control characters",
                ApiKeyLabel::MAX_CHARS
            ))
        })
    }
}

/// An API key's lifetime in seconds, 60 s .. 10 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLifetime(u64);

impl KeyLifetime {
    pub const MIN_SECS: u64 = 60;
    pub const MAX_SECS: u64 = 10 * 366 * 86_400;

    pub fn secs(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for KeyLifetime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        (KeyLifetime::MIN_SECS..=KeyLifetime::MAX_SECS)
            .contains(&v)
            .then_some(KeyLifetime(v))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "expires_in_secs must be {}..={}, got {v}",
                    KeyLifetime::MIN_SECS,
                    KeyLifetime::MAX_SECS
                ))
            })
    }
}

/// `revoke_api_key`'s params: the id `list_api_keys` shows.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyIdOnly {
    id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Nothing {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionOnly {
    /// The id `subscribe_events` answered.
    #[schemars(schema_with = "crate::contract::subscription_id")]
    subscription: Value,
}

/// `set_camera_controls`: the controls by id or name, in no particular order (the plan
/// orders them), never empty; each value a number, `true`/`false`, or a menu entry's text.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetControlsParams {
    pub device: CameraId,
    pub controls: ControlRequest,
    /// A manual value whose auto control is on also turns that auto control off.
    #[serde(default)]
    pub switch_to_manual: bool,
}

/// The `controls` object of `set_camera_controls`.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlRequest(pub Vec<(String, ControlInput)>);

impl JsonSchema for ControlRequest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ControlRequest".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Controls by id, older kernel name, driver name or CID (`0x009a0901`): a whole number, true/false, or a menu entry's text.",
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": ["integer", "boolean", "string"]}
        })
    }
}

impl<'de> Deserialize<'de> for ControlRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = std::collections::BTreeMap::<String, Value>::deserialize(d)?;
        if map.is_empty() {
            return Err(D::Error::custom(
                "controls must name at least one control: {\"brightness\": 140, ...}",
            ));
        }
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let input = match value {
                Value::Bool(b) => ControlInput::Bool(b),
                Value::Number(n) => ControlInput::Int(n.as_i64().ok_or_else(|| {
                    D::Error::custom(format!("controls.{key}: {n} is not a whole number in 64 bits"))
                })?),
                Value::String(t) => ControlInput::Text(t),
                other => {
                    return Err(D::Error::custom(format!(
                        "controls.{key}: must be a number, true/false or a menu entry's text, got {other}"
                    )))
                }
            };
            out.push((key, input));
        }
        Ok(ControlRequest(out))
    }
}

/// A method call with its params parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Ping,
    /// The OpenRPC document (`rpc.discover`).
    RpcDiscover,
    Authenticate {
        auth_token: String,
    },
    GetCameraList,
    GetCameraStatus {
        device: CameraId,
    },
    GetCameraCapabilities {
        device: CameraId,
    },
    TakeSnapshot(SnapshotParams),
    StartRecording(RecordingParams),
    StopRecording {
        device: CameraId,
    },
    StartStreaming {
        device: CameraId,
    },
    StopStreaming {
        device: CameraId,
    },
    GetStreamUrl {
        device: CameraId,
    },
    GetStreamStatus {
        device: CameraId,
    },
    GetStreams,
    ListRecordings(ListParams),
    ListSnapshots(ListParams),
    GetRecordingInfo {
        filename: SafeFileName,
    },
    GetSnapshotInfo {
        filename: SafeFileName,
    },
    DeleteRecording {
        filename: SafeFileName,
    },
    DeleteSnapshot {
        filename: SafeFileName,
    },
    GetMetrics,
    GetStatus,
    GetServerInfo,
    GetStorageInfo,
    SetRetentionPolicy(RetentionUpdate),
    CleanupOldFiles {
        dry_run: bool,
    },
    SubscribeEvents(SubscribeParams),
    /// The id as the client sent it (a string or a number).
    UnsubscribeEvents {
        subscription: Value,
    },
    GetCameraControls {
        device: CameraId,
    },
    SetCameraControls(SetControlsParams),
    ResetCameraControls {
        device: CameraId,
    },
    ListApiKeys,
    CreateApiKey(NewApiKey),
    RevokeApiKey {
        id: String,
    },
}

impl Call {
    /// Parses `params` (an object, a positional array, or absent/null) for `method`.
    /// Every failure is -32602 with details naming what is wrong.
    pub fn parse(method: Method, params: Option<Value>) -> Result<Call, ApiError> {
        let obj = normalise(method, params)?;
        Ok(match method {
            Method::Ping => none(obj, Call::Ping)?,
            Method::RpcDiscover => none(obj, Call::RpcDiscover)?,
            Method::Authenticate => Call::Authenticate {
                auth_token: de::<TokenOnly>(obj)?.auth_token,
            },
            Method::GetCameraList => none(obj, Call::GetCameraList)?,
            Method::GetCameraStatus => Call::GetCameraStatus {
                device: device(obj)?,
            },
            Method::GetCameraCapabilities => Call::GetCameraCapabilities {
                device: device(obj)?,
            },
            Method::TakeSnapshot => Call::TakeSnapshot(de(obj)?),
            Method::StartRecording => Call::StartRecording(de(obj)?),
            Method::StopRecording => Call::StopRecording {
                device: device(obj)?,
            },
            Method::StartStreaming => Call::StartStreaming {
                device: device(obj)?,
            },
            Method::StopStreaming => Call::StopStreaming {
                device: device(obj)?,
            },
            Method::GetStreamUrl => Call::GetStreamUrl {
                device: device(obj)?,
            },
            Method::GetStreamStatus => Call::GetStreamStatus {
                device: device(obj)?,
            },
            Method::GetStreams => none(obj, Call::GetStreams)?,
            Method::ListRecordings => Call::ListRecordings(de(obj)?),
            Method::ListSnapshots => Call::ListSnapshots(de(obj)?),
            Method::GetRecordingInfo => Call::GetRecordingInfo {
                filename: file(obj)?,
            },
            Method::GetSnapshotInfo => Call::GetSnapshotInfo {
                filename: file(obj)?,
            },
            Method::DeleteRecording => Call::DeleteRecording {
                filename: file(obj)?,
            },
            Method::DeleteSnapshot => Call::DeleteSnapshot {
                filename: file(obj)?,
            },
            Method::GetMetrics => none(obj, Call::GetMetrics)?,
            Method::GetStatus => none(obj, Call::GetStatus)?,
            Method::GetServerInfo => none(obj, Call::GetServerInfo)?,
            Method::GetStorageInfo => none(obj, Call::GetStorageInfo)?,
            Method::SetRetentionPolicy => Call::SetRetentionPolicy(de(obj)?),
            Method::CleanupOldFiles => Call::CleanupOldFiles {
                dry_run: de::<DryRun>(obj)?.dry_run,
            },
            Method::SubscribeEvents => Call::SubscribeEvents(subscribe(obj)?),
            Method::UnsubscribeEvents => {
                let s = de::<SubscriptionOnly>(obj)?.subscription;
                if !(s.is_string() || s.is_u64()) {
                    return Err(ApiError::invalid_params(
                        "subscription must be the id subscribe_events returned",
                    ));
                }
                Call::UnsubscribeEvents { subscription: s }
            }
            Method::GetCameraControls => Call::GetCameraControls {
                device: device(obj)?,
            },
            Method::SetCameraControls => Call::SetCameraControls(de(obj)?),
            Method::ResetCameraControls => Call::ResetCameraControls {
                device: device(obj)?,
            },
            Method::ListApiKeys => none(obj, Call::ListApiKeys)?,
            Method::CreateApiKey => Call::CreateApiKey(de(obj)?),
            Method::RevokeApiKey => {
                let id = de::<KeyIdOnly>(obj)?.id;
                if id.is_empty()
                    || id.len() > 64
                    || !id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ApiError::invalid_params(
                        "id must be an API key id as list_api_keys shows it",
                    ));
                }
                Call::RevokeApiKey { id }
            }
        })
    }

    pub fn method(&self) -> Method {
        match self {
            Call::Ping => Method::Ping,
            Call::RpcDiscover => Method::RpcDiscover,
            Call::Authenticate { .. } => Method::Authenticate,
            Call::GetCameraList => Method::GetCameraList,
            Call::GetCameraStatus { .. } => Method::GetCameraStatus,
            Call::GetCameraCapabilities { .. } => Method::GetCameraCapabilities,
            Call::TakeSnapshot(_) => Method::TakeSnapshot,
            Call::StartRecording(_) => Method::StartRecording,
            Call::StopRecording { .. } => Method::StopRecording,
            Call::StartStreaming { .. } => Method::StartStreaming,
            Call::StopStreaming { .. } => Method::StopStreaming,
            Call::GetStreamUrl { .. } => Method::GetStreamUrl,
            Call::GetStreamStatus { .. } => Method::GetStreamStatus,
            Call::GetStreams => Method::GetStreams,
            Call::ListRecordings(_) => Method::ListRecordings,
            Call::ListSnapshots(_) => Method::ListSnapshots,
            Call::GetRecordingInfo { .. } => Method::GetRecordingInfo,
            Call::GetSnapshotInfo { .. } => Method::GetSnapshotInfo,
            Call::DeleteRecording { .. } => Method::DeleteRecording,
            Call::DeleteSnapshot { .. } => Method::DeleteSnapshot,
            Call::GetMetrics => Method::GetMetrics,
            Call::GetStatus => Method::GetStatus,
            Call::GetServerInfo => Method::GetServerInfo,
            Call::GetStorageInfo => Method::GetStorageInfo,
            Call::SetRetentionPolicy(_) => Method::SetRetentionPolicy,
            Call::CleanupOldFiles { .. } => Method::CleanupOldFiles,
            Call::SubscribeEvents(_) => Method::SubscribeEvents,
            Call::UnsubscribeEvents { .. } => Method::UnsubscribeEvents,
            Call::GetCameraControls { .. } => Method::GetCameraControls,
            Call::SetCameraControls(_) => Method::SetCameraControls,
            Call::ResetCameraControls { .. } => Method::ResetCameraControls,
            Call::ListApiKeys => Method::ListApiKeys,
            Call::CreateApiKey(_) => Method::CreateApiKey,
            Call::RevokeApiKey { .. } => Method::RevokeApiKey,
        }
    }

    /// The camera a call is about, if any (for logs and busy checks).
    pub fn device(&self) -> Option<CameraId> {
        match self {
            Call::GetCameraStatus { device }
            | Call::GetCameraCapabilities { device }
            | Call::StopRecording { device }
            | Call::StartStreaming { device }
            | Call::StopStreaming { device }
            | Call::GetStreamUrl { device }
            | Call::GetStreamStatus { device }
            | Call::GetCameraControls { device }
            | Call::ResetCameraControls { device } => Some(*device),
            Call::SetCameraControls(p) => Some(p.device),
            Call::TakeSnapshot(p) => Some(p.device),
            Call::StartRecording(p) => Some(p.device),
            Call::ListRecordings(p) | Call::ListSnapshots(p) => p.device,
            _ => None,
        }
    }
}

fn bad(details: impl Into<String>) -> ApiError {
    ApiError::invalid_params(details)
}

/// Params as an object: absent and null become `{}`, arrays are matched to the names in order.
fn normalise(
    method: Method,
    params: Option<Value>,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    match params {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(Value::Array(items)) => {
            let names = method.param_names();
            if items.len() > names.len() {
                return Err(bad(format!(
                    "{} takes at most {} positional params, got {}",
                    method.name(),
                    names.len(),
                    items.len()
                )));
            }
            Ok(names
                .iter()
                .zip(items)
                .map(|(n, v)| ((*n).to_owned(), v))
                .collect())
        }
        Some(other) => Err(bad(format!(
            "params must be an object or an array, got {other}"
        ))),
    }
}

fn de<T: DeserializeOwned>(obj: serde_json::Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(obj.clone())).map_err(|e| {
        let text = e.to_string();
        match culprit::<T>(&obj) {
            Some(name) if !text.starts_with(name.as_str()) => {
                bad(format!("{name}: {text}")).with("param", name)
            }
            Some(name) => bad(text).with("param", name),
            None => bad(text),
        }
    })
}

/// The param whose value a failed parse refused: the one without which the rest parses (or
/// is only missing that param). serde's own message names no field for a bad value.
fn culprit<T: DeserializeOwned>(obj: &serde_json::Map<String, Value>) -> Option<String> {
    obj.keys()
        .find(|name| {
            let mut rest = obj.clone();
            rest.remove(name.as_str());
            match serde_json::from_value::<T>(Value::Object(rest)) {
                Ok(_) => true,
                Err(e) => e.to_string() == format!("missing field `{name}`"),
            }
        })
        .cloned()
}

fn none(obj: serde_json::Map<String, Value>, call: Call) -> Result<Call, ApiError> {
    de::<Nothing>(obj)?;
    Ok(call)
}

fn device(obj: serde_json::Map<String, Value>) -> Result<CameraId, ApiError> {
    Ok(de::<DeviceOnly>(obj)?.device)
}

fn file(obj: serde_json::Map<String, Value>) -> Result<SafeFileName, ApiError> {
    Ok(de::<FileOnly>(obj)?.filename)
}

fn subscribe(obj: serde_json::Map<String, Value>) -> Result<SubscribeParams, ApiError> {
    let raw: RawSubscribe = de(obj)?;
    if raw.topics.is_empty() {
        return Err(bad("topics must be a non-empty list"));
    }
    let mut topics = TopicSet::default();
    for name in &raw.topics {
        let expanded = Topic::parse_pattern(name).ok_or_else(|| {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.name()).collect();
            bad(format!(
                "unknown topic {name:?}; known topics: {}",
                known.join(", ")
            ))
        })?;
        for t in expanded {
            topics.insert(t);
        }
    }
    Ok(SubscribeParams {
        topics,
        filter: EventFilter {
            device: raw.filters.and_then(|f| f.device),
        },
    })
}

/// -32601 with the unknown name in `details`.
pub fn method_not_found(name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotFound,
        "method_not_found",
        format!("no method named {name:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(m: &str, p: Value) -> Result<Call, ApiError> {
        Call::parse(Method::parse(m).unwrap(), Some(p))
    }

    #[test]
    fn the_role_matrix_is_the_contracts() {
        let need = |m: &str| Method::parse(m).unwrap().min_role();
        assert_eq!(need("ping"), None);
        assert_eq!(need("authenticate"), None);
        assert_eq!(need("get_camera_list"), Some(Role::Viewer));
        assert_eq!(need("take_snapshot"), Some(Role::Operator));
        assert_eq!(need("delete_snapshot"), Some(Role::Operator));
        assert_eq!(need("get_metrics"), Some(Role::Admin));
        assert_eq!(need("get_storage_info"), Some(Role::Admin));
        assert_eq!(need("cleanup_old_files"), Some(Role::Admin));
        assert_eq!(need("subscribe_events"), Some(Role::Viewer));
        assert_eq!(need("get_camera_controls"), Some(Role::Viewer));
        assert_eq!(need("set_camera_controls"), Some(Role::Operator));
        assert_eq!(need("reset_camera_controls"), Some(Role::Operator));
        assert_eq!(need("list_api_keys"), Some(Role::Admin));
        assert_eq!(need("create_api_key"), Some(Role::Admin));
        assert_eq!(need("revoke_api_key"), Some(Role::Admin));
        assert_eq!(need("rpc.discover"), None);
        assert_eq!(Method::ALL.len(), 34);
    }

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(*m));
        }
        assert_eq!(Method::parse("rm_rf"), None);
    }

    #[test]
    fn defaults_apply() {
        let Call::TakeSnapshot(p) = parse("take_snapshot", json!({"device": "camera1"})).unwrap()
        else {
            panic!("wrong call")
        };
        assert_eq!(p.format, SnapshotFormat::Jpg);
        assert_eq!(p.quality, Quality::DEFAULT);
        let Call::ListRecordings(p) = Call::parse(Method::ListRecordings, None).unwrap() else {
            panic!("wrong call")
        };
        assert_eq!((p.limit.get(), p.offset, p.device), (50, 0, None));
    }

    #[test]
    fn positional_params_map_to_names() {
        assert_eq!(
            parse("get_camera_status", json!(["camera2"])).unwrap(),
            Call::GetCameraStatus {
                device: CameraId::new(2).unwrap()
            }
        );
        assert!(parse("get_camera_status", json!(["camera2", 1])).is_err());
    }

    #[test]
    fn bad_params_are_invalid_params() {
        let cases = [
            ("get_camera_status", json!({})),
            ("get_camera_status", json!({"device": "/dev/video0"})),
            ("get_camera_status", json!({"device": 0})),
            (
                "get_camera_status",
                json!({"device": "camera0", "extra": 1}),
            ),
            ("take_snapshot", json!({"device": "camera0", "quality": 0})),
            (
                "take_snapshot",
                json!({"device": "camera0", "quality": 101}),
            ),
            (
                "take_snapshot",
                json!({"device": "camera0", "quality": "high"}),
            ),
            (
                "take_snapshot",
                json!({"device": "camera0", "format": "gif"}),
            ),
            (
                "take_snapshot",
                json!({"device": "camera0", "filename": "../x"}),
            ),
            (
                "start_recording",
                json!({"device": "camera0", "duration": 0}),
            ),
            (
                "start_recording",
                json!({"device": "camera0", "duration": 86401}),
            ),
            ("list_recordings", json!({"limit": 0})),
            ("list_recordings", json!({"limit": 1001})),
            ("list_recordings", json!({"offset": -1})),
            ("delete_recording", json!({"filename": "a/b"})),
            ("set_retention_policy", json!({"max_age_days": 0})),
            ("set_retention_policy", json!({"max_size_gb": -1.5})),
            ("subscribe_events", json!({"topics": []})),
            ("subscribe_events", json!({"topics": ["camera.melted"]})),
            ("set_camera_controls", json!({"device": "camera0"})),
            (
                "set_camera_controls",
                json!({"device": "camera0", "controls": {}}),
            ),
            (
                "set_camera_controls",
                json!({"device": "camera0", "controls": {"brightness": 1.5}}),
            ),
            (
                "set_camera_controls",
                json!({"device": "camera0", "controls": {"brightness": [1]}}),
            ),
            (
                "set_camera_controls",
                json!({"device": "camera0", "controls": {"a": 1}, "force": true}),
            ),
            ("get_camera_controls", json!({})),
            ("ping", json!({"x": 1})),
            ("ping", json!("text")),
        ];
        for (m, p) in cases {
            let err = parse(m, p.clone()).expect_err(&format!("{m} {p} accepted"));
            assert_eq!(err.code(), -32602, "{m} {p}");
            assert!(!err.details.is_empty());
        }
    }

    #[test]
    fn unknown_param_is_named_in_details() {
        let err = parse(
            "get_camera_status",
            json!({"device": "camera0", "colour": 1}),
        )
        .unwrap_err();
        assert!(err.details.contains("colour"), "{}", err.details);
    }

    #[test]
    fn control_values_name_the_control_when_wrong() {
        let err = parse(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"zoom_absolute": {"x": 1}}}),
        )
        .unwrap_err();
        assert!(
            err.details.contains("controls.zoom_absolute"),
            "{}",
            err.details
        );
        let Call::SetCameraControls(p) = parse(
            "set_camera_controls",
            json!({"device": "camera0", "controls": {"focus_automatic_continuous": false, "focus_absolute": 40, "power_line_frequency": "50 Hz"}, "switch_to_manual": true}),
        )
        .unwrap() else {
            panic!("wrong call")
        };
        assert!(p.switch_to_manual);
        assert_eq!(p.controls.0.len(), 3);
        assert!(p.controls.0.contains(&(
            "power_line_frequency".into(),
            ControlInput::Text("50 Hz".into())
        )));
    }

    proptest! {
        #[test]
        fn parse_never_panics(m in 0usize..Method::ALL.len(), p in any_json()) {
            let _ = Call::parse(Method::ALL[m], Some(p));
        }

        #[test]
        fn quality_in_range_is_accepted(q in 1u8..=100) {
            let call = parse("take_snapshot", json!({"device": "camera0", "quality": q})).unwrap();
            let Call::TakeSnapshot(p) = call else { unreachable!() };
            prop_assert_eq!(p.quality.get(), q);
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9./]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn a_refused_value_names_its_param() {
        let cases = [
            (
                "start_recording",
                json!({"device": "camera0", "duration": "ten"}),
                "duration",
            ),
            (
                "set_retention_policy",
                json!({"max_age_days": -1}),
                "max_age_days",
            ),
            ("take_snapshot", json!({"device": 7}), "device"),
            (
                "list_recordings",
                json!({"limit": 10, "offset": "x"}),
                "offset",
            ),
        ];
        for (method, params, name) in cases {
            let e = parse(method, params.clone()).unwrap_err();
            assert_eq!(e.code(), -32602, "{method} {params}");
            assert!(
                e.details.starts_with(&format!("{name}: ")) || e.details.starts_with(name),
                "{method} {params}: {}",
                e.details
            );
            assert_eq!(e.context["param"], name, "{method} {params}");
        }
        let e = parse("set_retention_policy", json!({"max_age_days": -1})).unwrap_err();
        assert_eq!(e.details, "max_age_days: must be > 0, got -1");
    }
}
