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
import { ConnectionError, RpcError, TimeoutError } from "./errors.js";
import { ERROR_CLASSES, GeneratedMethods, } from "./generated.js";
function deferred() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
    });
    promise.catch(() => undefined); // a failure nobody waits for is not an unhandled rejection
    return { promise, resolve, reject };
}
const AUTH_REQUIRED = -32001;
const RATE_LIMITED = -32040;
function makeError(code, message, data, method) {
    const Cls = ERROR_CLASSES[code] ?? RpcError;
    return new Cls(code, message, data, method);
}
/** A live `subscribe_events` subscription; it survives reconnects (it is subscribed again). */
export class Subscription {
    topics;
    filters;
    #client;
    #id = null;
    #listeners = new Set();
    #queues = new Set();
    #bufferSize;
    #end = null;
    #ended = deferred();
    /** @internal */
    constructor(client, topics, options) {
        this.#client = client;
        this.topics = [...topics];
        this.filters = options.filters;
        this.#bufferSize = options.bufferSize ?? 1024;
        if (options.onEvent)
            this.#listeners.add(options.onEvent);
    }
    /** The server's id for it now (`null` while reconnecting or after its end). */
    get id() {
        return this.#id;
    }
    /** Why it ended, or `null` while it runs. */
    get endReason() {
        return this.#end;
    }
    /** Resolves when it ends (unsubscribed, client closed, credential ended, ...). */
    get ended() {
        return this.#ended.promise;
    }
    /** Calls `listener` for every event; returns a function removing it. */
    on(listener) {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
    }
    /** Events as an async iterator; it finishes when the subscription ends. */
    [Symbol.asyncIterator]() {
        const queue = { items: [], wake: null };
        this.#queues.add(queue);
        const done = () => {
            this.#queues.delete(queue);
            return { value: undefined, done: true };
        };
        return {
            next: async () => {
                for (;;) {
                    const item = queue.items.shift();
                    if (item !== undefined)
                        return { value: item, done: false };
                    if (this.#end)
                        return done();
                    await new Promise((resolve) => {
                        queue.wake = resolve;
                    });
                    queue.wake = null;
                }
            },
            return: async () => done(),
        };
    }
    /** Ends it: tells the server (when connected) and finishes its iterators. */
    async unsubscribe() {
        if (this.#end)
            return;
        const id = this.#id;
        this._finish({ reason: "unsubscribed" });
        if (id !== null && this.#client.state === "open") {
            await this.#client.call("unsubscribe_events", { subscription: id });
        }
    }
    /** @internal */
    _bind(id) {
        this.#id = id;
    }
    /** @internal */
    _deliver(event, meta) {
        if (this.#end)
            return;
        for (const listener of this.#listeners) {
            try {
                listener(event, meta);
            }
            catch (error) {
                queueMicrotask(() => {
                    throw error;
                });
            }
        }
        for (const queue of this.#queues) {
            queue.items.push(event);
            if (queue.items.length > this.#bufferSize)
                queue.items.shift();
            queue.wake?.();
        }
    }
    /** @internal */
    _finish(end) {
        if (this.#end)
            return;
        this.#end = end;
        this.#client._forget(this);
        this.#id = null;
        for (const queue of this.#queues)
            queue.wake?.();
        this.#ended.resolve(end);
    }
}
/**
 * A connection to camera-service. `CameraServiceClient.connect(url, {token})` opens and
 * authenticates; every API method is a typed method (`getCameraList()`, `takeSnapshot({...})`).
 */
export class CameraServiceClient extends GeneratedMethods {
    url;
    #options;
    #credential;
    #WebSocket;
    #ws = null;
    #nextId = 1;
    #pending = new Map();
    #subscriptions = new Set();
    #byId = new Map();
    #state = "connecting";
    #ready = deferred();
    #stateListeners = new Set();
    #session = null;
    #reconnects = 0;
    #closing = false;
    #wakeSleep = null;
    #lastError;
    #refreshing = null;
    #early = [];
    constructor(url, options) {
        super();
        const credential = options.token ?? options.apiKey;
        if (credential === undefined)
            throw new TypeError("a token or an apiKey is required");
        const ws = options.WebSocket ?? globalThis.WebSocket;
        if (!ws) {
            throw new TypeError("no WebSocket in this runtime: use Node >= 22 (or --experimental-websocket on Node 20), or pass options.WebSocket");
        }
        this.url = url;
        this.#options = options;
        this.#credential = credential;
        this.#WebSocket = ws;
    }
    /** Opens the connection and authenticates; rejects when either fails (no retry here). */
    static async connect(url, options) {
        const client = new CameraServiceClient(url, options);
        try {
            await client.#establish();
        }
        catch (error) {
            client.#closing = true;
            client.#setState("closed", error);
            throw error;
        }
        return client;
    }
    get state() {
        return this.#state;
    }
    /** The result of the last successful `authenticate` (role, permissions, expiry). */
    get session() {
        return this.#session;
    }
    /** How many times the connection was re-established. */
    get reconnects() {
        return this.#reconnects;
    }
    /** Calls `listener` on every state change; returns a function removing it. */
    onStateChange(listener) {
        this.#stateListeners.add(listener);
        return () => this.#stateListeners.delete(listener);
    }
    /** Calls a method by name with typed params and result. */
    call(method, params) {
        return this.request(method, params);
    }
    /** Calls any method, typed or not (a method newer than this client, or deliberately bad params). */
    async callRaw(method, params) {
        await this.#whenOpen(method);
        try {
            return await this.#send(this.#ws, method, params);
        }
        catch (error) {
            // An expired JWT with a credential function: authenticate again with a fresh one, once.
            if (error instanceof RpcError && error.code === AUTH_REQUIRED && error.reason === "token_expired" && this.#refreshable()) {
                await this.#refresh();
                return this.#send(this.#ws, method, params);
            }
            throw error;
        }
    }
    async request(method, params) {
        return (await this.callRaw(method, params));
    }
    /**
     * Subscribes to events (`["camera.*"]`, `["snapshot.taken"]`, `["*"]`). The subscription is
     * made again after a reconnect; events published while the connection was down are lost.
     */
    async subscribe(topics, options = {}) {
        const sub = new Subscription(this, topics, options);
        await this.#whenOpen("subscribe_events");
        await this.#subscribeOn(this.#ws, sub);
        this.#subscriptions.add(sub);
        return sub;
    }
    /** Closes the connection for good: pending calls fail, subscriptions end. */
    async close() {
        if (this.#closing && this.#state === "closed")
            return;
        this.#closing = true;
        this.#wakeSleep?.();
        const ws = this.#ws;
        if (ws && ws.readyState !== ws.CLOSED) {
            const closed = new Promise((resolve) => {
                ws.addEventListener("close", () => resolve());
                setTimeout(resolve, 2000);
            });
            ws.close(1000, "client closing");
            await closed;
        }
        this.#shutdown({ reason: "client_closed" }, new ConnectionError("the client was closed"));
    }
    /** @internal */
    _forget(sub) {
        this.#subscriptions.delete(sub);
        for (const [id, s] of this.#byId)
            if (s === sub)
                this.#byId.delete(id);
    }
    // ---- internals
    #setState(state, error) {
        if (this.#state === state)
            return;
        this.#state = state;
        if (error)
            this.#lastError = error;
        for (const listener of this.#stateListeners)
            listener(state, error);
    }
    async #whenOpen(method) {
        if (this.#state === "open" && this.#ws)
            return;
        if (this.#state === "closed") {
            throw new ConnectionError(`${method}: the client is closed${this.#lastError ? ` (${this.#lastError.message})` : ""}`);
        }
        const timeout = this.#options.requestTimeoutMs ?? 30000;
        let timer;
        try {
            await Promise.race([
                this.#ready.promise,
                new Promise((_, reject) => {
                    timer = setTimeout(() => reject(new TimeoutError(`${method}: no connection within ${timeout} ms`)), timeout);
                }),
            ]);
        }
        finally {
            clearTimeout(timer);
        }
    }
    #send(ws, method, params) {
        const id = this.#nextId++;
        const timeout = this.#options.requestTimeoutMs ?? 30000;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                reject(new TimeoutError(`${method}: no answer within ${timeout} ms`));
            }, timeout);
            this.#pending.set(id, { method, resolve, reject, timer });
            const message = { jsonrpc: "2.0", id, method };
            if (params !== undefined)
                message.params = params;
            try {
                ws.send(JSON.stringify(message));
            }
            catch (error) {
                clearTimeout(timer);
                this.#pending.delete(id);
                reject(new ConnectionError(`${method}: ${error.message}`));
            }
        });
    }
    #refreshable() {
        return typeof this.#credential === "function";
    }
    /**
     * Authenticates the open connection again with a fresh credential and subscribes again the
     * subscriptions the server ended; concurrent callers share one refresh.
     */
    #refresh() {
        if (this.#refreshing)
            return this.#refreshing;
        const ws = this.#ws;
        if (!ws)
            return Promise.reject(new ConnectionError("not connected"));
        this.#refreshing = (async () => {
            try {
                this.#session = (await this.#send(ws, "authenticate", {
                    auth_token: await this.#credentialValue(),
                }));
                for (const sub of [...this.#subscriptions]) {
                    if (sub.id === null && !sub.endReason)
                        await this.#subscribeOn(ws, sub);
                }
            }
            finally {
                this.#refreshing = null;
            }
        })();
        return this.#refreshing;
    }
    async #credentialValue() {
        const c = this.#credential;
        return typeof c === "function" ? await c() : c;
    }
    #open() {
        return new Promise((resolve, reject) => {
            let ws;
            try {
                ws = new this.#WebSocket(this.url);
            }
            catch (error) {
                reject(new ConnectionError(`cannot connect to ${this.url}: ${error.message}`));
                return;
            }
            const fail = (event) => {
                const code = event.code;
                reject(new ConnectionError(`cannot connect to ${this.url}`, code));
            };
            ws.addEventListener("error", fail);
            ws.addEventListener("close", fail);
            ws.addEventListener("open", () => {
                ws.removeEventListener("error", fail);
                ws.removeEventListener("close", fail);
                resolve(ws);
            });
        });
    }
    /** Connects, authenticates and subscribes again what was subscribed; then the state is open. */
    async #establish() {
        const ws = await this.#open();
        ws.addEventListener("message", (event) => this.#onMessage(event));
        ws.addEventListener("close", (event) => this.#onClose(ws, event));
        this.#ws = ws;
        try {
            const session = (await this.#send(ws, "authenticate", {
                auth_token: await this.#credentialValue(),
            }));
            this.#session = session;
            for (const sub of [...this.#subscriptions]) {
                try {
                    await this.#subscribeOn(ws, sub);
                }
                catch (error) {
                    if (error instanceof RpcError) {
                        sub._finish({ reason: "resubscribe_failed", error });
                    }
                    else {
                        throw error;
                    }
                }
            }
        }
        catch (error) {
            this.#ws = null;
            ws.close(1000, "authentication failed");
            throw error;
        }
        if (this.#closing) {
            ws.close(1000, "client closing");
            return;
        }
        this.#setState("open");
        this.#ready.resolve();
    }
    async #subscribeOn(ws, sub) {
        const params = { topics: sub.topics };
        if (sub.filters !== undefined && sub.filters !== null)
            params.filters = sub.filters;
        const id = (await this.#send(ws, "subscribe_events", params));
        sub._bind(id);
        this.#byId.set(id, sub);
        const early = this.#early;
        this.#early = [];
        for (const m of early)
            this.#dispatch(m);
    }
    #onMessage(event) {
        let message;
        try {
            message = JSON.parse(String(event.data));
        }
        catch {
            return; // the server sends JSON only
        }
        for (const m of Array.isArray(message) ? message : [message])
            this.#dispatch(m);
    }
    #dispatch(m) {
        if (m === null || typeof m !== "object")
            return;
        if ("id" in m && m.id !== null && ("result" in m || "error" in m)) {
            const pending = this.#pending.get(m.id);
            if (!pending)
                return;
            this.#pending.delete(m.id);
            clearTimeout(pending.timer);
            if (m.error) {
                pending.reject(makeError(m.error.code, m.error.message, m.error.data, pending.method));
            }
            else {
                pending.resolve(m.result);
            }
            return;
        }
        if (typeof m.method === "string" && m.params && typeof m.params === "object") {
            const id = m.params.subscription;
            const sub = this.#byId.get(id);
            if (!sub) {
                // Its subscribe_events answer may be being handled: kept for #subscribeOn (the last 256).
                this.#early.push(m);
                if (this.#early.length > 256)
                    this.#early.shift();
                return;
            }
            if (m.method === "subscription_ended") {
                const r = (m.params.result ?? {});
                this.#byId.delete(id);
                sub._bind(null);
                if (r.reason === "token_expired" && this.#refreshable()) {
                    // A credential function gives a fresh one: authenticate again and subscribe again.
                    void this.#refresh().catch((error) => sub._finish({ reason: "token_expired", details: r.details, error }));
                }
                else {
                    sub._finish({ reason: r.reason ?? "ended", details: r.details });
                }
                return;
            }
            sub._deliver(m.params.result, { method: m.method, subscription: id });
        }
    }
    #failPending(error) {
        for (const [id, pending] of this.#pending) {
            clearTimeout(pending.timer);
            this.#pending.delete(id);
            pending.reject(error);
        }
    }
    #onClose(ws, event) {
        if (ws !== this.#ws && this.#ws !== null)
            return;
        const wasOpen = this.#state === "open" && ws === this.#ws;
        this.#ws = null;
        this.#byId.clear();
        this.#early = [];
        for (const sub of this.#subscriptions)
            sub._bind(null);
        const error = new ConnectionError(`connection closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`, event.code);
        this.#failPending(error);
        if (!wasOpen)
            return; // #establish failed: its caller decides
        if (this.#closing)
            return;
        if (this.#options.reconnect === false) {
            this.#shutdown({ reason: "connection_closed", error }, error);
            return;
        }
        void this.#reconnect();
    }
    async #reconnect() {
        const opts = typeof this.#options.reconnect === "object" ? this.#options.reconnect : {};
        const initial = opts.initialDelayMs ?? 250;
        const max = opts.maxDelayMs ?? 10000;
        const factor = opts.factor ?? 2;
        const attempts = opts.maxAttempts ?? Infinity;
        this.#ready = deferred();
        this.#setState("reconnecting");
        let lastError = new ConnectionError("connection lost");
        for (let attempt = 0; attempt < attempts && !this.#closing; attempt++) {
            let delay = Math.min(max, initial * factor ** attempt);
            delay *= 0.8 + Math.random() * 0.4; // spread the reconnects of many clients
            if (lastError instanceof RpcError && lastError.code === RATE_LIMITED) {
                const wait = lastError.data?.retry_after_ms;
                if (typeof wait === "number")
                    delay = Math.max(delay, wait);
            }
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, delay);
                this.#wakeSleep = () => {
                    clearTimeout(timer);
                    resolve();
                };
            });
            this.#wakeSleep = null;
            if (this.#closing)
                return;
            try {
                await this.#establish();
                this.#reconnects++;
                return;
            }
            catch (error) {
                lastError = error;
                if (error instanceof RpcError && error.code === AUTH_REQUIRED)
                    break; // the credential is refused: retrying will not help
            }
        }
        if (!this.#closing)
            this.#shutdown({ reason: "connection_closed", error: lastError }, lastError);
    }
    #shutdown(end, error) {
        this.#closing = true;
        this.#failPending(error);
        this.#ready.reject(error);
        for (const sub of [...this.#subscriptions])
            sub._finish(end);
        this.#setState("closed", error);
    }
}
/** Shorthand for `CameraServiceClient.connect(url, options)`. */
export function connect(url, options) {
    return CameraServiceClient.connect(url, options);
}
