//! One row per method of the registry (`Method::ALL`): its params type (the one
//! `Call::parse` deserializes), its result type, the errors it can return besides those
//! every method can, and a summary. A method without a row fails `every_method_has_a_row`.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::api::{
    DeviceOnly, DryRun, FileOnly, KeyIdOnly, ListParams, NewApiKey, Nothing, RawSubscribe,
    RecordingParams, RetentionUpdate, SetControlsParams, SnapshotParams, SubscriptionOnly,
    TokenOnly,
};
use crate::capabilities::Capabilities;
use crate::error::ErrorKind::{self, *};
use crate::Method;

use super::results::*;

/// A method's contract.
pub struct MethodRow {
    pub method: Method,
    pub summary: &'static str,
    /// The params object's schema (inline; its properties are the params by name).
    pub params: fn(&mut SchemaGenerator) -> Schema,
    pub result: fn(&mut SchemaGenerator) -> Schema,
    /// Errors of this method besides the ones every method can return (`ALWAYS`, and
    /// `WITH_ROLE` for methods that need a role).
    pub errors: &'static [ErrorKind],
}

/// Any call can be refused for its params, rate-limited, or hit a bug.
pub const ALWAYS: [ErrorKind; 3] = [InvalidParams, RateLimited, Internal];
/// A method that needs a role: not authenticated (or the credential ended), role too low.
pub const WITH_ROLE: [ErrorKind; 2] = [AuthRequired, PermissionDenied];

fn inline<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    T::json_schema(g)
}

fn named<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

macro_rules! rows {
    ($( $method:ident: $params:ty => $result:ty, [$($err:ident),*], $summary:literal; )*) => {
        /// Every method's row, in registry order.
        pub fn rows() -> Vec<MethodRow> {
            vec![$(MethodRow {
                method: Method::$method,
                summary: $summary,
                params: inline::<$params>,
                result: named::<$result>,
                errors: &[$($err),*],
            }),*]
        }
    };
}

rows! {
    Ping: Nothing => Pong, [], "Answers \"pong\"; needs no authentication.";
    RpcDiscover: Nothing => OpenRpcDocument, [], "This OpenRPC document; needs no authentication.";
    Authenticate: TokenOnly => Authenticated, [AuthRequired], "Authenticates the connection with a JWT or an API key.";
    GetCameraList: Nothing => CameraList, [], "Every camera, sorted by index.";
    GetCameraStatus: DeviceOnly => CameraDetails, [CameraNotFound, DependencyUnavailable], "A camera with its capabilities, stream and recording.";
    GetCameraCapabilities: DeviceOnly => Capabilities, [CameraNotFound], "A camera's formats, sizes and frame rates.";
    TakeSnapshot: SnapshotParams => SnapshotTaken, [CameraNotFound, DeviceBusy, DependencyUnavailable, InsufficientStorage], "Takes a picture into a new file.";
    StartRecording: RecordingParams => RecordingStarted, [CameraNotFound, DeviceBusy, RecordingInProgress, InvalidState, DependencyUnavailable, InsufficientStorage], "Starts recording a camera; answers once the first bytes are on disk.";
    StopRecording: DeviceOnly => RecordingStopped, [CameraNotFound, InvalidState, DependencyUnavailable], "Stops a camera's recording and reports its files.";
    StartStreaming: DeviceOnly => StreamInfo, [CameraNotFound, Unsupported, DependencyUnavailable], "Brings a camera's stream up; answers once it is ready.";
    StopStreaming: DeviceOnly => StreamStopped, [CameraNotFound, Unsupported], "Ends the viewing hold on a camera's stream (never a recording).";
    GetStreamUrl: DeviceOnly => StreamInfo, [CameraNotFound, Unsupported, DependencyUnavailable], "A camera's stream URLs and state.";
    GetStreamStatus: DeviceOnly => StreamStatus, [CameraNotFound, Unsupported, DependencyUnavailable], "A camera's stream with its byte counts.";
    GetStreams: Nothing => StreamList, [Unsupported, DependencyUnavailable], "The stream of every connected camera.";
    ListRecordings: ListParams => FileList, [], "Recordings, newest first, a page at a time.";
    ListSnapshots: ListParams => FileList, [], "Snapshots, newest first, a page at a time.";
    GetRecordingInfo: FileOnly => RecordingInfo, [FileNotFound, DependencyUnavailable], "A recording's file facts, duration and video.";
    GetSnapshotInfo: FileOnly => SnapshotInfo, [FileNotFound, DependencyUnavailable], "A snapshot's file facts and size.";
    DeleteRecording: FileOnly => Deleted, [FileNotFound, RecordingInProgress], "Deletes a recording (not one being written).";
    DeleteSnapshot: FileOnly => Deleted, [FileNotFound], "Deletes a snapshot.";
    GetMetrics: Nothing => Metrics, [], "The service's figures.";
    GetStatus: Nothing => StatusReport, [], "Health of the service and of each component.";
    GetServerInfo: Nothing => ServerInfo, [], "Name, version, media mode, what works now and the methods.";
    GetStorageInfo: Nothing => StorageInfo, [], "Space on the recordings' filesystem and what the collections hold.";
    SetRetentionPolicy: RetentionUpdate => RetentionSet, [], "Changes the retention policy (persisted).";
    CleanupOldFiles: DryRun => Cleanup, [], "Applies the retention limits now.";
    SubscribeEvents: RawSubscribe => SubscriptionId, [InvalidState], "Subscribes to topics; events arrive as the notifications of x-notifications.";
    UnsubscribeEvents: SubscriptionOnly => bool, [], "Ends a subscription.";
    GetCameraControls: DeviceOnly => CameraControls, [CameraNotFound, DependencyUnavailable], "A camera's controls with their ranges and values.";
    SetCameraControls: SetControlsParams => ControlsChanged, [CameraNotFound, DeviceBusy, InvalidState, DependencyUnavailable], "Checks every value, then writes them; answers the values read back.";
    ResetCameraControls: DeviceOnly => ControlsChanged, [CameraNotFound, DeviceBusy, InvalidState, DependencyUnavailable], "Writes the defaults and forgets the camera's remembered values.";
    ListApiKeys: Nothing => ApiKeyList, [], "Every API key (never the key itself), in creation order.";
    CreateApiKey: NewApiKey => CreatedApiKey, [], "Creates an API key; the answer is the only place the key ever appears.";
    RevokeApiKey: KeyIdOnly => RevokedApiKey, [], "Revokes an API key: its connections, subscriptions and console sessions end at their next use.";
}

impl MethodRow {
    /// Every error the method can return, in code order.
    pub fn all_errors(&self) -> Vec<ErrorKind> {
        let mut all: Vec<ErrorKind> = ALWAYS.to_vec();
        if self.method.min_role().is_some() {
            all.extend(WITH_ROLE);
        }
        all.extend(self.errors.iter().copied());
        all.sort_by_key(|k| std::cmp::Reverse(k.code()));
        all.dedup();
        all
    }
}
