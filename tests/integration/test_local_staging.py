"""The local staging store on a real directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.adapters.storage.local_staging import LocalStagingStore, _skip

UPLOAD = "a" * 32


async def test_writer_drops_unacknowledged_bytes_past_the_offset(tmp_path: Path) -> None:
    store = LocalStagingStore(tmp_path)
    await store.create(UPLOAD)
    first = await store.open_writer(UPLOAD, 0, None)
    await first.write([b"hello "])
    await first.commit([b"world"])  # the tail is written, then synced
    await first.close()
    # A crash after write but before the offset was recorded leaves 11 bytes for offset 6.
    second = await store.open_writer(UPLOAD, 6, "sha256")
    await second.write([b"there"])
    await second.commit([])
    await second.close()
    assert store.path(UPLOAD).read_bytes() == b"hello there"
    assert await store.size(UPLOAD) == 11


async def test_digest_and_rollback(tmp_path: Path) -> None:
    store = LocalStagingStore(tmp_path, fsync=False)
    writer = await store.open_writer(UPLOAD, 0, "md5")
    await writer.write([b"abc", b"def"])
    assert await writer.digest() == hashlib.md5(b"abcdef").digest()  # noqa: S324
    await writer.rollback()
    await writer.close()
    assert writer.written == 0
    assert store.path(UPLOAD).read_bytes() == b""


async def test_delete_and_ids_that_are_not_ours(tmp_path: Path) -> None:
    store = LocalStagingStore(tmp_path)
    await store.create(UPLOAD)
    await store.delete(UPLOAD)
    await store.delete(UPLOAD)  # twice is fine
    assert await store.size(UPLOAD) == 0
    for bad in ("../../etc/passwd", "A" * 32, "a" * 31):
        with pytest.raises(ValueError, match="not an upload id"):
            store.path(bad)


def test_skip_after_short_writes() -> None:
    buffers = [b"abc", b"de", b"fgh"]
    assert _skip(buffers, 0) == buffers
    assert _skip(buffers, 3) == [b"de", b"fgh"]
    assert _skip(buffers, 4) == [b"e", b"fgh"]
    assert _skip(buffers, 8) == []
