/**
 * Errors the client raises. `RpcError` is an error response of the API (its `code`, `message`
 * and `data` as sent); `generated.ts` has one subclass per documented code
 * (`CameraNotFoundError`, `InsufficientPermissionsError`, ...) with `data` typed.
 */
/** An error response of the API. */
export class RpcError extends Error {
    /** The JSON-RPC error code (see `ErrorCode`). */
    code;
    /** The error's `data` (`reason`, `details` and context such as `available`). */
    data;
    /** The method whose call failed. */
    method;
    constructor(code, message, data, method) {
        super(method ? `${method}: ${message} (${code})` : `${message} (${code})`);
        this.name = new.target.name;
        this.code = code;
        this.data = data;
        this.method = method;
    }
    /** `data.reason` when the server gave one (`invalid_token`, `capture_limit`, ...). */
    get reason() {
        const d = this.data;
        return typeof d?.reason === "string" ? d.reason : undefined;
    }
}
/** The connection closed (or could not be opened) before the call was answered. */
export class ConnectionError extends Error {
    /** The WebSocket close code, when there was a close. */
    closeCode;
    constructor(message, closeCode) {
        super(message);
        this.name = "ConnectionError";
        this.closeCode = closeCode;
    }
}
/** No answer within the call's timeout. */
export class TimeoutError extends Error {
    constructor(message) {
        super(message);
        this.name = "TimeoutError";
    }
}
