"""QuarantineStage (staging = s3): a received upload's multipart upload is sealed into one
object in the quarantine bucket, verified, and the screening job commits with the record;
then any worker on any node screens it from there."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.domain.jobs import QUARANTINE, SCREENING, Job
from gateway.domain.ports.storage import SealableStaging
from gateway.domain.states import UploadState
from gateway.domain.stored_copies import StoredCopy
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import DeliveryContext
from gateway.services.failpoints import failpoint

logger = logging.getLogger(__name__)


class QuarantineStage:
    name = QUARANTINE

    def __init__(
        self,
        context: DeliveryContext,
        staging: SealableStaging,
        on_screenable: Callable[[], None] | None = None,
    ) -> None:
        self._context = context
        self._staging = staging
        self._on_screenable = on_screenable

    async def run(self, job: Job, upload: UploadRecord) -> None:
        context = self._context
        if upload.state != UploadState.RECEIVED:
            async with context.unit_of_work.begin() as tx:
                await tx.jobs.finish(job, context.clock.now())
            return
        sealed, sha256 = await self._staging.seal(upload.id, upload.length, upload.staging_state)
        failpoint(f"{QUARANTINE}.after_copy")
        copy = StoredCopy(sealed.key, sealed.size, sealed.etag, sha256)
        now = context.clock.now()
        async with context.unit_of_work.begin() as tx:
            await tx.stored.record(upload.id, QUARANTINE, copy, now)
            await tx.jobs.enqueue(upload.id, SCREENING, now)
            await tx.jobs.finish(job, now)
        if self._on_screenable is not None:
            self._on_screenable()
        logger.info("quarantine.sealed", extra={"upload_id": upload.id, "key": sealed.key})

    async def on_failure(self, job: Job, current: UploadRecord | None, last: bool) -> bool:
        return False
