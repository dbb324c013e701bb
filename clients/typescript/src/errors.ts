/**
 * Errors the client raises. `RpcError` is an error response of the API (its `code`, `message`
 * and `data` as sent); `generated.ts` has one subclass per documented code
 * (`CameraNotFoundError`, `InsufficientPermissionsError`, ...) with `data` typed.
 */

/** An error response of the API. */
export class RpcError<D = unknown> extends Error {
  /** The JSON-RPC error code (see `ErrorCode`). */
  readonly code: number;
  /** The error's `data` (`reason`, `details` and context such as `available`). */
  readonly data: D;
  /** The method whose call failed. */
  readonly method: string | undefined;

  constructor(code: number, message: string, data: D, method?: string) {
    super(method ? `${method}: ${message} (${code})` : `${message} (${code})`);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
    this.method = method;
  }

  /** `data.reason` when the server gave one (`invalid_token`, `capture_limit`, ...). */
  get reason(): string | undefined {
    const d = this.data as { reason?: unknown } | null | undefined;
    return typeof d?.reason === "string" ? d.reason : undefined;
  }
}

/** The connection closed (or could not be opened) before the call was answered. */
export class ConnectionError extends Error {
  /** The WebSocket close code, when there was a close. */
  readonly closeCode: number | undefined;

  constructor(message: string, closeCode?: number) {
    super(message);
    this.name = "ConnectionError";
    this.closeCode = closeCode;
  }
}

/** No answer within the call's timeout. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}
