"""`vodgate worker`: the background loops with no listener, stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from gateway.domain.principals import Role
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import close_services, open_services


async def _stale_upload(data_dir: Path) -> str:
    """An incomplete upload whose deadline has passed: the expiry sweeper's work."""
    services = await open_services(Settings(data_dir=data_dir))
    try:
        now = services.clock.now()
        tenant_id, _ = await services.tenants.create("t", Role.UPLOADER, now)
        upload = await services.uploads.create(
            upload_id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            length=10,
            metadata={},
            licence_id=None,
            now=now - dt.timedelta(days=2),
            expires_at=now - dt.timedelta(days=1),
            actor="test",
        )
        await services.staging.create(upload.id)
    finally:
        await close_services(services)
    return upload.id


def _state(data_dir: Path, upload_id: str) -> str:
    with sqlite3.connect(data_dir / "vodgate.db") as db:
        (state,) = db.execute("SELECT state FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    return str(state)


def test_worker_does_background_work_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    upload_id = asyncio.run(_stale_upload(data_dir))
    assert _state(data_dir, upload_id) == "receiving"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    staged = data_dir / "staging" / f"{upload_id}.bin"

    def swept() -> bool:  # expired, then its staged bytes destroyed
        return _state(data_dir, upload_id) == "expired" and not staged.exists()

    deadline = time.monotonic() + 30
    while not swept() and time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()
        time.sleep(0.1)
    assert swept(), log.read_text()  # the expiry sweeper ran in the worker
    assert "worker.ready" in log.read_text()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, log.read_text()
    text = log.read_text()
    assert "supervisor.stopped" in text
    assert "Traceback" not in text
