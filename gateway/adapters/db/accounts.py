"""Each tenant's standing after arrears (clause 7.3.3) and the receipt of its purge."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import tenants
from gateway.domain.errors import TenantNotFound
from gateway.domain.standing import Account, Standing


def account_from_row(row: Row[Any] | Any) -> Account:
    return Account(Standing(row.standing), row.arrears_since, row.suspended_at, row.terminated_at)


ACCOUNT_COLUMNS = (
    tenants.c.standing,
    tenants.c.arrears_since,
    tenants.c.suspended_at,
    tenants.c.terminated_at,
)


class SqlAccounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant_id: str) -> Account:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(*ACCOUNT_COLUMNS).where(tenants.c.id == tenant_id))
            ).first()
        if row is None:
            raise TenantNotFound(f"no tenant {tenant_id}")
        return account_from_row(row)

    async def save(self, tenant_id: str, before: Account, after: Account) -> bool:
        """Write `after` if the stored account is still `before` (no concurrent change)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(tenants)
                .where(
                    tenants.c.id == tenant_id,
                    tenants.c.standing == before.standing.value,
                    _same(tenants.c.arrears_since, before.arrears_since),
                    _same(tenants.c.suspended_at, before.suspended_at),
                )
                .values(
                    standing=after.standing.value,
                    arrears_since=after.arrears_since,
                    suspended_at=after.suspended_at,
                    terminated_at=after.terminated_at,
                )
            )
        return bool(result.rowcount)

    async def watched(self) -> list[str]:
        """Tenants whose standing may move with time, or whose purge is not finished."""
        query = select(tenants.c.id).where(
            (tenants.c.standing.in_((Standing.IN_ARREARS.value, Standing.SUSPENDED.value)))
            | ((tenants.c.standing == Standing.TERMINATED.value) & tenants.c.purged_at.is_(None))
        )
        async with self._engine.connect() as conn:
            return [row.id for row in await conn.execute(query)]

    async def purged(self, tenant_id: str, receipt: dict[str, Any], now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(purged_at=now, purge_receipt=receipt)
            )

    async def receipt(self, tenant_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(tenants.c.purge_receipt).where(tenants.c.id == tenant_id))
            ).first()
        return None if row is None or row.purge_receipt is None else dict(row.purge_receipt)


def _same(column: Any, value: dt.datetime | None) -> Any:
    return column.is_(None) if value is None else column == value
