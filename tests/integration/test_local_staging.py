"""The local staging store on a real directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.adapters.storage.local_staging import LocalStagingStore, _skip
from gateway.domain.errors import UploadOnOtherInstance

UPLOAD = "a" * 32


async def test_writer_drops_unacknowledged_bytes_past_the_offset(tmp_path: Path) -> None:
    store = LocalStagingStore(tmp_path)
    await store.create(UPLOAD)
    first = await store.open_writer(UPLOAD, 0, None, None)
    await first.write([b"hello "])
    await first.commit([b"world"])  # the tail is written, then synced
    await first.close()
    # A crash after write but before the offset was recorded leaves 11 bytes for offset 6.
    second = await store.open_writer(UPLOAD, 6, "sha256", None)
    await second.write([b"there"])
    await second.commit([])
    await second.close()
    assert store.path(UPLOAD).read_bytes() == b"hello there"


async def test_a_writer_never_appends_after_a_missing_prefix(tmp_path: Path) -> None:
    """Bytes at offset 6 of a file this node does not hold (another instance staged the
    first 6) are refused, never written after a hole and acknowledged."""
    store = LocalStagingStore(tmp_path, fsync=False)
    writer = await store.open_writer(UPLOAD, 6, None, None)
    with pytest.raises(UploadOnOtherInstance):
        await writer.write([b"second half"])
    await writer.close()
    assert not store.path(UPLOAD).exists()
    await store.create(UPLOAD)  # here, but shorter than the offset
    short = await store.open_writer(UPLOAD, 6, None, None)
    with pytest.raises(UploadOnOtherInstance):
        await short.commit([b"second half"])
    await short.close()
    assert store.path(UPLOAD).read_bytes() == b""


async def test_digest_and_rollback(tmp_path: Path) -> None:
    store = LocalStagingStore(tmp_path, fsync=False)
    writer = await store.open_writer(UPLOAD, 0, "md5", None)
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
    assert not store.path(UPLOAD).exists()
    for bad in ("../../etc/passwd", "A" * 32, "a" * 31):
        with pytest.raises(ValueError, match="not an upload id"):
            store.path(bad)


def test_skip_after_short_writes() -> None:
    buffers = [b"abc", b"de", b"fgh"]
    assert _skip(buffers, 0) == buffers
    assert _skip(buffers, 3) == [b"de", b"fgh"]
    assert _skip(buffers, 4) == [b"e", b"fgh"]
    assert _skip(buffers, 8) == []
