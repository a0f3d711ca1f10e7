"""Fair use (clause 3.1.3.6): admission of requests and PATCH bodies against each tenant's
limits, and the usage counters that feed them (bytes received, minutes screened). Creations
are counted in atomically with their upload row (the upload repository's admission)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from gateway.domain.errors import QuotaExceeded
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.fair_use import QuotaStore
from gateway.domain.quotas import (
    Limits,
    RequestRate,
    Usage,
    check_patch,
    daily_bytes_reached,
    request_rate_refused,
)
from gateway.services.body_receiver import Body
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)

# Tenants whose request buckets one instance keeps (the least recently seen go first).
MAX_RATE_BUCKETS = 100_000


class QuotaService:
    def __init__(
        self,
        *,
        store: QuotaStore,
        defaults: Limits,
        clock: Clock,
        metrics: Metrics,
        patch_lease: dt.timedelta,
        node: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.defaults = defaults
        self._clock = clock
        self._metrics = metrics
        # A PATCH counts as in flight at most this long if its instance dies mid-body; the
        # lease is renewed every third of it while the body streams.
        self._patch_lease = patch_lease
        self._node = node
        self._monotonic = monotonic
        self._rates: OrderedDict[str, RequestRate] = OrderedDict()

    async def limits(self, tenant_id: str) -> Limits:
        return self.defaults.overridden(await self._store.overrides(tenant_id))

    async def admit_request(self, tenant_id: str) -> None:
        """One request of any kind, against the tenant's rate on this instance."""
        limits = await self.limits(tenant_id)
        now_s = self._monotonic()
        bucket = self._rates.pop(tenant_id, None) or RequestRate(limits.requests_per_second, now_s)
        self._rates[tenant_id] = bucket
        if len(self._rates) > MAX_RATE_BUCKETS:
            self._rates.popitem(last=False)
        wait_s = bucket.take(limits.requests_per_second, now_s)
        if wait_s > 0:
            self.refused(request_rate_refused(limits, wait_s))

    @asynccontextmanager
    async def patch_slot(self, tenant_id: str, upload_id: str, body: Body) -> AsyncIterator[Body]:
        """Held while a body is received: counted against concurrent_patches on every
        instance, checked against the day's bytes before it is read, and metered while it
        streams (a body without a length ends at the day's limit; what came is kept)."""
        now = self._clock.now()
        limits = await self.limits(tenant_id)
        # Counted in first, then checked with the count that includes every instance's:
        # two racing PATCHes cannot both slip under the limit.
        started = await self._store.patch_started(
            tenant_id, upload_id, now, self._patch_lease, self._node
        )
        row = started.row
        renewing = asyncio.create_task(self._renew(row), name=f"patch-lease-{row}")
        try:
            usage = Usage(
                active_patches=started.in_flight - 1,
                bytes_today=started.bytes_today,
                screening_seconds_today=started.screening_seconds_today,
            )
            frees_in_s = (started.soonest_lapse - now).total_seconds()
            try:
                allowance = check_patch(limits, usage, body.content_length, now, frees_in_s)
            except QuotaExceeded as exc:
                self.refused(exc)
            yield Body(
                _metered(body.chunks, allowance, limits, started.bytes_today, self._clock),
                body.content_length,
                body.checksum,
            )
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await asyncio.shield(self._store.patch_finished(row))

    async def _renew(self, row: int) -> None:
        while True:
            await asyncio.sleep(self._patch_lease.total_seconds() / 3)
            try:
                await self._store.patch_renewed(row, self._clock.now() + self._patch_lease)
            except Exception:  # the next renewal tries again; the lease covers a miss
                logger.warning("quota.patch_lease_not_renewed", exc_info=True)

    async def forget_node_patches(self) -> int:
        """At start: this node's PATCHes of a previous life are not in flight any more."""
        return 0 if self._node is None else await self._store.patches_of_node_cleared(self._node)

    async def received(self, tenant_id: str, count: int) -> None:
        if count > 0:
            await self._store.add(tenant_id, self._clock.now().date(), bytes_received=count)

    async def screened(self, tenant_id: str, seconds: float) -> None:
        if seconds > 0:
            await self._store.add(tenant_id, self._clock.now().date(), seconds=seconds)

    async def view(self, tenant_id: str) -> dict[str, Any]:
        now = self._clock.now()
        limits, usage = await self.limits(tenant_id), await self._store.usage(tenant_id, now)
        return {"limits": limits.as_dict(), "usage": usage.as_dict()}

    async def set_limits(self, tenant_id: str, values: dict[str, int | None]) -> dict[str, Any]:
        await self._store.set_overrides(tenant_id, values, self._clock.now())
        return await self.view(tenant_id)

    def refused(self, exc: QuotaExceeded) -> NoReturn:
        """Count and log a refusal, then raise it."""
        self.note_refusal(exc)
        raise exc

    def note_refusal(self, exc: QuotaExceeded) -> None:
        """Every refusal is counted (by limit) and logged here."""
        self._metrics.quota_refusals.labels(limit=exc.limit).inc()
        logger.info("quota.refused", extra={"limit": exc.limit, "usage": exc.used})


async def _metered(
    chunks: AsyncIterator[bytes], allowance: int, limits: Limits, used: int, clock: Clock
) -> AsyncIterator[bytes]:
    """The chunks up to `allowance` bytes; past it, the day's limit ends the body."""
    left = allowance
    async for chunk in chunks:
        if len(chunk) > left:
            if left > 0:
                yield chunk[:left]
            raise daily_bytes_reached(limits, used + allowance, clock.now())
        left -= len(chunk)
        yield chunk
