"""The port of fair use (clause 3.1.3.6): limits, usage and PATCHes in flight, shared by
every instance."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from gateway.domain.quotas import PatchStarted, Usage


class QuotaStore(Protocol):
    """Fair-use limits and usage, shared by every instance."""

    async def overrides(self, tenant_id: str) -> dict[str, int]:
        """The tenant's own limits (may be cached briefly; a change here shows at once)."""
        ...

    async def set_overrides(
        self, tenant_id: str, values: dict[str, int | None], now: dt.datetime
    ) -> None: ...

    async def usage(self, tenant_id: str, now: dt.datetime) -> Usage: ...

    async def add(
        self, tenant_id: str, day: dt.date, *, bytes_received: int = 0, seconds: float = 0.0
    ) -> None: ...

    async def patch_started(
        self,
        tenant_id: str,
        upload_id: str,
        now: dt.datetime,
        lease: dt.timedelta,
        node: str | None,
    ) -> PatchStarted:
        """Count a PATCH in, with what it is checked against, in one round trip."""
        ...

    async def patch_renewed(self, row_id: int, expires_at: dt.datetime) -> None: ...

    async def patch_finished(self, row_id: int) -> None: ...

    async def patches_of_node_cleared(self, node: str) -> int:
        """Forget the PATCHes a node had in flight before it (re)started; how many."""
        ...
