"""The blockbuster fixture (conftest) fails gateway code that blocks the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from blockbuster import BlockingError

from gateway.adapters.storage.digests import file_digests


async def test_gateway_file_io_on_the_loop_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    await asyncio.to_thread(path.write_bytes, b"x" * 1024)
    with pytest.raises(BlockingError):
        file_digests(path, 5 * 1024 * 1024)  # blocking: must run in a thread
    digests = await asyncio.to_thread(file_digests, path, 5 * 1024 * 1024)
    assert digests.size == 1024
