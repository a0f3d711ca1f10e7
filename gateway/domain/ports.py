"""Ports: the interfaces adapters implement. Pure typing; no IO here."""

from __future__ import annotations

import datetime as dt
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
