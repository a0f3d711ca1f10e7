"""InProcessLocker: one writer per upload within this process (the embedded default).

A second writer is told 423 at once, never queued. Across processes the conditional offset
update in the repository still refuses a second writer's commit; a database-backed Locker
takes this one's place in the scale-out deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.domain.errors import Locked


class InProcessLocker:
    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()

    @asynccontextmanager
    async def hold(self, tenant_id: str, upload_id: str) -> AsyncIterator[None]:
        # Keyed by tenant too: another tenant's request never learns that this id is busy.
        key = (tenant_id, upload_id)
        if key in self._held:
            raise Locked("another request is writing to this upload")
        self._held.add(key)
        try:
            yield
        finally:
            self._held.discard(key)
