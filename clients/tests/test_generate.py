"""The generator's own tests: names, schema → type mapping in both languages, --check."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CLIENTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CLIENTS))

import generate  # noqa: E402

FIXTURE = CLIENTS / "tests" / "fixtures" / "mini-openrpc.json"


def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENTS / "generate.py"), *args], capture_output=True, text=True, check=False
    )


def test_names_follow_each_language() -> None:
    assert generate.camel("get_camera_list") == "getCameraList"
    assert generate.camel("rpc.discover") == "rpcDiscover"
    assert generate.pascal("camera_status_update") == "CameraStatusUpdate"
    assert generate.pascal("Camera not found") == "CameraNotFound"
    assert generate.pascal("Option_for_String") == "OptionForString"
    assert generate.snake("rpc.discover") == "rpc_discover"
    assert generate.snake("class") == "class_"


def test_typescript_types_follow_the_schemas() -> None:
    ts = generate.render_ts(generate.load_model(fixture()))
    assert "export interface Camera {" in ts
    assert "  fps: number | null;" in ts, "a nullable type array is a union with null"
    assert '  status: "CONNECTED" | "DISCONNECTED" | "ERROR";' in ts, "oneOf of consts is a literal union"
    assert "  class?: string;" in ts, "a property not required is optional"
    assert "    [key: string]: string;" in ts, "additionalProperties is an index signature"
    assert "  cameras: Camera[];" in ts, "a $ref is the component's name"
    assert 'export type Role = "viewer" | "operator" | "admin";' in ts
    assert ts.count("export type Role") == 1, "a component named Role is not declared twice"
    assert "  quality?: number | null;" in ts
    assert "  format?: \"jpg\" | \"png\";" in ts


def test_typescript_methods_errors_and_notifications() -> None:
    ts = generate.render_ts(generate.load_model(fixture()))
    assert "  takeSnapshot(params: TakeSnapshotParams): Promise<TakeSnapshotResult> {" in ts
    assert '    return this.request("take_snapshot", params);' in ts
    assert "  getCameraList(): Promise<GetCameraListResult> {" in ts
    assert "  rpcDiscover(): Promise<RpcDiscoverResult> {" in ts
    assert "authenticate(" not in ts and "subscribeEvents(" not in ts, "hand-written methods are not generated"
    assert "export type AuthenticateResult = AuthResult;" in ts, "their types are"
    assert 'take_snapshot: { minRole: "operator", params: ["device", "format", "quality", "filename"], errors: [-32000, -32002] },' in ts
    assert "  CameraNotFound: -32000," in ts
    decl = ts[ts.index("export class CameraNotFoundError") :].split("static readonly code")[0]
    assert "| CameraNotFoundData>" in decl and "reason: string;" in decl, "x-error-data shapes of one code are a union"
    assert "export class AuthenticationRequiredError extends RpcError<AuthErrorData> {" in ts
    assert "  [-32001]: AuthenticationRequiredError," in ts
    assert '  "snapshot.taken": SnapshotEvent;' in ts
    assert "export type Topic = keyof TopicMap;" in ts
    assert "export type ApiEvent = TopicMap[Topic];" in ts, "subscription_ended (no topic) is no ApiEvent"
    assert '  "snapshot.taken": { notification: "snapshot_update", minRole: "operator" },' in ts
    assert "export type SnapshotUpdateEvent = SnapshotEvent;" in ts
    assert "  subscription_ended: SubscriptionEndedEvent;" in ts


def _import_generated(tmp_path: Path) -> Any:
    pkg = tmp_path / "gen_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(CLIENTS / "python" / "camera_service_client" / "errors.py", pkg / "errors.py")
    (pkg / "_generated.py").write_text(generate.render_py(generate.load_model(fixture())))
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module("gen_pkg._generated")
    finally:
        sys.path.remove(str(tmp_path))


def test_python_module_imports_and_carries_the_tables(tmp_path: Path) -> None:
    gen = _import_generated(tmp_path)
    assert gen.METHODS["take_snapshot"].min_role == "operator"
    assert gen.METHODS["take_snapshot"].params == ("device", "format", "quality", "filename")
    assert gen.METHODS["ping"].min_role is None
    assert gen.ErrorCode.CAMERA_NOT_FOUND == -32000
    err = gen.ERROR_CLASSES[-32000](-32000, "Camera not found", {"device": "camera9", "available": []}, "x")
    assert isinstance(err, gen.CameraNotFoundError)
    assert err.data["device"] == "camera9"
    assert gen.TOPICS["camera.connected"] == ("camera_status_update", "viewer")
    assert gen.TOPICS["snapshot.taken"].min_role == "operator"
    assert "subscription_ended" not in {t.notification for t in gen.TOPICS.values()}
    assert gen.Camera.__required_keys__ == frozenset({"device", "status", "fps", "streams"})
    assert "class" in gen.Camera.__optional_keys__, "a keyword key uses the functional TypedDict form"
    assert gen.TakeSnapshotResult.__required_keys__ == frozenset({"device", "filename", "tier"})
    assert gen.TakeSnapshotResultSize.__required_keys__ == frozenset({"width", "height"}), "anonymous objects are named by place"
    assert not hasattr(gen.GeneratedMethods, "authenticate")


def test_python_methods_send_only_the_given_params(tmp_path: Path) -> None:
    import asyncio

    gen = _import_generated(tmp_path)
    sent: list[tuple[str, dict[str, Any]]] = []

    class Fake(gen.GeneratedMethods):  # type: ignore[misc, name-defined]
        async def _request(self, method: str, params: dict[str, Any]) -> Any:
            sent.append((method, params))
            return {"device": "camera0"}

    asyncio.run(Fake().take_snapshot("camera0", quality=50))
    asyncio.run(Fake().get_camera_list())
    assert sent == [("take_snapshot", {"device": "camera0", "quality": 50}), ("get_camera_list", {})]


def test_check_passes_on_current_files_and_names_stale_ones(tmp_path: Path) -> None:
    wrote = run_generator("--input", str(FIXTURE), "--root", str(tmp_path))
    assert wrote.returncode == 0, wrote.stderr
    ok = run_generator("--input", str(FIXTURE), "--root", str(tmp_path), "--check")
    assert ok.returncode == 0, ok.stderr
    ts = tmp_path / generate.TS_PATH
    ts.write_text(ts.read_text() + "// edited by hand\n")
    (tmp_path / generate.PY_PATH).unlink()
    stale = run_generator("--input", str(FIXTURE), "--root", str(tmp_path), "--check")
    assert stale.returncode == 1
    assert str(generate.TS_PATH) in stale.stderr
    assert str(generate.PY_PATH) in stale.stderr
    assert str(generate.DOC_PATH) not in stale.stderr, "an unchanged file is not named"


def test_a_document_change_makes_the_files_stale(tmp_path: Path) -> None:
    assert run_generator("--input", str(FIXTURE), "--root", str(tmp_path)).returncode == 0
    doc = fixture()
    doc["components"]["schemas"]["Camera"]["properties"]["serial"] = {"type": "string"}
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    stale = run_generator("--input", str(changed), "--root", str(tmp_path), "--check")
    assert stale.returncode == 1
    assert str(generate.TS_PATH) in stale.stderr and str(generate.PY_PATH) in stale.stderr


def test_a_broken_document_is_refused_with_a_reason(tmp_path: Path) -> None:
    doc = fixture()
    doc["components"]["schemas"]["CameraList"]["properties"]["cameras"]["items"] = {"$ref": "#/components/schemas/Nope"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = run_generator("--input", str(bad), "--root", str(tmp_path))
    assert r.returncode == 2
    assert "dangling $ref '#/components/schemas/Nope'" in r.stderr
    not_openrpc = tmp_path / "x.json"
    not_openrpc.write_text('{"swagger": "2.0"}')
    r = run_generator("--input", str(not_openrpc), "--root", str(tmp_path))
    assert r.returncode == 2 and "not an OpenRPC document" in r.stderr


def test_a_missing_binary_is_named() -> None:
    r = run_generator("--binary", "/nonexistent/camera-service", "--check")
    assert r.returncode == 2
    assert "/nonexistent/camera-service not found" in r.stderr


def test_the_committed_files_match_the_committed_document() -> None:
    r = run_generator("--input", str(CLIENTS / "openrpc.json"), "--root", str(CLIENTS.parent), "--check")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("schema,ts,py", [
    (True, "unknown", "Any"),
    ({"type": "array", "items": {"type": ["string", "null"]}}, "Array<string | null>", "list[str | None]"),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, "{\n  [key: string]: number;\n}", "dict[str, int]"),
    ({"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]}, "[number, number]", "tuple[float, float]"),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null", "str | None"),
    ({"enum": ["a", None]}, '"a" | null', 'Literal["a"] | None'),
    ({"enum": ["a.*", "b", "a.*"]}, '"a.*" | "b"', 'Literal["a.*", "b"]'),
])
def test_schema_shapes(schema: Any, ts: str, py: str) -> None:
    assert generate.TsTypes({}).expr(schema) == ts
    assert generate.PyTypes({}).expr(schema, "X") == py
