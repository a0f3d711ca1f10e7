"""Staged uploads as files in a local directory, written with positional I/O off the loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from gateway.domain.errors import StagingUnavailable, UploadOnOtherInstance

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
# Linux refuses pwritev with more buffers than IOV_MAX.
_IOV_MAX = 1024
_ELSEWHERE = (
    "this upload's earlier bytes are staged on another gateway instance: resume it there "
    "(a deployment with VODGATE_STAGING=s3 takes any instance)"
)
P = ParamSpec("P")
T = TypeVar("T")


class LocalStagingStore:
    def __init__(self, directory: Path, *, fsync: bool = True) -> None:
        self._directory = directory
        self._fsync = fsync

    def path(self, upload_id: str) -> Path:
        # Ids come from our own uuid4().hex; refuse anything else before it touches a path.
        if not _UPLOAD_ID.match(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self._directory / f"{upload_id}.bin"

    async def prepare(self) -> None:
        await asyncio.to_thread(self._directory.mkdir, parents=True, exist_ok=True)

    async def create(self, upload_id: str) -> str | None:
        path = self.path(upload_id)

        def _create() -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            if self._fsync:
                _sync_directory(path.parent)

        await _io(_create)
        return None

    async def open_writer(
        self, upload_id: str, offset: int, checksum_algorithm: str | None, state: str | None
    ) -> LocalStagedWriter:
        hasher = hashlib.new(checksum_algorithm) if checksum_algorithm else None
        return LocalStagedWriter(self.path(upload_id), offset, hasher, fsync=self._fsync)

    async def staged(self) -> list[tuple[str, dt.datetime]]:
        def scan() -> list[tuple[str, dt.datetime]]:
            found = []
            for path in self._directory.glob("*.bin"):
                with contextlib.suppress(FileNotFoundError):
                    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
                    found.append((path.stem, modified))
            return [(upload_id, at) for upload_id, at in found if _UPLOAD_ID.match(upload_id)]

        return await asyncio.to_thread(scan)

    async def delete(self, upload_id: str) -> None:
        await asyncio.to_thread(self.path(upload_id).unlink, missing_ok=True)


class LocalStagedWriter:
    """Writes from `start` on. The file is opened on first use, in the same worker-thread hop
    as the first write, so a small body costs two hops: write, then commit."""

    def __init__(
        self, path: Path, start: int, hasher: hashlib._Hash | None, *, fsync: bool
    ) -> None:
        self._path = path
        self._start = start
        self._hasher = hasher
        self._fsync = fsync
        self._fd: int | None = None
        self._created = False  # a new file's directory entry needs its own sync
        self._written = 0
        self._durable = 0  # bytes of `_written` a checkpoint made durable (kept on rollback)

    @property
    def written(self) -> int:
        return self._written

    @property
    def state(self) -> str | None:
        return None

    def _open(self) -> int:
        if self._fd is None:
            if self._start == 0:
                try:
                    self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    self._created = True
                except FileExistsError:
                    self._fd = os.open(self._path, os.O_WRONLY, 0o600)
            else:
                self._fd = self._open_prefix()
            # Bytes past the acknowledged offset were never acknowledged (a crash between
            # write and commit): drop them so the file always equals the recorded offset.
            os.ftruncate(self._fd, self._start)
        return self._fd

    def _open_prefix(self) -> int:
        """The file holding the bytes before `start`. Never created here: a missing or short
        file means those bytes are on another instance's disk, and bytes written after a
        hole would be acknowledged and then lost."""
        try:
            fd = os.open(self._path, os.O_WRONLY, 0o600)
        except FileNotFoundError:
            raise UploadOnOtherInstance(_ELSEWHERE) from None
        if os.fstat(fd).st_size < self._start:
            os.close(fd)
            raise UploadOnOtherInstance(_ELSEWHERE)
        return fd

    def _write_now(self, chunks: list[bytes]) -> None:
        """Hash and write at the current position (worker thread)."""
        fd = self._open()
        if self._hasher is not None:
            for chunk in chunks:
                self._hasher.update(chunk)
        position = self._start + self._written
        total = 0
        buffers = chunks
        while buffers:
            done = os.pwritev(fd, buffers[:_IOV_MAX], position + total)
            total += done
            buffers = _skip(buffers, done)
        self._written += total

    async def write(self, chunks: list[bytes]) -> None:
        await _io(self._write_now, chunks)

    async def digest(self) -> bytes | None:
        return None if self._hasher is None else self._hasher.digest()

    def _sync(self) -> None:
        fd = self._open()
        if self._fsync:
            os.fdatasync(fd)
            if self._created:
                _sync_directory(self._path.parent)
                self._created = False

    async def commit(self, tail: list[bytes]) -> None:
        def _commit() -> None:
            if tail:
                self._write_now(tail)
            self._sync()

        await _io(_commit)

    async def checkpoint(self) -> None:
        await _io(self._sync)
        self._durable = self._written

    async def rollback(self) -> None:
        if self._fd is not None:
            await _io(os.ftruncate, self._fd, self._start + self._durable)
        self._written = self._durable

    async def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # no IO wait: the data was synced (or abandoned) already
            self._fd = None


def _sync_directory(directory: Path) -> None:
    """fsync a directory, so a file created in it survives a power cut with its data."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _skip(buffers: list[bytes], count: int) -> list[bytes]:
    """The buffers left after a short write of `count` bytes."""
    while buffers and count >= len(buffers[0]):
        count -= len(buffers[0])
        buffers = buffers[1:]
    if buffers and count:
        buffers = [buffers[0][count:], *buffers[1:]]
    return buffers


async def _io(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except OSError as exc:
        raise StagingUnavailable("the staging store could not be written") from exc
