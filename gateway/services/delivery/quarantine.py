"""QuarantineStage (staging = s3): the receiving node hands its staged file to the shared
quarantine bucket, verified, and commits the screening job with the record; then any node
screens it from there."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.domain.jobs import QUARANTINE, SCREENING, Job
from gateway.domain.object_keys import quarantine_key
from gateway.domain.ports.storage import ObjectStore, StagedCopies, StagingStore
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import DeliveryContext
from gateway.services.delivery.verified_put import put_verified

logger = logging.getLogger(__name__)


class QuarantineStage:
    name = QUARANTINE

    def __init__(
        self,
        context: DeliveryContext,
        staged: StagedCopies,
        quarantine: ObjectStore,
        staging: StagingStore,
        on_screenable: Callable[[], None] | None = None,
    ) -> None:
        self._context = context
        self._staged = staged
        self._quarantine = quarantine
        self._staging = staging
        self._on_screenable = on_screenable

    async def run(self, job: Job, upload: UploadRecord) -> None:
        context = self._context
        if upload.state != UploadState.RECEIVED:
            async with context.unit_of_work.begin() as tx:
                await tx.jobs.finish(job, context.clock.now())
            return
        key = quarantine_key(upload.id)
        local = self._staged.path(upload.id)
        copy = await put_verified(
            self._quarantine,
            lambda: self._quarantine.put_file(key, local),
            key,
            local,
            f"{QUARANTINE}.after_copy",
        )
        now = context.clock.now()
        async with context.unit_of_work.begin() as tx:
            await tx.stored.record(upload.id, QUARANTINE, copy, now)
            await tx.jobs.enqueue(upload.id, SCREENING, now)
            await tx.jobs.finish(job, now)
        await self._staging.delete(upload.id)  # the local file; the quarantine copy stays
        if self._on_screenable is not None:
            self._on_screenable()
        logger.info("quarantine.stored", extra={"upload_id": upload.id, "key": key})

    async def on_failure(self, job: Job, current: UploadRecord | None, last: bool) -> bool:
        return False
