"""The camera-service client: one WebSocket, JSON-RPC 2.0, authentication with a JWT or an API
key, reconnects with backoff (authenticating again and re-subscribing), events as callbacks or
async iterators.

Typed methods come from `GeneratedMethods` (`_generated.py`); this module is the hand-written
transport on the `websockets` library. One file of ~600 lines: connection, reconnect,
authentication and subscriptions share one object's state, as in client.ts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ._generated import ERROR_CLASSES, ApiEvent, AuthenticateResult, GeneratedMethods
from .errors import ClientConnectionError, RequestTimeoutError, RpcError

log = logging.getLogger("camera_service_client")

Credential = str | Callable[[], str | Awaitable[str]]
"""A credential, or a function giving one at each (re)connect (e.g. to mint a fresh JWT)."""

ConnectionState = Literal["connecting", "open", "reconnecting", "closed"]

AUTH_REQUIRED = -32001
RATE_LIMITED = -32040


@dataclass(frozen=True)
class ReconnectPolicy:
    """How to reconnect after a lost connection: waits grow from `initial_delay` by `factor`
    up to `max_delay` (seconds, with ±20 % jitter); `max_attempts` None never gives up."""

    initial_delay: float = 0.25
    max_delay: float = 10.0
    factor: float = 2.0
    max_attempts: int | None = None


@dataclass(frozen=True)
class SubscriptionEnd:
    """Why a subscription ended: `unsubscribed`, `client_closed`, `connection_closed` (no
    reconnect), `resubscribe_failed`, or the server's reason (`token_expired`, `key_revoked`)."""

    reason: str
    details: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class EventMeta:
    """Where an event came from: the notification method and the server's subscription id
    (which changes after a reconnect)."""

    method: str
    subscription: int


EventCallback = Callable[[ApiEvent, EventMeta], None]


def make_error(code: int, message: str, data: Any, method: str | None) -> RpcError:
    cls = ERROR_CLASSES.get(code, RpcError)
    return cls(code, message, data, method)


class _Queue:
    """Events waiting for one async iterator; the oldest go past `limit`."""

    def __init__(self, limit: int) -> None:
        self.items: deque[ApiEvent] = deque(maxlen=limit)
        self.wake = asyncio.Event()


class Subscription:
    """A live `subscribe_events` subscription; it survives reconnects (it is subscribed again).

    Events arrive through callbacks (`on_event=` or `on(...)`) and `async for event in sub`
    (each iterator gets every event; it finishes when the subscription ends).
    """

    def __init__(
        self,
        client: CameraServiceClient,
        topics: Sequence[str],
        filters: Mapping[str, Any] | None,
        buffer_size: int,
    ) -> None:
        self._client = client
        self.topics: tuple[str, ...] = tuple(topics)
        self.filters = dict(filters) if filters is not None else None
        self._id: int | None = None
        self._listeners: list[EventCallback] = []
        self._queues: set[_Queue] = set()
        self._buffer_size = buffer_size
        self._end: SubscriptionEnd | None = None
        self._ended = asyncio.Event()

    @property
    def id(self) -> int | None:
        """The server's id for it now (None while reconnecting or after its end)."""
        return self._id

    @property
    def end_reason(self) -> SubscriptionEnd | None:
        """Why it ended, or None while it runs."""
        return self._end

    async def wait_ended(self) -> SubscriptionEnd:
        """Waits for its end."""
        await self._ended.wait()
        assert self._end is not None, "the end is set before the event"
        return self._end

    def on(self, callback: EventCallback) -> Callable[[], None]:
        """Calls `callback(event, meta)` for every event; returns a function removing it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def __aiter__(self) -> AsyncIterator[ApiEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[ApiEvent, None]:
        queue = _Queue(self._buffer_size)
        self._queues.add(queue)
        try:
            while True:
                while queue.items:
                    yield queue.items.popleft()
                if self._end is not None:
                    return
                queue.wake.clear()
                await queue.wake.wait()
        finally:
            self._queues.discard(queue)

    async def next_event(self, timeout: float | None = None) -> ApiEvent:
        """The next event (from now on), waiting at most `timeout` seconds."""
        it = self._iterate()
        try:
            return await asyncio.wait_for(anext(it), timeout)
        except StopAsyncIteration:
            raise ClientConnectionError(f"the subscription ended ({self._end})") from None
        finally:
            await it.aclose()

    async def unsubscribe(self) -> None:
        """Ends it: tells the server (when connected) and finishes its iterators."""
        if self._end is not None:
            return
        sid = self._id
        self._finish(SubscriptionEnd("unsubscribed"))
        if sid is not None and self._client.state == "open":
            await self._client.call("unsubscribe_events", {"subscription": sid})

    def _bind(self, sid: int | None) -> None:
        self._id = sid

    def _deliver(self, event: ApiEvent, meta: EventMeta) -> None:
        if self._end is not None:
            return
        for callback in list(self._listeners):
            try:
                callback(event, meta)
            except Exception:
                log.exception("an event callback failed")
        for queue in self._queues:
            queue.items.append(event)
            queue.wake.set()

    def _finish(self, end: SubscriptionEnd) -> None:
        if self._end is not None:
            return
        self._end = end
        self._client._forget(self)
        self._id = None
        for queue in self._queues:
            queue.wake.set()
        self._ended.set()


class CameraServiceClient(GeneratedMethods):
    """A connection to camera-service.

    `await CameraServiceClient.connect(url, token=...)` (or `api_key=...`) opens and
    authenticates; every API method is a typed coroutine (`get_camera_list()`,
    `take_snapshot("camera0")`). Use it as an async context manager to close it.
    """

    def __init__(
        self,
        url: str,
        credential: Credential,
        reconnect: ReconnectPolicy | None,
        request_timeout: float,
    ) -> None:
        self.url = url
        self._credential = credential
        self._reconnect_policy = reconnect
        self._timeout = request_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 1
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._subscriptions: list[Subscription] = []
        self._by_id: dict[int, Subscription] = {}
        self._state: ConnectionState = "connecting"
        self._ready = asyncio.Event()
        self._state_listeners: list[Callable[[ConnectionState, BaseException | None], None]] = []
        self._session: AuthenticateResult | None = None
        self._reconnects = 0
        self._closing = False
        self._last_error: BaseException | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._wake_sleep = asyncio.Event()
        self._refreshing: asyncio.Future[None] | None = None
        # Notifications that came before their subscription's id was known (the last 256).
        self._early: deque[dict[str, Any]] = deque(maxlen=256)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        token: Credential | None = None,
        api_key: Credential | None = None,
        reconnect: bool | ReconnectPolicy = True,
        request_timeout: float = 30.0,
    ) -> CameraServiceClient:
        """Opens the connection and authenticates with a JWT (`token`) or an API key
        (`api_key`); raises when either fails (no retry here)."""
        credential = token if token is not None else api_key
        if credential is None:
            raise TypeError("a token or an api_key is required")
        policy = ReconnectPolicy() if reconnect is True else (reconnect or None)
        client = cls(url, credential, policy, request_timeout)
        try:
            await client._establish()
        except BaseException as e:
            client._closing = True
            client._set_state("closed", e)
            raise
        return client

    async def __aenter__(self) -> CameraServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def session(self) -> AuthenticateResult | None:
        """The result of the last successful `authenticate` (role, permissions, expiry)."""
        return self._session

    @property
    def reconnects(self) -> int:
        """How many times the connection was re-established."""
        return self._reconnects

    def on_state_change(
        self, callback: Callable[[ConnectionState, BaseException | None], None]
    ) -> Callable[[], None]:
        """Calls `callback(state, error)` on every state change; returns a function removing it."""
        self._state_listeners.append(callback)
        return lambda: self._state_listeners.remove(callback) if callback in self._state_listeners else None

    async def call(self, method: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
        """Calls any method by name (the typed methods call this)."""
        await self._when_open(method)
        assert self._ws is not None, "open means a socket"
        try:
            return await self._send(self._ws, method, params)
        except RpcError as e:
            # An expired JWT with a credential function: authenticate again with a fresh one, once.
            if not (e.code == AUTH_REQUIRED and e.reason == "token_expired" and self._refreshable()):
                raise
        await self._refresh()
        assert self._ws is not None, "a refresh needs a socket"
        return await self._send(self._ws, method, params)

    def _refreshable(self) -> bool:
        return not isinstance(self._credential, str)

    async def _refresh(self) -> None:
        """Authenticates the open connection again with a fresh credential and subscribes again
        the subscriptions the server ended; concurrent callers share one refresh."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._do_refresh())
        await asyncio.shield(self._refreshing)

    async def _do_refresh(self) -> None:
        ws = self._ws
        if ws is None:
            raise ClientConnectionError("not connected")
        session = await self._send(ws, "authenticate", {"auth_token": await self._credential_value()})
        self._session = cast(AuthenticateResult, session)
        for sub in list(self._subscriptions):
            if sub.id is None and sub.end_reason is None:
                await self._subscribe_on(ws, sub)

    async def _request(self, method: str, params: dict[str, Any]) -> Any:
        return await self.call(method, params)

    async def subscribe(
        self,
        topics: Sequence[str],
        *,
        filters: Mapping[str, Any] | None = None,
        on_event: EventCallback | None = None,
        buffer_size: int = 1024,
    ) -> Subscription:
        """Subscribes to events (`["camera.*"]`, `["snapshot.taken"]`, `["*"]`); `filters`
        such as `{"device": "camera0"}`. The subscription is made again after a reconnect;
        events published while the connection was down are lost."""
        sub = Subscription(self, topics, filters, buffer_size)
        if on_event is not None:
            sub.on(on_event)
        await self._when_open("subscribe_events")
        assert self._ws is not None, "open means a socket"
        await self._subscribe_on(self._ws, sub)
        self._subscriptions.append(sub)
        return sub

    async def close(self) -> None:
        """Closes the connection for good: pending calls fail, subscriptions end."""
        if self._closing and self._state == "closed":
            return
        self._closing = True
        self._wake_sleep.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "client closing"), 2.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._reconnect_task is not None and self._reconnect_task is not asyncio.current_task():
            self._reconnect_task.cancel()  # a connect in progress closes what it opened
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect_task
        self._shutdown(SubscriptionEnd("client_closed"), ClientConnectionError("the client was closed"))

    def _forget(self, sub: Subscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
        for sid in [k for k, v in self._by_id.items() if v is sub]:
            del self._by_id[sid]

    # ---- internals

    def _set_state(self, state: ConnectionState, error: BaseException | None = None) -> None:
        if self._state == state:
            return
        self._state = state
        if error is not None:
            self._last_error = error
        for callback in list(self._state_listeners):
            callback(state, error)

    async def _when_open(self, method: str) -> None:
        if self._state == "open" and self._ws is not None:
            return
        if self._state == "closed":
            why = f" ({self._last_error})" if self._last_error else ""
            raise ClientConnectionError(f"{method}: the client is closed{why}")
        try:
            await asyncio.wait_for(self._ready.wait(), self._timeout)
        except TimeoutError:
            raise RequestTimeoutError(f"{method}: no connection within {self._timeout} s") from None
        if self._state != "open":
            why = f" ({self._last_error})" if self._last_error else ""
            raise ClientConnectionError(f"{method}: the client is closed{why}")

    async def _send(self, ws: ClientConnection, method: str, params: Any) -> Any:
        rid = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (method, future)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await ws.send(json.dumps(message))
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            raise RequestTimeoutError(f"{method}: no answer within {self._timeout} s") from None
        except ConnectionClosed as e:
            raise ClientConnectionError(f"{method}: connection closed ({e})") from None
        finally:
            self._pending.pop(rid, None)

    async def _credential_value(self) -> str:
        c = self._credential
        if isinstance(c, str):
            return c
        value = c()
        return value if isinstance(value, str) else await value

    async def _establish(self) -> None:
        """Connects, authenticates and subscribes again what was subscribed; then open."""
        try:
            ws = await ws_connect(self.url, max_size=16 * 1024 * 1024, open_timeout=self._timeout)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as e:
            raise ClientConnectionError(f"cannot connect to {self.url}: {e}") from e
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws))
        try:
            session = await self._send(ws, "authenticate", {"auth_token": await self._credential_value()})
            self._session = cast(AuthenticateResult, session)
            for sub in list(self._subscriptions):
                try:
                    await self._subscribe_on(ws, sub)
                except RpcError as e:
                    sub._finish(SubscriptionEnd("resubscribe_failed", error=e))
        except BaseException:
            self._ws = None
            with contextlib.suppress(Exception):
                await ws.close(1000, "authentication failed")
            raise
        if self._closing:
            await ws.close(1000, "client closing")
            return
        self._set_state("open")
        self._ready.set()

    async def _subscribe_on(self, ws: ClientConnection, sub: Subscription) -> None:
        params: dict[str, Any] = {"topics": list(sub.topics)}
        if sub.filters is not None:
            params["filters"] = sub.filters
        sid = await self._send(ws, "subscribe_events", params)
        if not isinstance(sid, int):
            raise RpcError(-32603, f"subscribe_events answered {sid!r}, not an id", None, "subscribe_events")
        sub._bind(sid)
        self._by_id[sid] = sub
        early, self._early = self._early, deque(maxlen=256)
        for m in early:
            self._dispatch(m)

    async def _read(self, ws: ClientConnection) -> None:
        close_code: int | None = None
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue  # the server sends JSON only
                for m in message if isinstance(message, list) else [message]:
                    if isinstance(m, dict):
                        self._dispatch(m)
        except ConnectionClosed as e:
            close_code = e.rcvd.code if e.rcvd is not None else None
        finally:
            if close_code is None and ws.close_code is not None:
                close_code = ws.close_code
            self._on_close(ws, close_code)

    def _dispatch(self, m: dict[str, Any]) -> None:
        rid = m.get("id")
        if rid is not None and ("result" in m or "error" in m):
            pending = self._pending.get(rid) if isinstance(rid, int) else None
            if pending is None:
                return
            method, future = pending
            if future.done():
                return
            error = m.get("error")
            if isinstance(error, dict):
                future.set_exception(
                    make_error(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"), method)
                )
            else:
                future.set_result(m.get("result"))
            return
        name = m.get("method")
        params = m.get("params")
        if isinstance(name, str) and isinstance(params, dict):
            sid = params.get("subscription")
            sub = self._by_id.get(sid) if isinstance(sid, int) else None
            if sub is None:
                if isinstance(sid, int):
                    # Its subscribe_events answer may be being handled: kept for _subscribe_on.
                    self._early.append(m)
                return
            result = params.get("result")
            if name == "subscription_ended":
                r = result if isinstance(result, dict) else {}
                reason, details = str(r.get("reason", "ended")), r.get("details")
                self._by_id.pop(cast(int, sid), None)
                sub._bind(None)
                if reason == "token_expired" and self._refreshable():
                    # A credential function gives a fresh one: authenticate again, subscribe again.
                    def failed(t: asyncio.Future[None]) -> None:
                        if not t.cancelled() and t.exception() is not None:
                            sub._finish(SubscriptionEnd(reason, details, t.exception()))

                    asyncio.ensure_future(self._refresh()).add_done_callback(failed)
                else:
                    sub._finish(SubscriptionEnd(reason, details))
                return
            sub._deliver(cast(ApiEvent, result), EventMeta(name, cast(int, sid)))

    def _fail_pending(self, error: BaseException) -> None:
        for _method, future in list(self._pending.values()):
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    def _on_close(self, ws: ClientConnection, code: int | None) -> None:
        if self._ws is not ws and self._ws is not None:
            return
        was_open = self._state == "open" and self._ws is ws
        self._ws = None
        self._by_id.clear()
        self._early.clear()
        for sub in self._subscriptions:
            sub._bind(None)
        error = ClientConnectionError(f"connection closed ({code})", code)
        self._fail_pending(error)
        if not was_open or self._closing:
            return  # a failing _establish: its caller decides; or close() is running
        if self._reconnect_policy is None:
            self._shutdown(SubscriptionEnd("connection_closed", error=error), error)
            return
        self._ready = asyncio.Event()
        self._set_state("reconnecting")
        self._reconnect_task = asyncio.create_task(self._reconnect(self._reconnect_policy))

    async def _reconnect(self, policy: ReconnectPolicy) -> None:
        last: BaseException = ClientConnectionError("connection lost")
        attempt = 0
        while not self._closing and (policy.max_attempts is None or attempt < policy.max_attempts):
            delay = min(policy.max_delay, policy.initial_delay * policy.factor**attempt)
            delay *= 0.8 + random.random() * 0.4  # spread the reconnects of many clients
            if isinstance(last, RpcError) and last.code == RATE_LIMITED and isinstance(last.data, dict):
                wait_ms = last.data.get("retry_after_ms")
                if isinstance(wait_ms, (int, float)):
                    delay = max(delay, wait_ms / 1000)
            attempt += 1
            self._wake_sleep.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_sleep.wait(), delay)
            if self._closing:
                return
            try:
                await self._establish()
                self._reconnects += 1
                return
            except RpcError as e:
                last = e
                if e.code == AUTH_REQUIRED:
                    break  # the credential is refused: retrying will not help
            except Exception as e:  # noqa: BLE001 (any failure to connect is retried)
                last = e
        if not self._closing:
            self._shutdown(SubscriptionEnd("connection_closed", error=last), last)

    def _shutdown(self, end: SubscriptionEnd, error: BaseException) -> None:
        self._closing = True
        self._fail_pending(error)
        for sub in list(self._subscriptions):
            sub._finish(end)
        self._set_state("closed", error)
        self._ready.set()  # waiters wake and see the state


class Connecting:
    """What `connect()` returns: await it for the client, or use it as `async with connect(...)
    as client:` (closed at the end of the block)."""

    def __init__(self, opening: Callable[[], Awaitable[CameraServiceClient]]) -> None:
        self._opening = opening
        self._client: CameraServiceClient | None = None

    def __await__(self) -> Generator[Any, None, CameraServiceClient]:
        return self._open().__await__()

    async def _open(self) -> CameraServiceClient:
        return await self._opening()

    async def __aenter__(self) -> CameraServiceClient:
        self._client = await self._opening()
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()


def connect(
    url: str,
    *,
    token: Credential | None = None,
    api_key: Credential | None = None,
    reconnect: bool | ReconnectPolicy = True,
    request_timeout: float = 30.0,
) -> Connecting:
    """`CameraServiceClient.connect(url, ...)`, awaitable or as an async context manager."""
    return Connecting(
        lambda: CameraServiceClient.connect(
            url, token=token, api_key=api_key, reconnect=reconnect, request_timeout=request_timeout
        )
    )
