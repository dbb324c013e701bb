"""Starts the real camera-service binary for the tests: 127.0.0.1, an ephemeral port, two
simulated cameras, direct media, state in a temp dir. `restart()` starts it again on the same
port with the same state (keys, secret), as a service restart would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TEST_SECRET = "test-secret-test-secret-test-secret-0123456789"


def binary() -> Path:
    """The binary under test: $CAMERA_SERVICE_BIN or target/debug/camera-service."""
    env = os.environ.get("CAMERA_SERVICE_BIN")
    if env:
        return Path(env)
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "camera-service"


class TestService:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cs-client-py-"))
        (self.dir / "sim").mkdir()
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.logs: list[str] = []
        self._spawn()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def config_path(self) -> Path:
        return self.dir / "config.yaml"

    def _write_config(self) -> None:
        d = self.dir
        self.config_path.write_text(
            f"""server: {{host: 127.0.0.1, port: {self.port}, public_host: camera.test}}
auth:
  jwt_secret: {TEST_SECRET}
  jwt_secret_file: {d}/jwt-secret
  keys_file: {d}/api-keys.json
camera:
  simulated_dir: {d}/sim
storage:
  recordings_dir: {d}/recordings
  snapshots_dir: {d}/snapshots
  state_dir: {d}/state
  min_free_bytes: 1048576
media: {{mode: direct}}
logging: {{level: info, format: json, audit_file: {d}/audit.log}}
"""
        )

    def _spawn(self) -> None:
        self._write_config()
        env = dict(os.environ)
        env.pop("CAMERA_SERVICE_BIN", None)  # the tests' own variable, kept from the service
        proc = subprocess.Popen(
            [str(binary()), "--config", str(self.config_path), "serve"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.proc = proc
        found = threading.Event()
        addr: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.logs.append(line.rstrip("\n"))
                try:
                    v = json.loads(line)
                except ValueError:
                    continue
                if isinstance(v, dict) and v.get("msg") == "listening":
                    addr.append(str(v["addr"]))
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(20) or not addr:
            self.stop()
            raise RuntimeError("the service did not start:\n" + "\n".join(self.logs))
        self.port = int(addr[0].rsplit(":", 1)[1])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        """Stops it and starts it again on the same port with the same state."""
        self.stop()
        for attempt in range(20):
            try:
                self._spawn()
                return
            except RuntimeError:
                if attempt == 19:
                    raise
                time.sleep(0.1)  # the port may linger for a moment

    def dispose(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _cli(self, *args: str) -> str:
        out = subprocess.run(
            [str(binary()), "--config", str(self.config_path), *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def token(self, role: str, lifetime: str = "1h") -> str:
        """A JWT from `camera-service token`."""
        return self._cli("token", "--role", role, "--lifetime", lifetime, "--user", "client-test")

    def api_key(self, role: str) -> str:
        """A new API key from `camera-service keys add`."""
        return self._cli("keys", "add", "--role", role, "--label", "client-test")

    def revoke_key(self, key: str) -> None:
        """Revokes an API key (`csk_<id>_<secret>`) with `camera-service keys revoke`."""
        self._cli("keys", "revoke", key.split("_")[1])

    def plug_sim(self, index: int, name: str | None = None) -> None:
        tmp = self.dir / "sim" / f".camera{index}.tmp"
        tmp.write_text(f"index: {index}\nname: {name or f'Plugged {index}'}\n")
        tmp.rename(self.dir / "sim" / f"camera{index}.yaml")

    def unplug_sim(self, index: int) -> None:
        (self.dir / "sim" / f"camera{index}.yaml").unlink()
