"""What every delivery stage shares: the ports, the clock, the metrics and one actor name."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import Decisions, StoredObjects, UnitOfWork, Uploads
from gateway.domain.states import UploadState
from gateway.services.metrics import Metrics
from gateway.services.transitions import move

ACTOR = "delivery-worker"


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    unit_of_work: UnitOfWork
    uploads: Uploads
    decisions: Decisions
    stored: StoredObjects
    clock: Clock
    metrics: Metrics

    async def move(self, upload_id: str, from_state: UploadState, to_state: UploadState) -> None:
        """A move on its own (no job or record commits with it)."""
        async with self.unit_of_work.begin() as tx:
            await move(tx, upload_id, from_state, to_state, self.clock.now(), ACTOR)
