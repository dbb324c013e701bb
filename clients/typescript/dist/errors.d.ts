/**
 * Errors the client raises. `RpcError` is an error response of the API (its `code`, `message`
 * and `data` as sent); `generated.ts` has one subclass per documented code
 * (`CameraNotFoundError`, `InsufficientPermissionsError`, ...) with `data` typed.
 */
/** An error response of the API. */
export declare class RpcError<D = unknown> extends Error {
    /** The JSON-RPC error code (see `ErrorCode`). */
    readonly code: number;
    /** The error's `data` (`reason`, `details` and context such as `available`). */
    readonly data: D;
    /** The method whose call failed. */
    readonly method: string | undefined;
    constructor(code: number, message: string, data: D, method?: string);
    /** `data.reason` when the server gave one (`invalid_token`, `capture_limit`, ...). */
    get reason(): string | undefined;
}
/** The connection closed (or could not be opened) before the call was answered. */
export declare class ConnectionError extends Error {
    /** The WebSocket close code, when there was a close. */
    readonly closeCode: number | undefined;
    constructor(message: string, closeCode?: number);
}
/** No answer within the call's timeout. */
export declare class TimeoutError extends Error {
    constructor(message: string);
}
