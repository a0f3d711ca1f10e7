"""`vodgate worker`: background work with no listener, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def test_worker_runs_until_sigterm_and_exits_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--data-dir", str(tmp_path / "var")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while "worker.ready" not in log.read_text() and time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, log.read_text()
    assert (tmp_path / "var" / "vodgate.db").exists()
    assert "Traceback" not in log.read_text()
