import { RpcError } from "./errors.js";
/** The API version the document describes. */
export declare const API_VERSION = "0.0.0-test";
export interface AuthResult {
    authenticated: boolean;
    role: Role;
    expires_at: string | null;
    session_id: string;
}
export type Role = "viewer" | "operator" | "admin";
export interface AuthErrorData {
    reason: string;
    details?: string;
}
export interface CameraNotFoundData {
    device: string;
    available: string[];
}
/** A camera as listed. */
export interface Camera {
    device: string;
    status: "CONNECTED" | "DISCONNECTED" | "ERROR";
    fps: number | null;
    class?: string;
    streams: {
        [key: string]: string;
    };
}
export interface CameraList {
    cameras: Camera[];
    total: number;
    connected: number;
}
export interface EventFilters {
    device?: string;
}
export interface CameraEvent {
    topic: "camera.connected" | "camera.disconnected" | "camera.status_change";
    timestamp: string;
    device: string;
    dropped?: number;
}
export interface SnapshotEvent {
    topic: "snapshot.taken";
    timestamp: string;
    filename: string;
}
/** `ping` takes no params. */
export type PingParams = Record<string, never>;
/** Result of `ping`. */
export type PingResult = "pong";
/** Params of `authenticate`. */
export interface AuthenticateParams {
    auth_token: string;
}
/** Result of `authenticate`. */
export type AuthenticateResult = AuthResult;
/** `get_camera_list` takes no params. */
export type GetCameraListParams = Record<string, never>;
/** Result of `get_camera_list`. */
export type GetCameraListResult = CameraList;
/** Params of `take_snapshot`. */
export interface TakeSnapshotParams {
    device: string;
    format?: "jpg" | "png";
    quality?: number | null;
    filename?: string;
}
/** Result of `take_snapshot`. */
export type TakeSnapshotResult = {
    device: string;
    filename: string;
    tier: number;
    size?: {
        width: number;
        height: number;
    };
};
/** Params of `subscribe_events`. */
export interface SubscribeEventsParams {
    topics: string[];
    filters?: EventFilters | null;
}
/** Result of `subscribe_events`. */
export type SubscribeEventsResult = number;
/** Params of `unsubscribe_events`. */
export interface UnsubscribeEventsParams {
    subscription: number;
}
/** Result of `unsubscribe_events`. */
export type UnsubscribeEventsResult = boolean;
/** `rpc.discover` takes no params. */
export type RpcDiscoverParams = Record<string, never>;
/** Result of `rpc.discover`. */
export type RpcDiscoverResult = unknown;
/** Every method with its params and result. */
export interface MethodMap {
    ping: {
        params: PingParams;
        result: PingResult;
    };
    authenticate: {
        params: AuthenticateParams;
        result: AuthenticateResult;
    };
    get_camera_list: {
        params: GetCameraListParams;
        result: GetCameraListResult;
    };
    take_snapshot: {
        params: TakeSnapshotParams;
        result: TakeSnapshotResult;
    };
    subscribe_events: {
        params: SubscribeEventsParams;
        result: SubscribeEventsResult;
    };
    unsubscribe_events: {
        params: UnsubscribeEventsParams;
        result: UnsubscribeEventsResult;
    };
    "rpc.discover": {
        params: RpcDiscoverParams;
        result: RpcDiscoverResult;
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
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** -32000 Camera not found. */
export declare class CameraNotFoundError extends RpcError<{
    reason: string;
} | CameraNotFoundData> {
    static readonly code = -32000;
}
/** -32001 Authentication required. */
export declare class AuthenticationRequiredError extends RpcError<AuthErrorData> {
    static readonly code = -32001;
}
/** -32002 Insufficient permissions. */
export declare class InsufficientPermissionsError extends RpcError<unknown> {
    static readonly code = -32002;
}
/** The error class for each code; other codes are plain `RpcError`s. */
export declare const ERROR_CLASSES: {
    readonly [code: number]: typeof RpcError<any>;
};
/** An event of camera.connected, camera.disconnected, camera.status_change. */
export type CameraStatusUpdateEvent = CameraEvent;
/** Payload (`params.result`) of `snapshot_update`. */
export type SnapshotUpdateEvent = SnapshotEvent;
/** Payload (`params.result`) of `subscription_ended`. */
export type SubscriptionEndedEvent = {
    reason: string;
};
/** Each notification method's payload (`params.result`). */
export interface NotificationMap {
    camera_status_update: CameraStatusUpdateEvent;
    snapshot_update: SnapshotUpdateEvent;
    subscription_ended: SubscriptionEndedEvent;
}
export type NotificationMethod = keyof NotificationMap;
/** Each topic's event. */
export interface TopicMap {
    "camera.connected": CameraEvent;
    "camera.disconnected": CameraEvent;
    "camera.status_change": CameraEvent;
    "snapshot.taken": SnapshotEvent;
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
    /** Role: none (before authentication too). */
    ping(): Promise<PingResult>;
    /**
     * Role: viewer.
     * Errors: -32001 AuthenticationRequired, -32000 CameraNotFound.
     */
    getCameraList(): Promise<GetCameraListResult>;
    /**
     * Role: operator.
     * Errors: -32000 CameraNotFound, -32002 InsufficientPermissions.
     */
    takeSnapshot(params: TakeSnapshotParams): Promise<TakeSnapshotResult>;
    /** Role: none (before authentication too). */
    rpcDiscover(): Promise<RpcDiscoverResult>;
}
