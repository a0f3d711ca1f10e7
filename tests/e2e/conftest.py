"""E2E fixtures: `vodgate serve` as a child process, set up with the `vodgate` CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import LICENCE_NUMBER

STARTUP_TIMEOUT_S = 30.0


def production_env() -> dict[str, str]:
    """The environment without what tests/conftest.py sets for in-process tests only."""
    return {k: v for k, v in os.environ.items() if k != "VODGATE_MIN_PATCH_BYTES"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def vodgate(*args: str, data_dir: Path) -> str:
    """Run the CLI to completion; return its stdout."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "--log-level",
            "WARNING",
            *args,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Gateway:
    data_dir: Path
    port: int
    tenant_id: str
    api_key: str
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None)
    # Ingest tests keep uploads at `received`; screening tests turn workers on.
    env: dict[str, str] = field(default_factory=lambda: {"VODGATE_SCREENING_WORKERS": "0"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Tus-Resumable": "1.0.0"}

    def start(self, may_exit_with: int | None = None) -> None:
        """Start and wait until /healthz answers; `may_exit_with`: a process armed to die at
        a failpoint may reach it (work left from before) before it answers."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**production_env(), **self.env},
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if may_exit_with is not None and self.process.poll() == may_exit_with:
                return
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gateway did not start:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None

    def head_offset(self, upload_url: str) -> int:
        request = urllib.request.Request(upload_url, method="HEAD", headers=self.auth)
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.headers["Upload-Offset"])

    def status(self, upload_id: str) -> dict[str, object]:
        request = urllib.request.Request(f"{self.url}/v1/uploads/{upload_id}", headers=self.auth)
        with urllib.request.urlopen(request, timeout=5) as resp:
            body: dict[str, object] = json.loads(resp.read())
            return body

    def fetch(self, path: str, api_key: str | None = None) -> tuple[int, str, bytes]:
        """GET a path with a key (this gateway's by default): status, content type, body."""
        key = self.api_key if api_key is None else api_key
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, resp.headers["Content-Type"], resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read()

    def staged(self, upload_id: str) -> bytes:
        return (self.data_dir / "staging" / f"{upload_id}.bin").read_bytes()


def provision_tenant(data_dir: Path, name: str) -> dict[str, str]:
    """A tenant with a valid avsp licence, made with the CLI as an operator would."""
    created: dict[str, str] = json.loads(vodgate("tenant", "create", name, data_dir=data_dir))
    vodgate(
        "licence",
        "add",
        "--tenant",
        created["tenant_id"],
        "--type",
        "avsp",
        "--number",
        LICENCE_NUMBER,
        "--holder",
        name,
        "--valid-until",
        "2099-12-31",
        data_dir=data_dir,
    )
    return created


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    data_dir = tmp_path / "var"
    created = provision_tenant(data_dir, "e2e-media")
    gw = Gateway(
        data_dir, free_port(), created["tenant_id"], created["api_key"], tmp_path / "gateway.log"
    )
    gw.start()
    yield gw
    gw.stop()
    assert "Traceback" not in gw.log.read_text(), gw.log.read_text()


@pytest.fixture
def random_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    return path


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
