"""Fair-use limits and usage (clause 3.1.3.6), in the database so they survive restarts and
hold across instances."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.cache import TtlCache
from gateway.adapters.db.schema import (
    active_patches,
    tenant_limits,
    tenant_usage,
    tenants,
    uploads,
)
from gateway.adapters.db.upsert import aware, upsert
from gateway.domain.errors import TenantNotFound
from gateway.domain.quotas import MINUTE, Limits, PatchStarted, Usage
from gateway.domain.states import UploadState


class SqlQuotas:
    def __init__(self, engine: AsyncEngine, cache_ttl_s: float = 0.0) -> None:
        self._engine = engine
        # Read on every request (the request rate): another instance's change shows within
        # the TTL, this one's at once.
        self._overrides: TtlCache[str, dict[str, int]] = TtlCache(cache_ttl_s)

    async def overrides(self, tenant_id: str) -> dict[str, int]:
        return await self._overrides.get(tenant_id, lambda: self._read_overrides(tenant_id))

    async def _read_overrides(self, tenant_id: str) -> dict[str, int]:
        query = select(tenant_limits).where(tenant_limits.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return {}
        return {name: int(getattr(row, name)) for name in Limits.names() if getattr(row, name)}

    async def set_overrides(
        self, tenant_id: str, values: dict[str, int | None], now: dt.datetime
    ) -> None:
        """Set (a number) or clear (None: back to the default) some of a tenant's limits."""
        async with self._engine.begin() as conn:
            found = await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            if found.first() is None:
                raise TenantNotFound(f"no tenant {tenant_id}")
            await upsert(
                conn,
                tenant_limits,
                {"tenant_id": tenant_id, "updated_at": now, **values},
                [tenant_limits.c.tenant_id],
                {"updated_at": now, **values},
            )
        self._overrides.forget(tenant_id)

    async def usage(self, tenant_id: str, now: dt.datetime) -> Usage:
        async with self._engine.connect() as conn:
            usage = (await creation_usage(conn, {tenant_id}, now))[tenant_id]
            patches = await conn.scalar(
                select(func.count()).where(
                    active_patches.c.tenant_id == tenant_id, active_patches.c.expires_at > now
                )
            )
        return replace(usage, active_patches=int(patches or 0))

    async def add(
        self, tenant_id: str, day: dt.date, *, bytes_received: int = 0, seconds: float = 0.0
    ) -> None:
        async with self._engine.begin() as conn:
            await upsert(
                conn,
                tenant_usage,
                {"tenant_id": tenant_id, "day": day, "bytes_received": bytes_received,
                 "screening_seconds": seconds},
                [tenant_usage.c.tenant_id, tenant_usage.c.day],
                {"bytes_received": tenant_usage.c.bytes_received + bytes_received,
                 "screening_seconds": tenant_usage.c.screening_seconds + seconds},
            )  # fmt: skip

    async def patch_started(
        self,
        tenant_id: str,
        upload_id: str,
        now: dt.datetime,
        lease: dt.timedelta,
        node: str | None,
    ) -> PatchStarted:
        """Count this PATCH in, and read in the same round trip what it is checked against."""
        live = and_(active_patches.c.tenant_id == tenant_id, active_patches.c.expires_at > now)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(active_patches).values(
                    tenant_id=tenant_id, upload_id=upload_id, started_at=now,
                    expires_at=now + lease, node=node,
                )
            )  # fmt: skip
            key = result.inserted_primary_key
            count, soonest = (
                await conn.execute(
                    select(func.count(), func.min(active_patches.c.expires_at)).where(live)
                )
            ).one()
            bytes_today, seconds_today = await _today(conn, tenant_id, now.date())
        if key is None:
            raise RuntimeError("the database returned no row id")
        return PatchStarted(
            row=int(key[0]),
            in_flight=int(count or 0),
            soonest_lapse=aware(soonest) or now + lease,
            bytes_today=bytes_today,
            screening_seconds_today=seconds_today,
        )

    async def patch_renewed(self, row_id: int, expires_at: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(active_patches)
                .where(active_patches.c.id == row_id)
                .values(expires_at=expires_at)
            )

    async def patch_finished(self, row_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(active_patches).where(active_patches.c.id == row_id))

    async def patches_of_node_cleared(self, node: str) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(active_patches).where(active_patches.c.node == node))
        return int(result.rowcount or 0)


async def _today(conn: AsyncConnection, tenant_id: str, day: dt.date) -> tuple[int, float]:
    query = select(tenant_usage.c.bytes_received, tenant_usage.c.screening_seconds).where(
        tenant_usage.c.tenant_id == tenant_id, tenant_usage.c.day == day
    )
    row = (await conn.execute(query)).first()
    return (0, 0.0) if row is None else (int(row.bytes_received), float(row.screening_seconds))


async def creation_usage(
    conn: AsyncConnection, owners: set[str], now: dt.datetime
) -> dict[str, Usage]:
    """What creations are checked against, per tenant: open uploads, creations in the last
    minute and the day's counters (three statements for the whole batch)."""
    open_rows = await conn.execute(
        select(uploads.c.tenant_id, func.count())
        .where(uploads.c.tenant_id.in_(owners), uploads.c.state == UploadState.RECEIVING.value)
        .group_by(uploads.c.tenant_id)
    )
    open_uploads = {row[0]: int(row[1]) for row in open_rows}
    recent_rows = await conn.execute(
        select(uploads.c.tenant_id, func.count(), func.min(uploads.c.created_at))
        .where(uploads.c.tenant_id.in_(owners), uploads.c.created_at > now - MINUTE)
        .group_by(uploads.c.tenant_id)
    )
    recent = {row[0]: (int(row[1]), aware(row[2])) for row in recent_rows}
    day_rows = await conn.execute(
        select(tenant_usage.c.tenant_id, tenant_usage.c.bytes_received,
               tenant_usage.c.screening_seconds)
        .where(tenant_usage.c.tenant_id.in_(owners), tenant_usage.c.day == now.date())
    )  # fmt: skip
    today = {row[0]: (int(row[1]), float(row[2])) for row in day_rows}
    return {
        owner: Usage(
            open_uploads=open_uploads.get(owner, 0),
            bytes_today=today.get(owner, (0, 0.0))[0],
            uploads_last_minute=recent.get(owner, (0, None))[0],
            oldest_in_last_minute=recent.get(owner, (0, None))[1],
            screening_seconds_today=today.get(owner, (0, 0.0))[1],
        )
        for owner in owners
    }
