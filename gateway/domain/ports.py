"""Ports: the interfaces adapters implement. Pure typing; no IO here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class StagedWriter(Protocol):
    """Appends bytes to one staged upload from a fixed starting offset."""

    @property
    def written(self) -> int:
        """Bytes written since the writer was opened."""
        ...

    async def write(self, chunks: list[bytes]) -> None: ...

    async def digest(self) -> bytes | None:
        """Digest over the bytes written so far, when a checksum algorithm was asked for."""
        ...

    async def commit(self, tail: list[bytes]) -> None:
        """Write `tail`, then make every written byte durable; only then may its offset be
        acknowledged."""
        ...

    async def rollback(self) -> None:
        """Discard every byte written through this writer."""
        ...

    async def close(self) -> None: ...


class StagingStore(Protocol):
    """Where received bytes wait for screening (a local directory, later an S3 bucket)."""

    async def create(self, upload_id: str) -> None: ...

    async def open_writer(
        self, upload_id: str, offset: int, checksum_algorithm: str | None
    ) -> StagedWriter: ...

    async def size(self, upload_id: str) -> int: ...

    async def delete(self, upload_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What an object store says it holds under a key (ETag without quotes)."""

    key: str
    size: int
    etag: str


class ObjectStore(Protocol):
    """Where approved videos and delivered renditions live (a local directory or S3)."""

    name: str

    async def prepare(self) -> None:
        """Create the bucket or directory if it is missing."""
        ...

    async def put_file(self, key: str, path: Path) -> None: ...

    async def head(self, key: str) -> StoredObject | None: ...

    def expected_etag(self, size: int, part_md5s: list[bytes], whole_md5: bytes) -> str:
        """The ETag this store gives an object with these part (and whole) MD5s."""
        ...

    @property
    def part_size(self) -> int:
        """Bytes per multipart part (files above this go multipart)."""
        ...

    async def copy_from(self, key: str, source_bucket: str, source_key: str) -> None:
        """Server-side copy from another bucket of the same store."""
        ...

    async def download(self, key: str, path: Path) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list_keys(self, prefix: str) -> list[str]: ...
