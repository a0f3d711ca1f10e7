"""The scale-out deployment as operators run it: two `vodgate serve` and two `vodgate
worker` processes, each with its own data directory, on one PostgreSQL and one Ceph RGW.

A 100 MB upload is created on A and PATCHed alternately on A and B in 8 MiB chunks, with a
connection dropped half-way through one chunk; it completes with the right bytes, is
screened once and forwarded once, and both workers stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from gateway.runtime.settings import PROJECT_ROOT
from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import free_port, production_env
from tests.helpers import creation_headers, upload_id_of
from tests.media import colour_clip
from tests.models import TEST_POLICY, build_colour_model
from tests.postgres import asyncpg_dsn, create_database, drop_database
from tests.s3 import S3Server, new_bucket

MiB = 1024 * 1024
CHUNK = 8 * MiB


@dataclass
class Fleet:
    env: dict[str, str]
    root: Path
    processes: list[tuple[subprocess.Popen[bytes], Path]]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", *args,
             "--data-dir", str(self.root / "cli")],
            capture_output=True, text=True, timeout=60, check=False, env=self.env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, name: str, *args: str, **extra: str) -> Path:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway", *args, "--data-dir", str(self.root / name)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**self.env, **extra},
            )
        self.processes.append((process, log))
        return log


def _wait(predicate: object, what: str, timeout_s: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}:\n" + "\n".join(p.read_text()[-3000:] for p in logs))


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def _jobs(url: str, upload_id: str) -> list[tuple[str, str, int]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT stage, state, attempts FROM jobs WHERE upload_id = $1 ORDER BY id", upload_id
        )
    finally:
        await connection.close()
    return [(r["stage"], r["state"], r["attempts"]) for r in rows]


@pytest.fixture
def fleet(tmp_path: Path, s3_server: S3Server) -> Iterator[Fleet]:
    name = f"vodgate_e2e_{os.getpid()}_{int(time.time())}"
    url = asyncio.run(create_database(name))
    models, policies = tmp_path / "models", tmp_path / "policies"
    build_colour_model(models)
    policies.mkdir()
    shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(TEST_POLICY))
    destination = new_bucket()
    env = {
        **production_env(),
        "VODGATE_DATABASE_URL": url,
        "VODGATE_STAGING": "s3",
        "VODGATE_S3_STAGING_BUCKET": new_bucket(),
        "VODGATE_S3_PART_SIZE": str(8 * MiB),
        "VODGATE_MODELS_DIR": str(models),
        "VODGATE_POLICIES_DIR": str(policies),
        "VODGATE_OCR": "false",
        "VODGATE_RENDITIONS": "[120]",
        **{f"VODGATE_{k.upper()}": str(v) for k, v in s3_server.settings_for(destination).items()},
    }
    running = Fleet(env, tmp_path, [])
    yield running
    for process, _ in running.processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    asyncio.run(drop_database(name))


def _patch(url: str, upload_id: str, key: str, offset: int, body: bytes) -> int:
    """One PATCH, retried on 423 as tus clients do (a dropped PATCH's lock is freed a
    moment after its offset is recorded)."""
    headers = {
        "Authorization": f"Bearer {key}",
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(offset),
    }
    for _ in range(50):
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
        connection.request("PATCH", f"/files/{upload_id}", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 423:
            break
        time.sleep(0.2)
    return response.status


def _head(url: str, upload_id: str, key: str) -> int:
    request = urllib.request.Request(
        f"{url}/files/{upload_id}",
        method="HEAD",
        headers={"Authorization": f"Bearer {key}", "Tus-Resumable": "1.0.0"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.headers["Upload-Offset"])


def _drop_mid_body(url: str, upload_id: str, key: str, offset: int, body: bytes) -> None:
    """Send the headers and part of the body, then vanish (a phone losing its network)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PATCH /files/{upload_id} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {key}\r\nTus-Resumable: 1.0.0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[: len(body) // 2])
        time.sleep(0.5)


def test_an_upload_crosses_two_gateways_and_two_workers_screen_and_forward_it_once(
    fleet: Fleet, s3_server: S3Server, tmp_path: Path
) -> None:
    clip = colour_clip(tmp_path / "clip.mp4", 6)
    # 100 MB: a real clip, then a top-level `free` box (skipped by every MP4 reader).
    padding = 100 * 1000 * 1000 - clip.stat().st_size
    data = clip.read_bytes() + padding.to_bytes(4, "big") + b"free" + os.urandom(padding - 8)
    created = json.loads(fleet.cli("tenant", "create", "scale-media"))
    licence = ["--type", "avsp", "--number", LICENCE_NUMBER, "--holder", "Scale"]
    fleet.cli(
        "licence", "add", "--tenant", created["tenant_id"], *licence, "--valid-until", "2099-12-31"
    )
    key = created["api_key"]
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    gateway_logs = [
        fleet.start(
            name,
            "serve",
            "--port",
            url.rsplit(":", 1)[1],
            VODGATE_SCREENING_WORKERS="0",
            VODGATE_DELIVERY_WORKERS="0",
        )
        for name, url in zip(("a", "b"), urls, strict=True)
    ]
    worker_logs = [fleet.start(name, "worker") for name in ("w1", "w2")]
    logs = gateway_logs + worker_logs
    _wait(lambda: all(_ready(u) for u in urls), "gateways not ready", 60, logs)
    _wait(lambda: all("worker.ready" in p.read_text() for p in worker_logs), "workers", 60, logs)

    request = urllib.request.Request(
        f"{urls[0]}/files/", method="POST",
        headers={"Authorization": f"Bearer {key}", "Tus-Resumable": "1.0.0",
                 **creation_headers(len(data))},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        upload_id = upload_id_of(response.headers["Location"])

    offset, turn, dropped = 0, 0, False
    while offset < len(data):
        url = urls[turn % 2]
        chunk = data[offset : offset + CHUNK]
        if not dropped and offset >= len(data) // 2:
            _drop_mid_body(url, upload_id, key, offset, chunk)
            dropped = True
            # The bytes that arrived were kept: the other instance says where to go on.
            other, before = urls[(turn + 1) % 2], offset
            _wait(lambda: _head(other, upload_id, key) > before, "kept", 30, logs)  # noqa: B023
            offset = _head(other, upload_id, key)
            turn += 1
            continue
        assert _patch(url, upload_id, key, offset, chunk) == 204
        offset += len(chunk)
        turn += 1
    assert dropped

    def settled() -> bool:
        status = urllib.request.Request(
            f"{urls[1]}/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(status, timeout=10) as response:
            return json.loads(response.read())["state"] in {"delivered", "released"}

    _wait(settled, "the upload never reached delivery", 180, logs)
    jobs = asyncio.run(_jobs(fleet.env["VODGATE_DATABASE_URL"], upload_id))
    stages = [stage for stage, _, _ in jobs]
    assert stages.count("screening") == 1
    assert stages.count("forward") == 1
    assert all(state == "done" and attempts == 1 for _, state, attempts in jobs), jobs
    destination = fleet.env["VODGATE_S3_DESTINATION_BUCKET"]
    source = next(k for k in s3_server.keys(destination) if "/source." in k)
    stored = s3_server.client().get_object(Bucket=destination, Key=source)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
    assert s3_server.keys(fleet.env["VODGATE_S3_STAGING_BUCKET"]) == []

    for process, _ in fleet.processes:
        process.send_signal(signal.SIGTERM)
    for process, log in fleet.processes:
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


async def _outcomes(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        states = await connection.fetch("SELECT id, state FROM uploads")
        jobs = await connection.fetch("SELECT upload_id, stage, state FROM jobs")
        decisions = await connection.fetchval("SELECT count(*) FROM decisions")
    finally:
        await connection.close()
    return {
        "states": {r["id"]: r["state"] for r in states},
        "jobs": [(r["upload_id"], r["stage"], r["state"]) for r in jobs],
        "decisions": decisions,
    }


@pytest.mark.timeout(600)
def test_workers_killed_mid_screening_and_mid_forwarding_lose_nothing(
    fleet: Fleet, s3_server: S3Server, tmp_path: Path
) -> None:
    clip = colour_clip(tmp_path / "clip.mp4", 3).read_bytes()
    created = json.loads(fleet.cli("tenant", "create", "kill-media"))
    licence = ["--type", "avsp", "--number", LICENCE_NUMBER, "--valid-until", "2099-12-31"]
    fleet.cli("licence", "add", "--tenant", created["tenant_id"], *licence, "--holder", "K")
    key = created["api_key"]
    url = f"http://127.0.0.1:{free_port()}"
    logs = [fleet.start("a", "serve", "--port", url.rsplit(":", 1)[1],
                        VODGATE_SCREENING_WORKERS="0", VODGATE_DELIVERY_WORKERS="0")]  # fmt: skip
    _wait(lambda: _ready(url), "gateway not ready", 60, logs)
    ids = []
    for _ in range(50):  # distinct bytes: each is screened, not matched as a duplicate
        padding = os.urandom(1024)
        data = clip + (len(padding) + 8).to_bytes(4, "big") + b"free" + padding
        request = urllib.request.Request(
            f"{url}/files/", method="POST", data=data,
            headers={"Authorization": f"Bearer {key}", "Tus-Resumable": "1.0.0",
                     "Content-Type": "application/offset+octet-stream",
                     **creation_headers(len(data))},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            ids.append(upload_id_of(response.headers["Location"]))

    # Each dies (as from SIGKILL) at its first crash point: one mid-screening (decided,
    # nothing recorded), then one mid-forwarding (copied, not yet verified).
    short_lease = {"VODGATE_JOB_LEASE_S": "3"}
    for name, crash_point in (("w1", "screening.before_commit"), ("w2", "forward.after_copy")):
        log = fleet.start(name, "worker", VODGATE_FAILPOINTS=crash_point, **short_lease)
        process = fleet.processes[-1][0]
        _wait(lambda: process.poll() is not None, f"{name} never crashed", 120, [log])  # noqa: B023
        assert process.returncode == 70
        assert "failpoint.hit" in log.read_text()
    logs += [fleet.start(name, "worker", **short_lease) for name in ("w3", "w4")]

    database = fleet.env["VODGATE_DATABASE_URL"]

    def all_final() -> bool:
        states = asyncio.run(_outcomes(database))["states"]
        return all(states[i] in {"delivered", "released", "rejected", "failed"} for i in ids)

    _wait(all_final, "not every upload reached a final state", 300, logs)
    outcome = asyncio.run(_outcomes(database))
    assert {outcome["states"][i] for i in ids} <= {"delivered", "released"}
    assert outcome["decisions"] == 50  # each screened to completion once
    per_stage = [(u, stage) for u, stage, _ in outcome["jobs"]]
    assert len(per_stage) == len(set(per_stage))  # no stage of any upload queued twice
    assert all(state == "done" for _, _, state in outcome["jobs"])
    destination = fleet.env["VODGATE_S3_DESTINATION_BUCKET"]
    sources = [k for k in s3_server.keys(destination) if "/source." in k]
    assert sorted(k.split("/")[3] for k in sources) == sorted(ids)  # one each, none else
    assert s3_server.keys(fleet.env["VODGATE_S3_STAGING_BUCKET"]) == []
