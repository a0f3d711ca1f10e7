"""Where screening, forwarding and review find an upload's bytes once it is complete.

    LocalStagedCopies   the embedded default: the staged file on this node's disk
    QuarantineCopies    staging = s3: the receiving node hands the file to a quarantine
                        bucket, and any worker on any node reads it from there

Screening needs a file for ffmpeg: `local_copy` yields one (downloaded for the quarantine,
removed afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.adapters.storage.local_staging import LocalStagingStore
from gateway.adapters.storage.s3_objects import S3ObjectStore
from gateway.domain.object_keys import quarantine_key

# How long a reviewer's presigned link to a quarantined video lives (seconds).
PRESIGN_S = 900


class LocalStagedCopies:
    def __init__(self, staging: LocalStagingStore) -> None:
        self._staging = staging

    def path(self, upload_id: str) -> Path:
        return self._staging.path(upload_id)

    @contextlib.asynccontextmanager
    async def local_copy(self, upload_id: str) -> AsyncIterator[Path]:
        yield self._staging.path(upload_id)

    async def exists(self, upload_id: str) -> bool:
        return await asyncio.to_thread(self._staging.path(upload_id).exists)

    async def drop(self, upload_id: str) -> None:
        await self._staging.delete(upload_id)

    def presign(self, upload_id: str) -> str | None:
        return None

    async def prepare(self) -> None:
        return None


class QuarantineCopies:
    def __init__(self, store: S3ObjectStore, staging: LocalStagingStore, work_dir: Path) -> None:
        self.store = store
        self._staging = staging
        self._work_dir = work_dir

    def path(self, upload_id: str) -> Path:
        """The receiving node's staged file (until it is handed to the quarantine)."""
        return self._staging.path(upload_id)

    @contextlib.asynccontextmanager
    async def local_copy(self, upload_id: str) -> AsyncIterator[Path]:
        self._staging.path(upload_id)  # validates the id before it names a file
        await asyncio.to_thread(self._work_dir.mkdir, parents=True, exist_ok=True)
        local = self._work_dir / f"{upload_id}.bin"
        partial = self._work_dir / f".{upload_id}.partial"
        try:
            await self.store.download(quarantine_key(upload_id), partial)
            await asyncio.to_thread(partial.replace, local)
            yield local
        finally:
            for leftover in (local, partial):
                await asyncio.to_thread(leftover.unlink, missing_ok=True)

    async def exists(self, upload_id: str) -> bool:
        return await self.store.head(quarantine_key(upload_id)) is not None

    async def drop(self, upload_id: str) -> None:
        await self.store.delete(quarantine_key(upload_id))
        await self._staging.delete(upload_id)

    def presign(self, upload_id: str) -> str | None:
        return self.store.presign_get(quarantine_key(upload_id), PRESIGN_S)

    async def prepare(self) -> None:
        await self.store.prepare()
