/**
 * The camera-service client: one WebSocket, JSON-RPC 2.0, authentication with a JWT or an API
 * key, reconnects with backoff (authenticating again and re-subscribing), events as callbacks
 * or async iterators. Typed methods come from `GeneratedMethods` (generated.ts); this file is
 * the hand-written transport. No dependency beyond the platform's `WebSocket`.
 *
 * One file on purpose: `Subscription` and `CameraServiceClient` work on each other's state
 * (server ids, delivery, the end of a subscription) through members kept out of the public
 * types (`@internal`), which a split into modules would have to export.
 */
import { GeneratedMethods, type ApiEvent, type AuthenticateResult, type MethodMap, type MethodName, type SubscribeEventsParams, type Topic, type TopicMap } from "./generated.js";
/** A credential, or a function giving one at each (re)connect (e.g. to mint a fresh JWT). */
export type Credential = string | (() => string | Promise<string>);
/** A topic by name, a group wildcard (`camera.*`) or `*`. */
export type TopicPattern = Topic | "*" | `${string}.*`;
/** The events a topic pattern delivers: `EventOf<"camera.*">` is every camera event's type. */
export type EventOf<P extends TopicPattern> = P extends "*" ? ApiEvent : P extends Topic ? TopicMap[P] : P extends `${infer G}.*` ? TopicMap[Extract<Topic, `${G}.${string}`>] : never;
export interface ReconnectOptions {
    /** First wait after a lost connection (ms, default 250). */
    initialDelayMs?: number;
    /** Longest wait between attempts (ms, default 10000). */
    maxDelayMs?: number;
    /** Growth of the wait per failed attempt (default 2). */
    factor?: number;
    /** Attempts before giving up (default: never give up). */
    maxAttempts?: number;
}
/** The subset of the platform's `WebSocket` constructor the client uses. */
export type WebSocketConstructor = new (url: string) => WebSocket;
export interface ClientOptions {
    /** A JWT (`camera-service token ...`). */
    token?: Credential;
    /** An API key (`csk_...`, `camera-service keys add ...`). */
    apiKey?: Credential;
    /** Reconnect after a lost connection (default true). */
    reconnect?: boolean | ReconnectOptions;
    /** How long a call waits for its answer, including a wait for a reconnect (ms, default 30000). */
    requestTimeoutMs?: number;
    /** The WebSocket implementation (default: `globalThis.WebSocket`). */
    WebSocket?: WebSocketConstructor;
}
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";
/** Why a subscription ended. */
export interface SubscriptionEnd {
    /**
     * `unsubscribed`, `client_closed`, `connection_closed` (no reconnect), `resubscribe_failed`,
     * or the server's reason (`token_expired`, `key_revoked`).
     */
    reason: string;
    details?: unknown;
    error?: Error;
}
/** Where an event came from. */
export interface EventMeta {
    /** The notification method (`camera_status_update`, ...). */
    method: string;
    /** The server's subscription id (it changes after a reconnect). */
    subscription: number;
}
export interface SubscribeOptions<E> {
    /** Deliver only the events of this camera (`{device: "camera0"}`). */
    filters?: SubscribeEventsParams["filters"];
    /** A callback for every event (more with `subscription.on`). */
    onEvent?: (event: E, meta: EventMeta) => void;
    /** Events kept for an async iterator that is not being read (default 1024; the oldest go). */
    bufferSize?: number;
}
/** A live `subscribe_events` subscription; it survives reconnects (it is subscribed again). */
export declare class Subscription<E = ApiEvent> implements AsyncIterable<E> {
    #private;
    readonly topics: readonly TopicPattern[];
    readonly filters: SubscribeEventsParams["filters"];
    /** The server's id for it now (`null` while reconnecting or after its end). */
    get id(): number | null;
    /** Why it ended, or `null` while it runs. */
    get endReason(): SubscriptionEnd | null;
    /** Resolves when it ends (unsubscribed, client closed, credential ended, ...). */
    get ended(): Promise<SubscriptionEnd>;
    /** Calls `listener` for every event; returns a function removing it. */
    on(listener: (event: E, meta: EventMeta) => void): () => void;
    /** Events as an async iterator; it finishes when the subscription ends. */
    [Symbol.asyncIterator](): AsyncIterator<E>;
    /** Ends it: tells the server (when connected) and finishes its iterators. */
    unsubscribe(): Promise<void>;
}
/**
 * A connection to camera-service. `CameraServiceClient.connect(url, {token})` opens and
 * authenticates; every API method is a typed method (`getCameraList()`, `takeSnapshot({...})`).
 */
export declare class CameraServiceClient extends GeneratedMethods {
    #private;
    readonly url: string;
    private constructor();
    /** Opens the connection and authenticates; rejects when either fails (no retry here). */
    static connect(url: string, options: ClientOptions): Promise<CameraServiceClient>;
    get state(): ConnectionState;
    /** The result of the last successful `authenticate` (role, permissions, expiry). */
    get session(): AuthenticateResult | null;
    /** How many times the connection was re-established. */
    get reconnects(): number;
    /** Calls `listener` on every state change; returns a function removing it. */
    onStateChange(listener: (state: ConnectionState, error?: Error) => void): () => void;
    /** Calls a method by name with typed params and result. */
    call<M extends MethodName>(method: M, params?: MethodMap[M]["params"]): Promise<MethodMap[M]["result"]>;
    /** Calls any method, typed or not (a method newer than this client, or deliberately bad params). */
    callRaw(method: string, params?: unknown): Promise<unknown>;
    protected request<M extends MethodName>(method: M, params?: MethodMap[M]["params"]): Promise<MethodMap[M]["result"]>;
    /**
     * Subscribes to events (`["camera.*"]`, `["snapshot.taken"]`, `["*"]`). The subscription is
     * made again after a reconnect; events published while the connection was down are lost.
     */
    subscribe<P extends TopicPattern>(topics: readonly P[], options?: SubscribeOptions<EventOf<P>>): Promise<Subscription<EventOf<P>>>;
    /** Closes the connection for good: pending calls fail, subscriptions end. */
    close(): Promise<void>;
}
/** Shorthand for `CameraServiceClient.connect(url, options)`. */
export declare function connect(url: string, options: ClientOptions): Promise<CameraServiceClient>;
