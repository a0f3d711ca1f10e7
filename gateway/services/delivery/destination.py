"""ApprovedOnlyDestination: the one gate to the destination store (DESIGN invariant 1).

Every write to the destination goes through `put_verified` or `copy_in`, which refuse unless
the upload is in a delivery state, its trail shows it was approved, and the key lies under
its own prefix. Reads pass through."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.domain.errors import NotApproved
from gateway.domain.object_keys import upload_prefix
from gateway.domain.ports.persistence import Uploads
from gateway.domain.ports.storage import ObjectStore, StoredObject
from gateway.domain.states import UploadState
from gateway.domain.stored_copies import StoredCopy
from gateway.services.delivery.verified_put import put_verified

logger = logging.getLogger(__name__)

# The states in which bytes are on their way to the destination.
DELIVERY_STATES = frozenset({UploadState.FORWARDING, UploadState.TRANSCODING})


class ApprovedOnlyDestination:
    def __init__(self, store: ObjectStore, uploads: Uploads) -> None:
        self.store = store
        self._uploads = uploads

    async def put(self, upload_id: str, key: str, path: Path) -> None:
        await self._check(upload_id, key)
        await self.store.put_file(key, path)

    async def put_verified(
        self, upload_id: str, key: str, path: Path, crash_point: str
    ) -> StoredCopy:
        """`put`, skipped when an identical object is there, then verified by HEAD."""
        return await put_verified(
            self.store, lambda: self.put(upload_id, key, path), key, path, crash_point
        )

    async def copy_in(self, upload_id: str, key: str, source_bucket: str, source_key: str) -> None:
        await self._check(upload_id, key)
        await self.store.copy_from(key, source_bucket, source_key)

    async def _check(self, upload_id: str, key: str) -> None:
        upload = await self._uploads.get_internal(upload_id)
        if upload is None or upload.state not in DELIVERY_STATES:
            state = None if upload is None else upload.state.value
            raise NotApproved(f"upload {upload_id} is {state}: nothing may be written for it")
        if not key.startswith(upload_prefix(upload.tenant_id, upload.id)):
            raise NotApproved(f"key {key!r} is outside upload {upload_id}'s prefix")
        if not await self._uploads.was_approved(upload_id):
            raise NotApproved(f"upload {upload_id} was never approved")

    async def head(self, key: str) -> StoredObject | None:
        return await self.store.head(key)

    async def download(self, key: str, path: Path) -> None:
        await self.store.download(key, path)
