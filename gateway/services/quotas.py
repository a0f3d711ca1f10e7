"""Fair use (clause 3.1.3.6): admission of creations and PATCHes against each tenant's
limits, and the usage counters that feed them (bytes received, minutes screened)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway.domain.errors import QuotaExceeded
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import QuotaStore
from gateway.domain.quotas import Limits, Usage, check_creation, check_patch
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)


class QuotaService:
    def __init__(
        self,
        *,
        store: QuotaStore,
        defaults: Limits,
        clock: Clock,
        metrics: Metrics,
        patch_lease: dt.timedelta,
    ) -> None:
        self._store = store
        self.defaults = defaults
        self._clock = clock
        self._metrics = metrics
        # A PATCH counts as in flight at most this long if its instance dies mid-body.
        self._patch_lease = patch_lease

    async def limits(self, tenant_id: str) -> Limits:
        return self.defaults.overridden(await self._store.overrides(tenant_id))

    async def admit_creation(self, tenant_id: str, length: int) -> None:
        now = self._clock.now()
        limits, usage = await self._state(tenant_id, now)
        self._counted(check_creation, limits, usage, length, now)

    @asynccontextmanager
    async def patch_slot(
        self, tenant_id: str, upload_id: str, length: int | None
    ) -> AsyncIterator[None]:
        """Held while a PATCH body is received: counted against concurrent_patches on every
        instance, and checked against the day's bytes before the body is read."""
        now = self._clock.now()
        limits = await self.limits(tenant_id)
        # Counted in first, then checked with the count that includes every instance's:
        # two racing PATCHes cannot both slip under the limit.
        row, count = await self._store.patch_started(tenant_id, upload_id, now, self._patch_lease)
        try:
            received, screened = await self._store.today(tenant_id, now.date())
            usage = Usage(
                active_patches=count - 1, bytes_today=received, screening_seconds_today=screened
            )
            self._counted(check_patch, limits, usage, length, now)
            yield
        finally:
            await self._store.patch_finished(row)

    async def received(self, tenant_id: str, count: int) -> None:
        if count > 0:
            await self._store.add(tenant_id, self._clock.now().date(), bytes_received=count)

    async def screened(self, tenant_id: str, seconds: float) -> None:
        if seconds > 0:
            await self._store.add(tenant_id, self._clock.now().date(), seconds=seconds)

    async def view(self, tenant_id: str) -> dict[str, Any]:
        limits, usage = await self._state(tenant_id, self._clock.now())
        return {"limits": limits.as_dict(), "usage": usage.as_dict()}

    async def set_limits(self, tenant_id: str, values: dict[str, int | None]) -> dict[str, Any]:
        await self._store.set_overrides(tenant_id, values, self._clock.now())
        return await self.view(tenant_id)

    async def _state(self, tenant_id: str, now: dt.datetime) -> tuple[Limits, Usage]:
        return await self.limits(tenant_id), await self._store.usage(tenant_id, now)

    def _counted(self, check: Any, *args: Any) -> None:
        try:
            check(*args)
        except QuotaExceeded as exc:
            self._metrics.quota_refusals.labels(limit=exc.limit).inc()
            logger.info("quota.refused", extra={"limit": exc.limit, "usage": exc.used})
            raise
