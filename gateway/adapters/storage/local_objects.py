"""LocalObjectStore: the embedded default destination, a directory under the data dir.

Objects are written to a temporary name, fsynced and renamed, so a reader (or a crash) never
sees half an object. The ETag is the MD5 of the bytes, computed when asked (head reads the
file back: that is the verification)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath

from gateway.adapters.storage.digests import READ_BYTES, file_digests, s3_etag
from gateway.domain.errors import StorageUnavailable
from gateway.domain.ports.storage import FileDigests, StoredObject


class LocalObjectStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def part_size(self) -> int:
        return 1 << 62  # never multipart

    async def prepare(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def ready(self) -> None:
        writable = await asyncio.to_thread(os.access, self.root, os.W_OK | os.X_OK)
        if not writable:
            raise StorageUnavailable(f"the directory {self.root} is missing or not writable")

    def presign(self, key: str, expires_s: int) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self._lexical(key)

    def _lexical(self, key: str) -> Path:
        """The key under the root, checked without touching the disk (usable on the loop)."""
        parts = PurePosixPath(key).parts
        if not parts or PurePosixPath(key).is_absolute() or ".." in parts:
            raise ValueError(f"key {key!r} leaves the store")
        return self.root.joinpath(*parts)

    def path(self, key: str) -> Path:
        """The key's file, symlinks resolved and checked (blocking: in a worker thread)."""
        # Keys are built by gateway.domain.object_keys; this is a second line of defence.
        target = self._lexical(key).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} leaves the store")
        return target

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._put, key, path)

    def _put(self, key: str, source: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        with source.open("rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, READ_BYTES)
            dst.flush()
            os.fsync(dst.fileno())
        partial.replace(target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    async def head(self, key: str) -> StoredObject | None:
        return await asyncio.to_thread(self._head, key)

    def _head(self, key: str) -> StoredObject | None:
        target = self.path(key)
        if not target.is_file():
            return None
        md5 = hashlib.md5()  # noqa: S324 - the ETag scheme, not security
        with target.open("rb") as file:
            while chunk := file.read(READ_BYTES):
                md5.update(chunk)
        return StoredObject(key, target.stat().st_size, md5.hexdigest())

    def expected_etag(self, size: int, part_md5s: list[bytes], whole_md5: bytes) -> str:
        return s3_etag(part_md5s, whole_md5, multipart=False)

    async def digest_file(self, path: Path) -> FileDigests:
        return await asyncio.to_thread(file_digests, path, self.part_size)

    async def copy_from(self, key: str, source_bucket: str, source_key: str) -> None:
        raise NotImplementedError("a server-side copy needs S3 on both sides (staging = s3)")

    async def download(self, key: str, path: Path) -> None:
        await asyncio.to_thread(lambda: shutil.copyfile(self.path(key), path))

    async def delete(self, key: str) -> None:
        def unlink() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path(key).unlink()

        await asyncio.to_thread(unlink)

    async def list_keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = (
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        return sorted(k for k in keys if k.startswith(prefix))
