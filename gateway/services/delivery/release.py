"""Release (clause 4.3): every transcode result, and the downloaded source, destroyed; the
receipt says what was delivered and destroyed, and when."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

from gateway.domain.jobs import Job
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import ACTOR, DeliveryContext
from gateway.services.failpoints import failpoint
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
_S = UploadState


async def release(
    context: DeliveryContext,
    work: Path,
    job: Job,
    upload: UploadRecord,
    items: list[dict[str, Any]],
    *,
    delivered: bool,
) -> None:
    """Destroy the results in `work`, then record the receipt with the move: released when
    they were delivered, failed (`transcode_undelivered`) when they could not be."""
    failpoint("release.before_destroy")
    destroyed = await asyncio.to_thread(_destroy, work)
    failpoint("release.after_destroy")  # destroyed, not yet recorded
    now = context.clock.now()
    receipt = {
        "clause": "4.3",
        "delivered": delivered,
        "results": [{**item, "destroyed": True} for item in items],
        "files_destroyed": destroyed,
        "destroyed_at": now.isoformat(),
    }
    async with context.unit_of_work.begin() as tx:
        await tx.stored.record_receipt(upload.id, receipt, now)
        if delivered:
            await move(tx, upload.id, _S.DELIVERED, _S.RELEASED, now, ACTOR)
            await tx.jobs.finish(job, now)
        else:
            code = "transcode_undelivered"
            await move(tx, upload.id, _S.TRANSCODING, _S.FAILED, now, ACTOR, code)
            await tx.jobs.fail(job, now, code)
    context.metrics.results_released.labels(delivered=str(delivered).lower()).inc()
    logger.info(
        "transcode.released",
        extra={"upload_id": upload.id, "delivered": delivered, "files": len(destroyed)},
    )


def _destroy(work: Path) -> list[str]:
    """Blocking (a thread)."""
    if not work.exists():
        return []
    names = sorted(p.name for p in work.iterdir())
    shutil.rmtree(work)
    return names
