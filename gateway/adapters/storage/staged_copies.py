"""Where screening, forwarding and review find an upload's bytes once it is complete.

    LocalStagedCopies   the embedded default: the staged file on this node's disk
    QuarantineCopies    staging = s3: the upload's multipart upload, sealed into one object
                        in the quarantine bucket; any worker on any node reads it there

Screening needs a file for ffmpeg: `local_copy` yields one (downloaded for the quarantine,
removed afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.adapters.storage.local_staging import LocalStagingStore
from gateway.adapters.storage.s3_objects import S3ObjectStore
from gateway.domain.object_keys import quarantine_key
from gateway.domain.ports.storage import StagingStore

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")

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
    def __init__(self, store: S3ObjectStore, staging: StagingStore, work_dir: Path) -> None:
        self.store = store
        self._staging = staging
        self._work_dir = work_dir

    def path(self, upload_id: str) -> Path:
        """Where `local_copy` puts this node's copy while a block uses it."""
        if not _UPLOAD_ID.match(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self._work_dir / f"{upload_id}.bin"

    @contextlib.asynccontextmanager
    async def local_copy(self, upload_id: str) -> AsyncIterator[Path]:
        local = self.path(upload_id)
        await asyncio.to_thread(self._work_dir.mkdir, parents=True, exist_ok=True)
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
        await self._staging.delete(upload_id)  # the sealed object, or what is left unsealed

    def presign(self, upload_id: str) -> str | None:
        return self.store.presign_get(quarantine_key(upload_id), PRESIGN_S)

    async def prepare(self) -> None:
        await self.store.prepare()
