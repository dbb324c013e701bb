import { RpcError } from "./errors.js";
/** The API version the document describes. */
export declare const API_VERSION = "0.1.0";
/** An API key as listed: never the key or its hash. */
export interface ApiKeyInfo {
    created_at: Timestamp;
    /** `null`: never. */
    expires_at: Timestamp | null;
    id: string;
    label: string;
    last_used_at: Timestamp | null;
    revoked: boolean;
    role: Role;
}
/** `list_api_keys` */
export interface ApiKeyList {
    keys: ApiKeyInfo[];
    total: number;
}
/** `authenticate` */
export interface Authenticated {
    authenticated: boolean;
    /** `null` for API keys without expiry. */
    expires_at: Timestamp | null;
    /** viewer `["view"]`, operator adds `"control"`, admin adds `"admin"`. */
    permissions: string[];
    role: Role;
    session_id: string;
}
/** Camera */
export interface Camera {
    device: CameraId;
    /** Why the camera is in ERROR. */
    error?: string | null;
    fps: number | null;
    /** The card name V4L2 reports. */
    name: string;
    /** The current or default mode (`1920x1080`). */
    resolution: string | null;
    status: CameraStatus;
    streams: CameraStreams;
}
/** `get_camera_controls` */
export interface CameraControls {
    controls: Control[];
    device: CameraId;
}
/** `get_camera_status` */
export interface CameraDetails {
    capabilities: Capabilities;
    device: CameraId;
    /** Why the camera is in ERROR. */
    error?: string | null;
    fps: number | null;
    /** The card name V4L2 reports. */
    name: string;
    recording: RecordingStatus | null;
    /** The current or default mode (`1920x1080`). */
    resolution: string | null;
    status: CameraStatus;
    stream: CameraStreamState | null;
    streams: CameraStreams;
}
export interface CameraFigures {
    connected: number;
    total: number;
}
/** A camera: `camera<N>`, N the index of its node (0..999). */
export type CameraId = string;
/** `get_camera_list` */
export interface CameraList {
    cameras: Camera[];
    connected: number;
    total: number;
}
/** -32000 */
export interface CameraNotFoundData {
    applied?: string[] | null;
    /** The cameras there are (or that are connected). */
    available?: CameraId[] | null;
    control?: string | null;
    /** Human text. */
    details: string;
    device?: CameraId | null;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** What clients see of a camera's state. */
export type CameraStatus = "CONNECTED" | "DISCONNECTED" | "ERROR";
/** `get_camera_status.stream` */
export interface CameraStreamState {
    bytes_sent: number;
    readers: number;
    ready: boolean;
}
/** A camera's stream URLs while MediaMTX serves; an empty object otherwise. */
export interface CameraStreams {
    /** The HLS playlist. */
    hls?: string;
    rtsp?: string;
    /**
     * The WebRTC player page (MediaMTX serves it at `/<path>/`; without the slash it
     * answers a redirect).
     */
    webrtc?: string;
    /** The WHEP endpoint (RFC 9725): a WebRTC client POSTs its SDP offer here. */
    whep?: string;
}
/** The `get_camera_capabilities` result. */
export interface Capabilities {
    bus_info: string;
    card: string;
    current: CurrentMode | null;
    device: CameraId;
    driver: string;
    formats: PixelFormat[];
    /** The union of all rates, highest first. */
    frame_rates: number[];
    /** Every discrete size plus each range's maximum, largest first. */
    resolutions: Resolution[];
}
/** `cleanup_old_files` */
export interface Cleanup {
    bytes_freed: number;
    dry_run: boolean;
    files: string[];
    files_deleted: number;
    recordings_deleted: number;
    snapshots_deleted: number;
}
export interface ComponentReport {
    details: string;
    status: ComponentStatus;
}
/** A component's (or the whole service's) health. */
export type ComponentStatus = "HEALTHY" | "DEGRADED" | "UNHEALTHY";
export interface ConnectionFigures {
    accepted_total: number;
    active: number;
    authenticated: number;
}
/** A control as a camera reports it now. */
export interface Control {
    /** The auto control that decides whether this one takes effect, when it has one. */
    auto_control?: string | null;
    /** The V4L2 control id. */
    cid: number;
    /** Its control class (`user`, `camera`, ...). */
    class: string;
    default: number;
    flags: ControlFlag[];
    /** Stable id (`auto_exposure`); see [`cids::stable_id`]. */
    id: string;
    maximum: number;
    menu?: MenuItem[];
    minimum: number;
    /** The driver's own name ("Auto Exposure", or "Exposure, Auto" on older kernels). */
    name: string;
    step: number;
    type: ControlType;
    /** `None` for write-only controls (buttons) and values the driver would not give. */
    value: number | null;
}
/** A control's state flags (`V4L2_CTRL_FLAG_*`) that matter to a client. */
export type ControlFlag = "read_only" | "write_only" | "inactive" | "volatile" | "grabbed";
/**
 * The control types handled (`enum v4l2_ctrl_type`). String and compound controls are
 * not offered.
 */
export type ControlType = "integer" | "boolean" | "menu" | "integer_menu" | "button" | "integer64" | "bitmask";
/**
 * `set_camera_controls`, `reset_camera_controls`: the values read back after the writes,
 * by control id (`null`: not readable).
 */
export interface ControlsChanged {
    controls: {
        [key: string]: number | null;
    };
    device: CameraId;
    /** Reset only: inactive controls left as they are. */
    skipped?: string[] | null;
}
/** Why a camera's controls changed. */
export type ControlsReason = "set" | "reset" | "restored";
/** `create_api_key`: the key itself, here and never again, with its record. */
export interface CreatedApiKey {
    created_at: Timestamp;
    /** `null`: never. */
    expires_at: Timestamp | null;
    id: string;
    key: string;
    label: string;
    last_used_at: Timestamp | null;
    revoked: boolean;
    role: Role;
}
/** The mode the device reports now (`G_FMT` + `G_PARM`). */
export interface CurrentMode {
    /** `None` when the driver cannot say (no `G_PARM`). */
    fps: number | null;
    height: number;
    pixel_format: FourCc;
    width: number;
}
/** `delete_recording`, `delete_snapshot` */
export interface Deleted {
    deleted: boolean;
    filename: FileName;
}
/** -32050 */
export interface DependencyData {
    applied?: string[] | null;
    control?: string | null;
    /** `mediamtx`, `ffmpeg`, `ffprobe`, `v4l2`. */
    dependency?: string | null;
    /** Human text. */
    details: string;
    device?: CameraId | null;
    filename?: string | null;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
export interface DiscreteSize {
    frame_rates: number[];
    height: number;
    width: number;
}
/** Every error's `data`. */
export interface ErrorData {
    /** Human text. */
    details: string;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** `camera.connected`, `camera.disconnected`, `camera.status_change` */
export interface EventCameraConnected {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    fps: number | null;
    name: string;
    /** The node the same camera was on before it was re-plugged. */
    previous_device?: CameraId | null;
    /** Why it is in ERROR. */
    reason?: string | null;
    resolution: string | null;
    status: CameraStatus;
    timestamp: Timestamp;
    topic: "camera.connected";
}
/** `camera.controls` */
export interface EventCameraControls {
    /** Values as read back, by control id. */
    controls: {
        [key: string]: number | null;
    };
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    reason: ControlsReason;
    timestamp: Timestamp;
    topic: "camera.controls";
}
/** `camera.connected`, `camera.disconnected`, `camera.status_change` */
export interface EventCameraDisconnected {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    fps: number | null;
    name: string;
    /** The node the same camera was on before it was re-plugged. */
    previous_device?: CameraId | null;
    /** Why it is in ERROR. */
    reason?: string | null;
    resolution: string | null;
    status: CameraStatus;
    timestamp: Timestamp;
    topic: "camera.disconnected";
}
/** `camera.connected`, `camera.disconnected`, `camera.status_change` */
export interface EventCameraStatusChange {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    fps: number | null;
    name: string;
    /** The node the same camera was on before it was re-plugged. */
    previous_device?: CameraId | null;
    /** Why it is in ERROR. */
    reason?: string | null;
    resolution: string | null;
    status: CameraStatus;
    timestamp: Timestamp;
    topic: "camera.status_change";
}
export interface EventFigures {
    delivered: number;
    dropped: number;
    published: number;
}
/** `recording.error` */
export interface EventRecordingError {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    duration: number;
    file_size: number;
    filename: string;
    reason: string;
    status: Failed;
    timestamp: Timestamp;
    topic: "recording.error";
}
/** `recording.source_changed` */
export interface EventRecordingSourceChanged {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    duration: number;
    filename: string;
    files: string[];
    new_file: string;
    previous_source: RecordingOrigin;
    reason: string;
    source: RecordingOrigin;
    status: Recording;
    timestamp: Timestamp;
    topic: "recording.source_changed";
}
/** `recording.start` */
export interface EventRecordingStart {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    /** Planned seconds, `null` until stopped. */
    duration: number | null;
    filename: string;
    format: RecordingFormat;
    source: RecordingOrigin;
    status: Recording;
    timestamp: Timestamp;
    topic: "recording.start";
}
/** `recording.stop` */
export interface EventRecordingStop {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    /** The files' own duration (ffprobe). */
    duration: number;
    file_size: number;
    filename: string;
    status: Stopped;
    stop_reason: StopReason;
    timestamp: Timestamp;
    topic: "recording.stop";
}
/** `snapshot.taken` */
export interface EventSnapshotTaken {
    device: CameraId;
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    file_size: number;
    filename: string;
    tier: SnapshotTier;
    timestamp: Timestamp;
    topic: "snapshot.taken";
}
/** `system.health` */
export interface EventSystemHealth {
    /** The component that changed. */
    component: string;
    components: {
        [key: string]: ComponentReport;
    };
    /** Events this subscriber lost just before this one. */
    dropped?: number;
    status: ComponentStatus;
    timestamp: Timestamp;
    topic: "system.health";
}
export type Failed = "FAILED";
/** -32004, -32005 */
export interface FileData {
    /** Human text. */
    details: string;
    device?: CameraId | null;
    filename?: string | null;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** FileInfo */
export interface FileInfo {
    created_time: Timestamp;
    /** `null` for a name that does not start with a camera id. */
    device: CameraId | null;
    download_url: string;
    file_size: number;
    filename: FileName;
    /** The extension (`mp4`, `jpg`). */
    format: string;
    /** Recordings only. */
    in_progress?: boolean | null;
    modified_time: Timestamp;
}
/** `list_recordings`, `list_snapshots` */
export interface FileList {
    files: FileInfo[];
    limit: number;
    offset: number;
    total: number;
}
/** A flat file name: no `/`, no `..`. */
export type FileName = string;
/** The pixel format's FourCC as text, without trailing blanks. */
export type FourCc = string;
/** A frame size a format offers: one discrete size, or a range. */
export type FrameSize = SizeRange | DiscreteSize;
/** -32602 */
export interface InvalidParamsData {
    /** Controls written before a driver refused one (they stay). */
    applied?: string[] | null;
    /** `auto_control_on`: the auto control that overrides it. */
    auto_control?: string | null;
    /** `set_camera_controls`: the control refused. */
    control?: string | null;
    /** Human text. */
    details: string;
    /** The param whose value was refused. */
    param?: string | null;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** The media plane serving now. */
export type MediaMode = "mediamtx" | "direct";
/** One entry of a menu control. Menus can have gaps (uvc), so the index is explicit. */
export interface MenuItem {
    index: number;
    /** A menu's text. */
    name?: string | null;
    /** An integer menu's value. */
    value?: number | null;
}
/** One method's calls; latencies `null` before its first call. */
export interface MethodFigures {
    count: number;
    errors: number;
    p50_ms: number | null;
    p99_ms: number | null;
}
/** `get_metrics` */
export interface Metrics {
    cameras: CameraFigures;
    connections: ConnectionFigures;
    events: EventFigures;
    mqtt?: MqttFigures | null;
    process: ProcessFigures;
    recordings: RecordingFigures;
    requests: RequestFigures;
    snapshots: SnapshotFigures;
    timestamp: Timestamp;
    uptime: number;
}
/** The MQTT bridge's figures (only when a broker is configured). */
export interface MqttFigures {
    connected: boolean;
    connects: number;
    dropped: number;
    queued: number;
    received: number;
    sent: number;
}
/** An OpenRPC 1.3 document (https://spec.open-rpc.org). */
export interface OpenRpcDocument {
    openrpc: string;
}
/** -32002 */
export interface PermissionData {
    /** Human text. */
    details: string;
    /** snake_case, stable: what clients branch on. */
    reason: string;
    required_role: Role;
    role: Role;
}
export interface PixelFormat {
    description: string;
    pixel_format: FourCc;
    sizes: FrameSize[];
}
export type Pong = "pong";
/** `get_metrics.process`: every figure `null` when unreadable. */
export interface ProcessFigures {
    /** Percent of one core since the previous sample. */
    cpu_percent: number | null;
    open_fds: number | null;
    rss_bytes: number | null;
    threads: number | null;
}
/** -32040 */
export interface RateLimitData {
    /** Human text. */
    details: string;
    /** snake_case, stable: what clients branch on. */
    reason: string;
    /** Waiting this long always admits the next call. */
    retry_after_ms: number;
}
export type Recording = "RECORDING";
export interface RecordingFigures {
    active: number;
    failed_total: number;
    started_total: number;
}
/** Video container formats. */
export type RecordingFormat = "mp4" | "mkv";
/** `get_recording_info` */
export interface RecordingInfo {
    created_time: Timestamp;
    /** `null` for a name that does not start with a camera id. */
    device: CameraId | null;
    download_url: string;
    /** `null` when ffprobe cannot read the file. */
    duration: number | null;
    file_size: number;
    filename: FileName;
    /** The extension (`mp4`, `jpg`). */
    format: string;
    /** Recordings only. */
    in_progress?: boolean | null;
    modified_time: Timestamp;
    video: VideoFacts | null;
}
/** Where a recording's pictures come from. */
export type RecordingOrigin = "device" | "stream";
/** Where a recording under way stands. */
export type RecordingPhase = "STARTING" | "RECORDING" | "STOPPING";
/** `start_recording` */
export interface RecordingStarted {
    device: CameraId;
    download_url: string;
    /** Planned seconds, `null` until stopped. */
    duration: number | null;
    filename: FileName;
    format: RecordingFormat;
    fps: number;
    height: number;
    source: RecordingOrigin;
    start_time: Timestamp;
    status: Recording;
    width: number;
}
/** `get_camera_status.recording` */
export interface RecordingStatus {
    /** Seconds so far. */
    duration: number;
    filename: FileName;
    format: RecordingFormat;
    planned_duration: number | null;
    source: RecordingOrigin;
    /** `null` while starting. */
    start_time: Timestamp | null;
    status: RecordingPhase;
}
/** `stop_recording` */
export interface RecordingStopped {
    device: CameraId;
    download_url: string;
    /** The files' own duration (ffprobe), summed. */
    duration: number;
    end_time: Timestamp;
    file_size: number;
    filename: FileName;
    files: string[];
    format: RecordingFormat;
    start_time: Timestamp;
    status: Stopped;
}
export interface RequestFigures {
    /** By method name. */
    by_method: {
        [key: string]: MethodFigures;
    };
    errors: number;
    total: number;
}
/** `<width>x<height>` */
export type Resolution = string;
/** `null` limits are no limit. */
export interface RetentionPolicy {
    enabled: boolean;
    max_age_days: number | null;
    max_size_gb: number | null;
}
/** `set_retention_policy` */
export interface RetentionSet {
    policy: RetentionPolicy;
}
/** `revoke_api_key` */
export interface RevokedApiKey {
    id: string;
    revoked: boolean;
}
export type Role = "viewer" | "operator" | "admin";
/** `get_server_info` */
export interface ServerInfo {
    /** What works now (`streams` only while MediaMTX serves). */
    capabilities: string[];
    /** `media.mode` as configured: `auto`, `mediamtx` or `direct`. */
    configured_media_mode: string;
    max_cameras: number;
    media_mode: MediaMode;
    methods: string[];
    name: string;
    supported_formats: SupportedFormats;
    version: string;
}
/** A stepwise or continuous size range; `frame_rates` are those at the maximum size. */
export interface SizeRange {
    frame_rates: number[];
    max_height: number;
    max_width: number;
    min_height: number;
    min_width: number;
    step_height: number;
    step_width: number;
    type: SizeRangeKind;
}
export type SizeRangeKind = "stepwise" | "continuous";
export interface SnapshotFigures {
    /** By tier: `"1"`, `"2"`, `"3"`. */
    by_tier: {
        [key: string]: number;
    };
    total: number;
}
/** Still image formats. */
export type SnapshotFormat = "jpg" | "png";
/** `get_snapshot_info` */
export interface SnapshotInfo {
    created_time: Timestamp;
    /** `null` for a name that does not start with a camera id. */
    device: CameraId | null;
    download_url: string;
    file_size: number;
    filename: FileName;
    /** The extension (`mp4`, `jpg`). */
    format: string;
    height: number | null;
    /** Recordings only. */
    in_progress?: boolean | null;
    modified_time: Timestamp;
    width: number | null;
}
/** `take_snapshot` */
export interface SnapshotTaken {
    device: CameraId;
    download_url: string;
    file_size: number;
    filename: FileName;
    format: SnapshotFormat;
    height: number;
    status: Success;
    tier: SnapshotTier;
    timestamp: Timestamp;
    width: number;
}
/** 1: from the running stream; 2: the stream started for it; 3: from the device. */
export type SnapshotTier = 1 | 2 | 3;
/** -32003, -32020: a camera's or a recording's state refused the call. */
export interface StateData {
    applied?: string[] | null;
    control?: string | null;
    /** Human text. */
    details: string;
    device?: CameraId | null;
    /** `capture_limit`: the cap on capture processes. */
    max_captures?: number | null;
    /** `subscription_limit`: the cap per connection. */
    max_subscriptions?: number | null;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** `get_status` */
export interface StatusReport {
    /** `api`, `camera_monitor`, `media_server`, `storage`. */
    components: {
        [key: string]: ComponentReport;
    };
    status: ComponentStatus;
    timestamp: Timestamp;
    uptime: number;
    version: string;
}
/** Why a recording stopped. */
export type StopReason = "requested" | "duration_reached" | "source_ended";
export type Stopped = "STOPPED";
/** -32060 */
export interface StorageData {
    available_bytes: number;
    /** Human text. */
    details: string;
    min_free_bytes: number;
    /** snake_case, stable: what clients branch on. */
    reason: string;
}
/** `get_storage_info` */
export interface StorageInfo {
    available_bytes: number;
    low_space_warning: boolean;
    min_free_bytes: number;
    recordings_bytes: number;
    recordings_count: number;
    retention: RetentionPolicy;
    snapshots_bytes: number;
    snapshots_count: number;
    total_bytes: number;
    usage_percent: number;
    used_bytes: number;
}
/** What still holds a stream open. */
export type StreamHold = "viewing" | "recording" | "snapshot";
/** StreamInfo */
export interface StreamInfo {
    device: CameraId;
    readers: number;
    ready: boolean;
    stream_name: string;
    urls: StreamUrls;
}
/** `get_streams` */
export interface StreamList {
    active: number;
    streams: StreamInfo[];
    total: number;
}
/** `get_stream_status` */
export interface StreamStatus {
    bytes_received: number;
    bytes_sent: number;
    device: CameraId;
    readers: number;
    ready: boolean;
    ready_since: Timestamp | null;
    stream_name: string;
    urls: StreamUrls;
}
/** `stop_streaming` */
export interface StreamStopped {
    device: CameraId;
    held_by: StreamHold[];
    status: Stopped;
}
/** A camera's stream URLs as clients get them. */
export interface StreamUrls {
    /** The HLS playlist. */
    hls: string;
    rtsp: string;
    /**
     * The WebRTC player page (MediaMTX serves it at `/<path>/`; without the slash it
     * answers a redirect).
     */
    webrtc: string;
    /** The WHEP endpoint (RFC 9725): a WebRTC client POSTs its SDP offer here. */
    whep: string;
}
/** Why the service ended a subscription (the transport's `subscription_ended`). */
export type SubscriptionEndReason = "token_expired" | "key_revoked";
/** `subscription_ended`'s `result`. */
export interface SubscriptionEnded {
    details: string;
    reason: SubscriptionEndReason;
}
/** `subscribe_events`: the subscription id the notifications carry. */
export type SubscriptionId = number;
export type Success = "SUCCESS";
export interface SupportedFormats {
    recording: RecordingFormat[];
    snapshot: SnapshotFormat[];
}
/** RFC 3339 in UTC with `Z`. */
export type Timestamp = string;
export interface VideoFacts {
    codec: string;
    fps: number | null;
    height: number;
    width: number;
}
/** `ping` takes no params. */
export type PingParams = Record<string, never>;
/** Result of `ping`. */
export type PingResult = Pong;
/** `rpc.discover` takes no params. */
export type RpcDiscoverParams = Record<string, never>;
/** Result of `rpc.discover`. */
export type RpcDiscoverResult = OpenRpcDocument;
/** Params of `authenticate`. */
export interface AuthenticateParams {
    auth_token: string;
}
/** Result of `authenticate`. */
export type AuthenticateResult = Authenticated;
/** `get_camera_list` takes no params. */
export type GetCameraListParams = Record<string, never>;
/** Result of `get_camera_list`. */
export type GetCameraListResult = CameraList;
/** Params of `get_camera_status`. */
export interface GetCameraStatusParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `get_camera_status`. */
export type GetCameraStatusResult = CameraDetails;
/** Params of `get_camera_capabilities`. */
export interface GetCameraCapabilitiesParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `get_camera_capabilities`. */
export type GetCameraCapabilitiesResult = Capabilities;
/** Params of `take_snapshot`. */
export interface TakeSnapshotParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
    /** Still image formats. */
    format?: "jpg" | "png";
    /** JPEG quality. */
    quality?: number;
    /** A flat file name: no `/`, no `..`. */
    filename?: string | null;
}
/** Result of `take_snapshot`. */
export type TakeSnapshotResult = SnapshotTaken;
/** Params of `start_recording`. */
export interface StartRecordingParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
    /** Seconds. */
    duration?: number | null;
    /** Video container formats. */
    format?: "mp4" | "mkv";
}
/** Result of `start_recording`. */
export type StartRecordingResult = RecordingStarted;
/** Params of `stop_recording`. */
export interface StopRecordingParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `stop_recording`. */
export type StopRecordingResult = RecordingStopped;
/** Params of `start_streaming`. */
export interface StartStreamingParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `start_streaming`. */
export type StartStreamingResult = StreamInfo;
/** Params of `stop_streaming`. */
export interface StopStreamingParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `stop_streaming`. */
export type StopStreamingResult = StreamStopped;
/** Params of `get_stream_url`. */
export interface GetStreamUrlParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `get_stream_url`. */
export type GetStreamUrlResult = StreamInfo;
/** Params of `get_stream_status`. */
export interface GetStreamStatusParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `get_stream_status`. */
export type GetStreamStatusResult = StreamStatus;
/** `get_streams` takes no params. */
export type GetStreamsParams = Record<string, never>;
/** Result of `get_streams`. */
export type GetStreamsResult = StreamList;
/** Params of `list_recordings`. */
export interface ListRecordingsParams {
    limit?: number;
    offset?: number;
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device?: string | null;
}
/** Result of `list_recordings`. */
export type ListRecordingsResult = FileList;
/** Params of `list_snapshots`. */
export interface ListSnapshotsParams {
    limit?: number;
    offset?: number;
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device?: string | null;
}
/** Result of `list_snapshots`. */
export type ListSnapshotsResult = FileList;
/** Params of `get_recording_info`. */
export interface GetRecordingInfoParams {
    /** A flat file name: no `/`, no `..`. */
    filename: string;
}
/** Result of `get_recording_info`. */
export type GetRecordingInfoResult = RecordingInfo;
/** Params of `get_snapshot_info`. */
export interface GetSnapshotInfoParams {
    /** A flat file name: no `/`, no `..`. */
    filename: string;
}
/** Result of `get_snapshot_info`. */
export type GetSnapshotInfoResult = SnapshotInfo;
/** Params of `delete_recording`. */
export interface DeleteRecordingParams {
    /** A flat file name: no `/`, no `..`. */
    filename: string;
}
/** Result of `delete_recording`. */
export type DeleteRecordingResult = Deleted;
/** Params of `delete_snapshot`. */
export interface DeleteSnapshotParams {
    /** A flat file name: no `/`, no `..`. */
    filename: string;
}
/** Result of `delete_snapshot`. */
export type DeleteSnapshotResult = Deleted;
/** `get_metrics` takes no params. */
export type GetMetricsParams = Record<string, never>;
/** Result of `get_metrics`. */
export type GetMetricsResult = Metrics;
/** `get_status` takes no params. */
export type GetStatusParams = Record<string, never>;
/** Result of `get_status`. */
export type GetStatusResult = StatusReport;
/** `get_server_info` takes no params. */
export type GetServerInfoParams = Record<string, never>;
/** Result of `get_server_info`. */
export type GetServerInfoResult = ServerInfo;
/** `get_storage_info` takes no params. */
export type GetStorageInfoParams = Record<string, never>;
/** Result of `get_storage_info`. */
export type GetStorageInfoResult = StorageInfo;
/** Params of `set_retention_policy`. */
export interface SetRetentionPolicyParams {
    enabled?: boolean | null;
    max_age_days?: number | null;
    max_size_gb?: number | null;
}
/** Result of `set_retention_policy`. */
export type SetRetentionPolicyResult = RetentionSet;
/** Params of `cleanup_old_files`. */
export interface CleanupOldFilesParams {
    dry_run?: boolean;
}
/** Result of `cleanup_old_files`. */
export type CleanupOldFilesResult = Cleanup;
/** Params of `subscribe_events`. */
export interface SubscribeEventsParams {
    /** Topic names, group wildcards (`camera.*`) or `*`; never empty. */
    topics: Array<"camera.connected" | "camera.disconnected" | "camera.status_change" | "recording.start" | "recording.stop" | "recording.error" | "snapshot.taken" | "system.health" | "recording.source_changed" | "camera.controls" | "camera.*" | "recording.*" | "snapshot.*" | "system.*" | "*">;
    filters?: {
        /** A camera: `camera<N>`, N the index of its node (0..999). */
        device?: string | null;
    } | null;
}
/** Result of `subscribe_events`. */
export type SubscribeEventsResult = SubscriptionId;
/** Params of `unsubscribe_events`. */
export interface UnsubscribeEventsParams {
    /** The id `subscribe_events` answered. */
    subscription: number | string;
}
/** Result of `unsubscribe_events`. */
export type UnsubscribeEventsResult = boolean;
/** Params of `get_camera_controls`. */
export interface GetCameraControlsParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `get_camera_controls`. */
export type GetCameraControlsResult = CameraControls;
/** Params of `set_camera_controls`. */
export interface SetCameraControlsParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
    /** Controls by id, older kernel name, driver name or CID (`0x009a0901`): a whole number, true/false, or a menu entry's text. */
    controls: {
        [key: string]: number | boolean | string;
    };
    /** A manual value whose auto control is on also turns that auto control off. */
    switch_to_manual?: boolean;
}
/** Result of `set_camera_controls`. */
export type SetCameraControlsResult = ControlsChanged;
/** Params of `reset_camera_controls`. */
export interface ResetCameraControlsParams {
    /** A camera: `camera<N>`, N the index of its node (0..999). */
    device: string;
}
/** Result of `reset_camera_controls`. */
export type ResetCameraControlsResult = ControlsChanged;
/** `list_api_keys` takes no params. */
export type ListApiKeysParams = Record<string, never>;
/** Result of `list_api_keys`. */
export type ListApiKeysResult = ApiKeyList;
/** Params of `create_api_key`. */
export interface CreateApiKeyParams {
    role: "viewer" | "operator" | "admin";
    /** An API key's label: 1..64 characters, no control characters. */
    label: string;
    /** Seconds from now until the key expires; absent: never. */
    expires_in_secs?: number | null;
}
/** Result of `create_api_key`. */
export type CreateApiKeyResult = CreatedApiKey;
/** Params of `revoke_api_key`. */
export interface RevokeApiKeyParams {
    id: string;
}
/** Result of `revoke_api_key`. */
export type RevokeApiKeyResult = RevokedApiKey;
/** Every method with its params and result. */
export interface MethodMap {
    ping: {
        params: PingParams;
        result: PingResult;
    };
    "rpc.discover": {
        params: RpcDiscoverParams;
        result: RpcDiscoverResult;
    };
    authenticate: {
        params: AuthenticateParams;
        result: AuthenticateResult;
    };
    get_camera_list: {
        params: GetCameraListParams;
        result: GetCameraListResult;
    };
    get_camera_status: {
        params: GetCameraStatusParams;
        result: GetCameraStatusResult;
    };
    get_camera_capabilities: {
        params: GetCameraCapabilitiesParams;
        result: GetCameraCapabilitiesResult;
    };
    take_snapshot: {
        params: TakeSnapshotParams;
        result: TakeSnapshotResult;
    };
    start_recording: {
        params: StartRecordingParams;
        result: StartRecordingResult;
    };
    stop_recording: {
        params: StopRecordingParams;
        result: StopRecordingResult;
    };
    start_streaming: {
        params: StartStreamingParams;
        result: StartStreamingResult;
    };
    stop_streaming: {
        params: StopStreamingParams;
        result: StopStreamingResult;
    };
    get_stream_url: {
        params: GetStreamUrlParams;
        result: GetStreamUrlResult;
    };
    get_stream_status: {
        params: GetStreamStatusParams;
        result: GetStreamStatusResult;
    };
    get_streams: {
        params: GetStreamsParams;
        result: GetStreamsResult;
    };
    list_recordings: {
        params: ListRecordingsParams;
        result: ListRecordingsResult;
    };
    list_snapshots: {
        params: ListSnapshotsParams;
        result: ListSnapshotsResult;
    };
    get_recording_info: {
        params: GetRecordingInfoParams;
        result: GetRecordingInfoResult;
    };
    get_snapshot_info: {
        params: GetSnapshotInfoParams;
        result: GetSnapshotInfoResult;
    };
    delete_recording: {
        params: DeleteRecordingParams;
        result: DeleteRecordingResult;
    };
    delete_snapshot: {
        params: DeleteSnapshotParams;
        result: DeleteSnapshotResult;
    };
    get_metrics: {
        params: GetMetricsParams;
        result: GetMetricsResult;
    };
    get_status: {
        params: GetStatusParams;
        result: GetStatusResult;
    };
    get_server_info: {
        params: GetServerInfoParams;
        result: GetServerInfoResult;
    };
    get_storage_info: {
        params: GetStorageInfoParams;
        result: GetStorageInfoResult;
    };
    set_retention_policy: {
        params: SetRetentionPolicyParams;
        result: SetRetentionPolicyResult;
    };
    cleanup_old_files: {
        params: CleanupOldFilesParams;
        result: CleanupOldFilesResult;
    };
    subscribe_events: {
        params: SubscribeEventsParams;
        result: SubscribeEventsResult;
    };
    unsubscribe_events: {
        params: UnsubscribeEventsParams;
        result: UnsubscribeEventsResult;
    };
    get_camera_controls: {
        params: GetCameraControlsParams;
        result: GetCameraControlsResult;
    };
    set_camera_controls: {
        params: SetCameraControlsParams;
        result: SetCameraControlsResult;
    };
    reset_camera_controls: {
        params: ResetCameraControlsParams;
        result: ResetCameraControlsResult;
    };
    list_api_keys: {
        params: ListApiKeysParams;
        result: ListApiKeysResult;
    };
    create_api_key: {
        params: CreateApiKeyParams;
        result: CreateApiKeyResult;
    };
    revoke_api_key: {
        params: RevokeApiKeyParams;
        result: RevokeApiKeyResult;
    };
}
export type MethodName = keyof MethodMap;
/** Each method's minimum role (null: callable before authentication) and param order. */
export declare const METHODS: {
    readonly [M in MethodName]: {
        readonly minRole: Role | null;
        readonly params: readonly string[];
        readonly errors: readonly number[];
    };
};
/** The API's error codes by name. */
export declare const ErrorCode: {
    readonly CameraNotFound: -32000;
    readonly AuthenticationRequired: -32001;
    readonly InsufficientPermissions: -32002;
    readonly DeviceBusy: -32003;
    readonly RecordingInProgress: -32004;
    readonly FileNotFound: -32005;
    readonly InvalidState: -32020;
    readonly Unsupported: -32030;
    readonly RateLimited: -32040;
    readonly DependencyUnavailable: -32050;
    readonly InsufficientStorage: -32060;
    readonly InvalidParams: -32602;
    readonly InternalError: -32603;
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** -32000 Camera not found. */
export declare class CameraNotFoundError extends RpcError<CameraNotFoundData> {
    static readonly code = -32000;
}
/** -32001 Authentication required. */
export declare class AuthenticationRequiredError extends RpcError<ErrorData> {
    static readonly code = -32001;
}
/** -32002 Insufficient permissions. */
export declare class InsufficientPermissionsError extends RpcError<PermissionData> {
    static readonly code = -32002;
}
/** -32003 Device busy. */
export declare class DeviceBusyError extends RpcError<StateData> {
    static readonly code = -32003;
}
/** -32004 Recording in progress. */
export declare class RecordingInProgressError extends RpcError<FileData> {
    static readonly code = -32004;
}
/** -32005 File not found. */
export declare class FileNotFoundError extends RpcError<FileData> {
    static readonly code = -32005;
}
/** -32020 Invalid state. */
export declare class InvalidStateError extends RpcError<StateData> {
    static readonly code = -32020;
}
/** -32030 Unsupported. */
export declare class UnsupportedError extends RpcError<ErrorData> {
    static readonly code = -32030;
}
/** -32040 Rate limited. */
export declare class RateLimitedError extends RpcError<RateLimitData> {
    static readonly code = -32040;
}
/** -32050 Dependency unavailable. */
export declare class DependencyUnavailableError extends RpcError<DependencyData> {
    static readonly code = -32050;
}
/** -32060 Insufficient storage. */
export declare class InsufficientStorageError extends RpcError<StorageData> {
    static readonly code = -32060;
}
/** -32602 Invalid params. */
export declare class InvalidParamsError extends RpcError<InvalidParamsData> {
    static readonly code = -32602;
}
/** -32603 Internal error. */
export declare class InternalError extends RpcError<ErrorData> {
    static readonly code = -32603;
}
/** The error class for each code; other codes are plain `RpcError`s. */
export declare const ERROR_CLASSES: {
    readonly [code: number]: typeof RpcError<any>;
};
/** An event of camera.connected, camera.disconnected, camera.status_change. */
export type CameraStatusUpdateEvent = EventCameraConnected | EventCameraDisconnected | EventCameraStatusChange;
/** An event of recording.start, recording.stop, recording.error, recording.source_changed. */
export type RecordingStatusUpdateEvent = EventRecordingStart | EventRecordingStop | EventRecordingError | EventRecordingSourceChanged;
/** An event of snapshot.taken. */
export type SnapshotUpdateEvent = EventSnapshotTaken;
/** An event of system.health. */
export type SystemStatusUpdateEvent = EventSystemHealth;
/** An event of camera.controls. */
export type CameraControlsUpdateEvent = EventCameraControls;
/** The last notification of a subscription the service ended (the credential expired or was revoked). */
export type SubscriptionEndedEvent = SubscriptionEnded;
/** Each notification method's payload (`params.result`). */
export interface NotificationMap {
    camera_status_update: CameraStatusUpdateEvent;
    recording_status_update: RecordingStatusUpdateEvent;
    snapshot_update: SnapshotUpdateEvent;
    system_status_update: SystemStatusUpdateEvent;
    camera_controls_update: CameraControlsUpdateEvent;
    subscription_ended: SubscriptionEndedEvent;
}
export type NotificationMethod = keyof NotificationMap;
/** Each topic's event. */
export interface TopicMap {
    "camera.connected": EventCameraConnected;
    "camera.disconnected": EventCameraDisconnected;
    "camera.status_change": EventCameraStatusChange;
    "recording.start": EventRecordingStart;
    "recording.stop": EventRecordingStop;
    "recording.error": EventRecordingError;
    "recording.source_changed": EventRecordingSourceChanged;
    "snapshot.taken": EventSnapshotTaken;
    "system.health": EventSystemHealth;
    "camera.controls": EventCameraControls;
}
/** Every topic by name (`subscribe_events` also takes `camera.*`-style groups and `*`). */
export type Topic = keyof TopicMap;
/** Any event a subscription delivers. */
export type ApiEvent = TopicMap[Topic];
/** Each topic's notification method and minimum role. */
export declare const TOPICS: {
    readonly [T in Topic]: {
        readonly notification: NotificationMethod;
        readonly minRole: Role | null;
    };
};
/** One typed method per API method; the client supplies `request`. */
export declare abstract class GeneratedMethods {
    protected abstract request<M extends MethodName>(method: M, params?: MethodMap[M]["params"]): Promise<MethodMap[M]["result"]>;
    /**
     * Answers "pong"; needs no authentication.
     * Role: none (before authentication too).
     * Errors: -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    ping(): Promise<PingResult>;
    /**
     * This OpenRPC document; needs no authentication.
     * Role: none (before authentication too).
     * Errors: -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    rpcDiscover(): Promise<RpcDiscoverResult>;
    /**
     * Every camera, sorted by index.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getCameraList(): Promise<GetCameraListResult>;
    /**
     * A camera with its capabilities, stream and recording.
     * Role: viewer.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getCameraStatus(params: GetCameraStatusParams): Promise<GetCameraStatusResult>;
    /**
     * A camera's formats, sizes and frame rates.
     * Role: viewer.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getCameraCapabilities(params: GetCameraCapabilitiesParams): Promise<GetCameraCapabilitiesResult>;
    /**
     * Takes a picture into a new file.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32003 DeviceBusy, -32040 RateLimited, -32050 DependencyUnavailable, -32060 InsufficientStorage, -32602 InvalidParams, -32603 InternalError.
     */
    takeSnapshot(params: TakeSnapshotParams): Promise<TakeSnapshotResult>;
    /**
     * Starts recording a camera; answers once the first bytes are on disk.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32003 DeviceBusy, -32004 RecordingInProgress, -32020 InvalidState, -32040 RateLimited, -32050 DependencyUnavailable, -32060 InsufficientStorage, -32602 InvalidParams, -32603 InternalError.
     */
    startRecording(params: StartRecordingParams): Promise<StartRecordingResult>;
    /**
     * Stops a camera's recording and reports its files.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32020 InvalidState, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    stopRecording(params: StopRecordingParams): Promise<StopRecordingResult>;
    /**
     * Brings a camera's stream up; answers once it is ready.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32030 Unsupported, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    startStreaming(params: StartStreamingParams): Promise<StartStreamingResult>;
    /**
     * Ends the viewing hold on a camera's stream (never a recording).
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32030 Unsupported, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    stopStreaming(params: StopStreamingParams): Promise<StopStreamingResult>;
    /**
     * A camera's stream URLs and state.
     * Role: viewer.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32030 Unsupported, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getStreamUrl(params: GetStreamUrlParams): Promise<GetStreamUrlResult>;
    /**
     * A camera's stream with its byte counts.
     * Role: viewer.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32030 Unsupported, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getStreamStatus(params: GetStreamStatusParams): Promise<GetStreamStatusResult>;
    /**
     * The stream of every connected camera.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32030 Unsupported, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getStreams(): Promise<GetStreamsResult>;
    /**
     * Recordings, newest first, a page at a time.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    listRecordings(params?: ListRecordingsParams): Promise<ListRecordingsResult>;
    /**
     * Snapshots, newest first, a page at a time.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    listSnapshots(params?: ListSnapshotsParams): Promise<ListSnapshotsResult>;
    /**
     * A recording's file facts, duration and video.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32005 FileNotFound, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getRecordingInfo(params: GetRecordingInfoParams): Promise<GetRecordingInfoResult>;
    /**
     * A snapshot's file facts and size.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32005 FileNotFound, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getSnapshotInfo(params: GetSnapshotInfoParams): Promise<GetSnapshotInfoResult>;
    /**
     * Deletes a recording (not one being written).
     * Role: operator.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32004 RecordingInProgress, -32005 FileNotFound, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    deleteRecording(params: DeleteRecordingParams): Promise<DeleteRecordingResult>;
    /**
     * Deletes a snapshot.
     * Role: operator.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32005 FileNotFound, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    deleteSnapshot(params: DeleteSnapshotParams): Promise<DeleteSnapshotResult>;
    /**
     * The service's figures.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getMetrics(): Promise<GetMetricsResult>;
    /**
     * Health of the service and of each component.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getStatus(): Promise<GetStatusResult>;
    /**
     * Name, version, media mode, what works now and the methods.
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getServerInfo(): Promise<GetServerInfoResult>;
    /**
     * Space on the recordings' filesystem and what the collections hold.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    getStorageInfo(): Promise<GetStorageInfoResult>;
    /**
     * Changes the retention policy (persisted).
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    setRetentionPolicy(params?: SetRetentionPolicyParams): Promise<SetRetentionPolicyResult>;
    /**
     * Applies the retention limits now.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    cleanupOldFiles(params?: CleanupOldFilesParams): Promise<CleanupOldFilesResult>;
    /**
     * A camera's controls with their ranges and values.
     * Role: viewer.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    getCameraControls(params: GetCameraControlsParams): Promise<GetCameraControlsResult>;
    /**
     * Checks every value, then writes them; answers the values read back.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32003 DeviceBusy, -32020 InvalidState, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    setCameraControls(params: SetCameraControlsParams): Promise<SetCameraControlsResult>;
    /**
     * Writes the defaults and forgets the camera's remembered values.
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32003 DeviceBusy, -32020 InvalidState, -32040 RateLimited, -32050 DependencyUnavailable, -32602 InvalidParams, -32603 InternalError.
     */
    resetCameraControls(params: ResetCameraControlsParams): Promise<ResetCameraControlsResult>;
    /**
     * Every API key (never the key itself), in creation order.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    listApiKeys(): Promise<ListApiKeysResult>;
    /**
     * Creates an API key; the answer is the only place the key ever appears.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    createApiKey(params: CreateApiKeyParams): Promise<CreateApiKeyResult>;
    /**
     * Revokes an API key: its connections, subscriptions and console sessions end at their next use.
     * Role: admin.
     * Errors: -32001 AuthenticationRequired, -32002 InsufficientPermissions, -32040 RateLimited, -32602 InvalidParams, -32603 InternalError.
     */
    revokeApiKey(params: RevokeApiKeyParams): Promise<RevokeApiKeyResult>;
}
