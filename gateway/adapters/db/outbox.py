"""The event outbox: each event is written in the transaction of the state change it
announces (so none is lost and none announces a change that did not happen), then pushed to
the tenant's webhook and kept for the pull API until acknowledged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import outbox, tenants, webhooks
from gateway.domain.errors import TenantNotFound
from gateway.domain.events import OutboxEvent, PendingDelivery, event_json


def outbox_row(event: OutboxEvent, now: dt.datetime) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "upload_id": event.upload_id,
        "type": event.type,
        "body": event.data,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }


class OutboxWrites:
    """Events inside the transaction of the change they announce."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, events: Iterable[OutboxEvent], now: dt.datetime) -> None:
        rows = [outbox_row(event, now) for event in events]
        if rows:
            await self._conn.execute(insert(outbox), rows)


class EventRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def after(self, tenant_id: str, cursor: int | None, limit: int) -> list[dict[str, Any]]:
        """Events after `cursor` (by id); with no cursor, every unacknowledged one."""
        condition = outbox.c.acked_at.is_(None) if cursor is None else outbox.c.id > cursor
        query = (
            select(outbox)
            .where(outbox.c.tenant_id == tenant_id, condition)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {**event_json(r.id, r.type, r.body, r.created_at), "acked": r.acked_at is not None}
            for r in rows
        ]

    async def ack(self, tenant_id: str, ids: list[int], now: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(outbox)
                .where(
                    outbox.c.tenant_id == tenant_id,
                    outbox.c.id.in_(ids),
                    outbox.c.acked_at.is_(None),
                )
                .values(acked_at=now)
            )
        return int(result.rowcount)

    async def claim_deliveries(
        self, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[PendingDelivery]:
        """Due events of tenants with a webhook, leased so two dispatchers never send one
        event at once (a crashed dispatcher's lease lapses and the event is sent again)."""
        due = and_(
            outbox.c.delivered_at.is_(None),
            outbox.c.given_up_at.is_(None),
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now),
        )
        query = (
            select(outbox, webhooks.c.url, webhooks.c.secret)
            .join(webhooks, webhooks.c.tenant_id == outbox.c.tenant_id)
            .where(due)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        claimed: list[PendingDelivery] = []
        async with self._engine.begin() as conn:
            for row in (await conn.execute(query)).all():
                taken = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id, due)
                    .values(lease_expires_at=now + lease, attempts=outbox.c.attempts + 1)
                )
                if taken.rowcount == 1:
                    claimed.append(
                        PendingDelivery(
                            row.id,
                            row.tenant_id,
                            row.type,
                            row.body,
                            row.created_at,
                            row.attempts + 1,
                            row.url,
                            row.secret,
                        )
                    )
        return claimed

    async def delivered(self, event_id: int, now: dt.datetime) -> None:
        await self._set(event_id, delivered_at=now, lease_expires_at=None, last_error=None)

    async def retry_at(self, event_id: int, at: dt.datetime, error: str) -> None:
        await self._set(event_id, next_attempt_at=at, lease_expires_at=None, last_error=error[:500])

    async def give_up(self, event_id: int, now: dt.datetime, error: str) -> None:
        await self._set(event_id, given_up_at=now, lease_expires_at=None, last_error=error[:500])

    async def _set(self, event_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(outbox).where(outbox.c.id == event_id).values(**values))


class WebhookRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def set(self, tenant_id: str, url: str, secret: str, now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            found = await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            if found.first() is None:
                raise TenantNotFound(f"no tenant {tenant_id}")
            await conn.execute(webhooks.delete().where(webhooks.c.tenant_id == tenant_id))
            await conn.execute(
                insert(webhooks),
                {"tenant_id": tenant_id, "url": url, "secret": secret, "updated_at": now},
            )

    async def get(self, tenant_id: str) -> tuple[str, str] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(webhooks.c.url, webhooks.c.secret).where(
                        webhooks.c.tenant_id == tenant_id
                    )
                )
            ).first()
        return None if row is None else (row.url, row.secret)
