"""Errors the client raises.

`RpcError` is an error response of the API (its `code`, `message` and `data` as sent);
`_generated.py` has one subclass per documented code (`CameraNotFoundError`,
`InsufficientPermissionsError`, ...) with `data` typed.
"""

from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """An error response of the API."""

    code_value: int | None = None
    """The code a subclass stands for (None on the base class)."""

    code: int
    message: str
    data: Any
    method: str | None

    def __init__(self, code: int, message: str, data: Any = None, method: str | None = None) -> None:
        prefix = f"{method}: " if method else ""
        super().__init__(f"{prefix}{message} ({code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @property
    def reason(self) -> str | None:
        """`data.reason` when the server gave one (`invalid_token`, `capture_limit`, ...)."""
        if isinstance(self.data, dict):
            reason = self.data.get("reason")
            if isinstance(reason, str):
                return reason
        return None


class ClientConnectionError(ConnectionError):
    """The connection closed (or could not be opened) before the call was answered."""

    def __init__(self, message: str, close_code: int | None = None) -> None:
        super().__init__(message)
        self.close_code = close_code


class RequestTimeoutError(TimeoutError):
    """No answer within the call's timeout."""
