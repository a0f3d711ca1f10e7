"""Where forwarding takes the source from, chosen by the composition root (no isinstance):

StagedFileSource   embedded default: the staged file on this node, put and verified
QuarantineSource   staging = s3: a server-side copy from the quarantine bucket,
                   verified against what the hand-off recorded
"""

from __future__ import annotations

from typing import Protocol

from gateway.domain.errors import StorageMismatch
from gateway.domain.jobs import FORWARD, QUARANTINE
from gateway.domain.ports.persistence import StoredObjects
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.stored_copies import StoredCopy
from gateway.services.delivery.destination import ApprovedOnlyDestination
from gateway.services.failpoints import failpoint


class ForwardSource(Protocol):
    async def forward(
        self, upload_id: str, key: str, destination: ApprovedOnlyDestination
    ) -> StoredCopy:
        """The complete upload under `key` in the destination, verified; a re-run finds a
        correct object in place and does not write it again."""
        ...


class StagedFileSource:
    def __init__(self, staged: StagedCopies) -> None:
        self._staged = staged

    async def forward(
        self, upload_id: str, key: str, destination: ApprovedOnlyDestination
    ) -> StoredCopy:
        path = self._staged.path(upload_id)
        return await destination.put_verified(upload_id, key, path, f"{FORWARD}.after_copy")


class QuarantineSource:
    def __init__(self, stored: StoredObjects, quarantine_bucket: str) -> None:
        self._stored = stored
        self._bucket = quarantine_bucket

    async def forward(
        self, upload_id: str, key: str, destination: ApprovedOnlyDestination
    ) -> StoredCopy:
        source = await self._stored.get(upload_id, QUARANTINE)
        if source is None:
            raise StorageMismatch(f"upload {upload_id} has no quarantine record")
        found = await destination.head(key)
        if found is None or (found.size, found.etag) != (source.size, source.etag):
            await destination.copy_in(upload_id, key, self._bucket, source.key)
            failpoint(f"{FORWARD}.after_copy")
            found = await destination.head(key)
        if found is None or (found.size, found.etag) != (source.size, source.etag):
            got = None if found is None else f"{found.size} bytes, ETag {found.etag}"
            expected = f"{source.size} bytes, ETag {source.etag}"
            raise StorageMismatch(f"{key}: expected {expected}; the store has {got}")
        return StoredCopy(key, source.size, source.etag, source.sha256)
