"""The review queue's upkeep: the queue gauges and one event for each item that goes
overdue (its SLA), and the staged copies of rejections destroyed after the evidence
retention."""

from __future__ import annotations

import datetime as dt
import logging

from gateway.domain.events import REVIEW_OVERDUE, OutboxEvent
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import ReviewQueue, UnitOfWork, Uploads
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.review_rules import ReviewItem
from gateway.domain.states import UploadState
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)
_S = UploadState


class ReviewUpkeep:
    def __init__(
        self,
        *,
        reviews: ReviewQueue,
        unit_of_work: UnitOfWork,
        uploads: Uploads,
        staged: StagedCopies,
        clock: Clock,
        metrics: Metrics,
        evidence_retention: dt.timedelta,
        alert_tenant_id: str | None,
    ) -> None:
        self._reviews = reviews
        self._uow = unit_of_work
        self._uploads = uploads
        self._staged = staged
        self._clock = clock
        self._metrics = metrics
        self._retention = evidence_retention
        self.alert_tenant_id = alert_tenant_id

    async def sweep_rejected(self) -> int:
        """Destroy the staged copies of rejections older than the evidence retention."""
        now = self._clock.now()
        destroyed = 0
        for upload_id in await self._uploads.in_state_before(_S.REJECTED, now - self._retention):
            if await self._staged.exists(upload_id):
                await self._staged.drop(upload_id)
                async with self._uow.begin() as tx:
                    await tx.uploads.note(upload_id, now, "retention", "evidence_destroyed")
                destroyed += 1
        return destroyed

    async def watch_sla(self) -> int:
        """Refresh the queue gauges; raise one event for each item that just went overdue."""
        now = self._clock.now()
        counts = await self._reviews.counts(now)
        oldest = await self._reviews.oldest_open()
        self._metrics.review_queue_depth.set(counts["open"])
        self._metrics.review_overdue.set(counts["overdue"])
        self._metrics.review_age.set(0 if oldest is None else (now - oldest).total_seconds())
        alert_to = self.alert_tenant_id
        async with self._uow.begin() as tx:  # the mark and its event commit together
            overdue = await tx.review.claim_overdue(now)
            if alert_to is not None:
                await tx.outbox.add((_overdue_event(alert_to, item) for item in overdue), now)
        for item in overdue:
            logger.warning("review.overdue", extra={"item_id": item.id, "due": str(item.due_at)})
        return len(overdue)


def _overdue_event(tenant_id: str, item: ReviewItem) -> OutboxEvent:
    data = {
        "item_id": item.id,
        "upload_id": item.upload_id,
        "kind": item.kind.value,
        "clauses": item.clauses,
        "due_at": item.due_at.isoformat(),
    }
    return OutboxEvent(tenant_id, item.upload_id, REVIEW_OVERDUE, data)
