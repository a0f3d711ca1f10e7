"""Incomplete uploads past their deadline expire, and staged bytes no upload names (a crash
mid-creation) are destroyed: the upkeep of what ingest leaves behind."""

from __future__ import annotations

import datetime as dt
import logging

from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import UnitOfWork, Uploads
from gateway.domain.ports.storage import StagingStore
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.metrics import Metrics
from gateway.services.transitions import move

logger = logging.getLogger(__name__)


class UploadSweeper:
    def __init__(
        self,
        *,
        uploads: Uploads,
        staging: StagingStore,
        unit_of_work: UnitOfWork,
        clock: Clock,
        metrics: Metrics,
        node: str | None,
    ) -> None:
        self._uploads = uploads
        self._staging = staging
        self._uow = unit_of_work
        self._clock = clock
        self._metrics = metrics
        self._node = node  # local staging: only this node's uploads are its to expire

    async def sweep_orphans(self, min_age: dt.timedelta) -> int:
        """Staged bytes no upload row names (a crash between making room for a new upload
        and recording it: never acknowledged), older than `min_age`, are destroyed."""
        now = self._clock.now()
        staged = [
            upload_id for upload_id, at in await self._staging.staged() if at <= now - min_age
        ]
        known = await self._uploads.existing(staged)
        orphans = [upload_id for upload_id in staged if upload_id not in known]
        for upload_id in orphans:
            await self._staging.delete(upload_id)
            logger.info("staging.orphan_deleted", extra={"upload_id": upload_id})
        return len(orphans)

    async def sweep_expired(self) -> int:
        """Expire incomplete uploads past their deadline and destroy their staged bytes."""
        expired = 0
        for upload_id in await self._uploads.due_to_expire(self._clock.now(), self._node):
            if await self.expire(upload_id, "expiry-sweeper"):
                expired += 1
        return expired

    def is_past_deadline(self, upload: UploadRecord) -> bool:
        return upload.expires_at is not None and upload.expires_at <= self._clock.now()

    async def expire(self, upload_id: str, actor: str) -> bool:
        """Expire an incomplete upload past its deadline and destroy its staged bytes."""
        async with self._uow.begin() as tx:
            moved = await move(
                tx,
                upload_id,
                UploadState.RECEIVING,
                UploadState.EXPIRED,
                self._clock.now(),
                actor,
                "upload_expired",
            )
        if moved:
            await self._staging.delete(upload_id)
            self._metrics.uploads_expired.inc()
            logger.info("upload.expired", extra={"upload_id": upload_id})
        return moved
