"""The Python client against the real camera-service binary (tests/service.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from camera_service_client import (
    API_VERSION,
    ERROR_CLASSES,
    CameraServiceClient,
    ClientConnectionError,
    ErrorCode,
    EventMeta,
    ReconnectPolicy,
    RpcError,
    connect,
)
from camera_service_client._generated import AuthenticationRequiredError, InsufficientPermissionsError
from service import TestService

T = TypeVar("T")
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.5)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def eventually(f: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not f():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)


def test_connects_with_a_jwt_and_lists_the_simulated_cameras(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("admin")) as cs:
            state: str = cs.state
            assert state == "open"
            assert cs.session is not None and cs.session["role"] == "admin"
            cameras = await cs.get_camera_list()
            assert [(c["device"], c["status"]) for c in cameras["cameras"]] == [
                ("camera0", "CONNECTED"),
                ("camera1", "CONNECTED"),
            ]
            assert cameras["total"] == 2
        assert cs.state == "closed"

    run(scenario())


def test_connects_with_an_api_key_and_gets_the_keys_role(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, api_key=service.api_key("viewer")) as cs:
            assert cs.session is not None
            assert cs.session["role"] == "viewer"
            assert cs.session["expires_at"] is None, "a key without expiry has expires_at None"
            status = await cs.get_camera_status("camera1")
            assert status["device"] == "camera1"

    run(scenario())


def test_a_refused_credential_raises_a_typed_authentication_error(service: TestService) -> None:
    async def scenario() -> None:
        with pytest.raises(AuthenticationRequiredError) as info:
            await connect(service.url, token="not-a-jwt", reconnect=False)
        assert info.value.code == -32001
        assert info.value.code == ErrorCode.AUTHENTICATION_REQUIRED
        assert info.value.method == "authenticate"
        assert isinstance(info.value.reason, str)

    run(scenario())


def test_the_served_document_is_the_one_the_client_was_generated_from(service: TestService) -> None:
    committed = json.loads((Path(__file__).resolve().parents[2] / "openrpc.json").read_text())

    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer")) as cs:
            served: dict[str, Any] = dict(await cs.rpc_discover())
            assert served["servers"][0]["url"] == service.url, "servers names the URL the client used"
            served.pop("servers")
            committed.pop("servers")
            assert served == committed, "regenerate the clients: clients/generate.py"
            assert served["info"]["version"] == API_VERSION

    run(scenario())


def test_takes_a_snapshot_and_the_file_is_there(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("operator")) as cs:
            shot = await cs.take_snapshot("camera0", format="png")
            assert shot["device"] == "camera0"
            assert shot["filename"].startswith("camera0_") and shot["filename"].endswith(".png")
            assert shot["file_size"] > 0
            assert (service.dir / "snapshots" / shot["filename"]).is_file()

    run(scenario())


def test_subscribes_and_receives_an_event_by_callback_and_iterator(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("operator")) as cs:
            seen: list[tuple[Any, EventMeta]] = []
            sub = await cs.subscribe(["snapshot.taken"], on_event=lambda e, m: seen.append((e, m)))
            assert isinstance(sub.id, int)
            waiting = asyncio.ensure_future(sub.next_event(10))
            await asyncio.sleep(0)  # the iterator is listening before the snapshot
            shot = await cs.take_snapshot("camera1")
            event = await waiting
            assert event["topic"] == "snapshot.taken"
            assert event["filename"] == shot["filename"]
            await eventually(lambda: bool(seen), 5, "the callback")
            assert seen[0][0]["filename"] == shot["filename"]
            assert seen[0][1].method == "snapshot_update"
            assert seen[0][1].subscription == sub.id
            await sub.unsubscribe()
            assert sub.end_reason is not None and sub.end_reason.reason == "unsubscribed"
            assert [e async for e in sub] == [], "an ended subscription's iterator finishes"

    run(scenario())


def test_a_plugged_camera_arrives_as_camera_connected(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer")) as cs:
            sub = await cs.subscribe(["camera.*"], filters={"device": "camera5"})
            events = aiter(sub)
            first = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0)
            service.plug_sim(5, "Plugged Five")
            event = await asyncio.wait_for(first, 10)
            assert event["topic"] == "camera.connected"
            assert event["device"] == "camera5"
            service.unplug_sim(5)
            gone = await asyncio.wait_for(anext(events), 10)
            assert gone["topic"] == "camera.disconnected"
            await sub.unsubscribe()

    run(scenario())


def test_a_bad_param_is_a_typed_invalid_params_error_naming_it(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer")) as cs:
            with pytest.raises(RpcError) as info:
                await cs.get_camera_status("not-a-camera")
            assert info.value.code == -32602
            if -32602 in ERROR_CLASSES:
                assert isinstance(info.value, ERROR_CLASSES[-32602])
            assert "device" in json.dumps(info.value.data)

    run(scenario())


def test_an_unknown_camera_is_camera_not_found_with_the_available_ones(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer")) as cs:
            with pytest.raises(RpcError) as info:
                await cs.get_camera_status("camera9")
            assert info.value.code == -32000
            assert isinstance(info.value, ERROR_CLASSES[-32000])
            available = info.value.data["available"]
            assert "camera0" in available and "camera1" in available and "camera9" not in available

    run(scenario())


def test_a_method_above_the_role_is_a_typed_permission_error(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer")) as cs:
            with pytest.raises(InsufficientPermissionsError) as info:
                await cs.take_snapshot("camera0")
            assert info.value.code == ErrorCode.INSUFFICIENT_PERMISSIONS
            assert info.value.data["required_role"] == "operator"
            assert info.value.data["role"] == "viewer"

    run(scenario())


def test_close_ends_subscriptions_and_later_calls_fail(service: TestService) -> None:
    async def scenario() -> None:
        cs = await connect(service.url, token=service.token("viewer"))
        sub = await cs.subscribe(["camera.*"])
        await cs.close()
        assert cs.state == "closed"
        assert (await sub.wait_ended()).reason == "client_closed"
        assert [e async for e in sub] == []
        with pytest.raises(ClientConnectionError):
            await cs.get_camera_list()

    run(scenario())


def test_an_expired_token_ends_its_subscriptions_with_token_expired(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer", "2s")) as cs:
            sub = await cs.subscribe(["camera.*"])
            end = await asyncio.wait_for(sub.wait_ended(), 8)
            assert end.reason == "token_expired"
            assert [e async for e in sub] == []
            with pytest.raises(RpcError) as info:
                await cs.get_camera_list()
            assert info.value.code == -32001 and info.value.reason == "token_expired"

    run(scenario())


def test_a_revoked_api_key_ends_its_subscriptions_with_key_revoked(service: TestService) -> None:
    key = service.api_key("viewer")

    async def scenario() -> None:
        async with connect(service.url, api_key=lambda: key) as cs:
            sub = await cs.subscribe(["camera.*"])
            await asyncio.to_thread(service.revoke_key, key)
            service.plug_sim(8)  # the service checks the key before it delivers the next event
            end = await asyncio.wait_for(sub.wait_ended(), 8)
            assert end.reason == "key_revoked", "a revoked key is not renewed"
            with pytest.raises(RpcError) as info:
                await cs.get_camera_list()
            assert info.value.code == -32001 and info.value.reason == "key_revoked"

    run(scenario())


def test_with_a_credential_function_an_expired_token_is_renewed(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=lambda: service.token("viewer", "2s")) as cs:
            first = cs.session
            sub = await cs.subscribe(["camera.*"], filters={"device": "camera6"})
            await eventually(lambda: cs.session is not first and sub.id is not None, 8, "renewed and subscribed again")
            assert sub.end_reason is None
            waiting = asyncio.ensure_future(sub.next_event(10))
            await asyncio.sleep(0)
            service.plug_sim(6)
            event = await waiting
            assert event["topic"] == "camera.connected"
            assert event["device"] == "camera6"
            await asyncio.sleep(2.5)  # expired again: the call renews it
            service.unplug_sim(6)
            cameras = (await cs.get_camera_list())["cameras"]
            assert "camera6" in [c["device"] for c in cameras]

    run(scenario())


def test_the_readme_example_runs(service: TestService) -> None:
    """The README's five lines, as written (the URL and `jwt` filled in), in a process."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S)
    assert example, "the README has a python example"
    code = example.group(1).replace("ws://127.0.0.1:8002/ws", service.url)
    first, rest = code.split("\n", 1)
    program = (
        f"import asyncio\n{first}\njwt = {service.token('operator')!r}\n"
        f"async def main() -> None:\n{textwrap.indent(rest, '    ')}\nasyncio.run(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        # Camera 9 comes and goes until the example, subscribed after its snapshot, prints it.
        deadline = time.monotonic() + 30
        plugged = False
        while not any(ln.startswith("camera.connected ") and "camera9" in ln for ln in seen):
            assert time.monotonic() < deadline, "no camera9 event from the example:\n" + "".join(seen)
            assert proc.poll() is None or not lines.empty(), "the example ended:\n" + "".join(seen)
            if plugged:
                service.unplug_sim(9)
            else:
                service.plug_sim(9)
            plugged = not plugged
            with contextlib.suppress(queue.Empty):
                while True:
                    seen.append(lines.get(timeout=0.3))
        assert "'device': 'camera0'" in seen[0], "it printed the cameras first"
    finally:
        proc.kill()
        proc.wait()
        with contextlib.suppress(FileNotFoundError):
            service.unplug_sim(9)


# The last two restart the service.


def test_after_a_server_restart_it_reconnects_reauthenticates_and_resubscribes(service: TestService) -> None:
    async def scenario() -> None:
        by_token = await connect(service.url, token=lambda: service.token("admin"), reconnect=FAST)
        by_key = await connect(service.url, api_key=service.api_key("viewer"), reconnect=FAST)
        states: list[str] = []
        by_token.on_state_change(lambda s, _e: states.append(s))
        sub = await by_token.subscribe(["camera.*"])
        key_sub = await by_key.subscribe(["camera.connected"])
        events, key_events = aiter(sub), aiter(key_sub)
        try:
            await asyncio.to_thread(service.restart)
            await eventually(lambda: by_token.state == "open" and by_token.reconnects == 1, 15, "the token client back")
            await eventually(lambda: by_key.state == "open" and by_key.reconnects == 1, 15, "the key client back")
            assert states == ["reconnecting", "open"]
            assert by_token.session is not None and by_token.session["role"] == "admin"
            assert by_key.session is not None and by_key.session["role"] == "viewer"
            assert isinstance(sub.id, int), "subscribed again"
            assert sub.end_reason is None

            assert "camera1" in [c["device"] for c in (await by_key.get_camera_list())["cameras"]]
            first = asyncio.ensure_future(anext(events))
            key_first = asyncio.ensure_future(anext(key_events))
            await asyncio.sleep(0)
            service.plug_sim(7)
            event = await asyncio.wait_for(first, 10)
            assert event["topic"] == "camera.connected"
            assert event["device"] == "camera7"
            key_event = await asyncio.wait_for(key_first, 10)
            assert key_event["topic"] == "camera.connected"
            assert key_event["device"] == "camera7"
        finally:
            await by_token.close()
            await by_key.close()

    run(scenario())


def test_a_call_made_while_the_server_is_down_is_answered_after_the_reconnect(service: TestService) -> None:
    async def scenario() -> None:
        async with connect(service.url, token=service.token("viewer"), reconnect=FAST) as cs:
            await asyncio.to_thread(service.stop)
            await eventually(lambda: cs.state == "reconnecting", 5, "the client to notice")
            pending = asyncio.ensure_future(cs.get_server_info())
            await asyncio.to_thread(service.restart)
            info = await pending
            assert isinstance(info["version"], str)
            assert cs.reconnects == 1

    run(scenario())


# Last: it stops the service for good.
def test_with_the_server_gone_it_gives_up_and_close_ends_a_reconnect_at_once(service: TestService) -> None:
    async def scenario() -> None:
        giving = await connect(
            service.url,
            token=service.token("viewer"),
            reconnect=ReconnectPolicy(initial_delay=0.02, max_delay=0.04, max_attempts=3),
        )
        forever = await connect(service.url, token=service.token("viewer"), reconnect=ReconnectPolicy(0.02, 0.04))
        sub = await giving.subscribe(["camera.*"])
        await asyncio.to_thread(service.stop)
        end = await asyncio.wait_for(sub.wait_ended(), 10)
        assert end.reason == "connection_closed"
        assert giving.state == "closed"
        with pytest.raises(ClientConnectionError):
            await giving.get_camera_list()
        await eventually(lambda: forever.state == "reconnecting", 5, "reconnecting")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await forever.close()
        assert forever.state == "closed"
        assert loop.time() - started < 2, "close does not wait for the reconnects"

    run(scenario())


def test_a_credential_is_required() -> None:
    with pytest.raises(TypeError):
        run(CameraServiceClient.connect("ws://127.0.0.1:1/ws"))

