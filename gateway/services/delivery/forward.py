"""ForwardStage: approved -> forwarding -> stored. The source goes to its key through the
approval gate, verified; the record, the move and the transcode job commit together; only
then may the customer's staged bytes go."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.domain.jobs import FORWARD, TRANSCODE, Job
from gateway.domain.object_keys import extension_for, source_key
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import ACTOR, DeliveryContext
from gateway.services.delivery.destination import ApprovedOnlyDestination
from gateway.services.delivery.sources import ForwardSource
from gateway.services.failpoints import failpoint
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
_S = UploadState


class ForwardStage:
    name = FORWARD

    def __init__(
        self,
        context: DeliveryContext,
        source: ForwardSource,
        destination: ApprovedOnlyDestination,
        staged: StagedCopies,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._context = context
        self._source = source
        self._destination = destination
        self._staged = staged
        self._on_stored = on_stored

    async def run(self, job: Job, upload: UploadRecord) -> None:
        context = self._context
        if upload.state == _S.APPROVED:
            await context.move(upload.id, _S.APPROVED, _S.FORWARDING)
        elif upload.state != _S.FORWARDING:  # done already, or purged meanwhile
            async with context.unit_of_work.begin() as tx:
                await tx.jobs.finish(job, context.clock.now())
            return
        decision = await context.decisions.load(upload.id)
        media_format = "" if decision is None or decision.media is None else decision.media.format
        key = source_key(upload.tenant_id, upload.id, extension_for(media_format))
        copy = await self._source.forward(upload.id, key, self._destination)
        failpoint(f"{FORWARD}.after_verify")
        now = context.clock.now()
        async with context.unit_of_work.begin() as tx:
            await tx.stored.record(upload.id, "source", copy, now)
            await move(tx, upload.id, _S.FORWARDING, _S.STORED, now, ACTOR)
            await tx.jobs.enqueue(upload.id, TRANSCODE, now)
            await tx.jobs.finish(job, now)
        failpoint(f"{FORWARD}.before_drop")  # recorded, not yet dropped: transcoding drops it
        # Verified and recorded: only now may the customer's staged bytes go.
        await self._staged.drop(upload.id)
        context.metrics.delivery_bytes.labels(kind="source").inc(copy.size)
        if self._on_stored is not None:
            self._on_stored()
        logger.info("forward.stored", extra={"upload_id": upload.id, "key": key})

    async def on_failure(self, job: Job, current: UploadRecord | None, last: bool) -> bool:
        return False
