"""Review items inside a caller's transaction: opened with the state change that sends an
upload to review, decided only by the holder of a live lease, overdue alerts marked once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.adapters.db.review_items import audit, get_item, item_from_row
from gateway.adapters.db.schema import appeals, review_items
from gateway.domain.errors import AppealExists, ReviewLeaseNotHeld
from gateway.domain.review_rules import DECIDED, OPEN, Choice, ItemKind, Priority, ReviewItem


async def open_item(
    conn: AsyncConnection,
    *,
    upload_id: str,
    tenant_id: str,
    kind: ItemKind,
    clauses: list[str],
    priority: Priority,
    now: dt.datetime,
    actor: str,
    parent_id: int | None = None,
    excluded: list[str] | None = None,
    overturns_block: bool = False,
) -> int:
    """In the caller's transaction (with the state change that sends the upload to review)."""
    result = await conn.execute(
        insert(review_items).values(
            upload_id=upload_id,
            tenant_id=tenant_id,
            kind=kind.value,
            state=OPEN,
            clauses=sorted(set(clauses)),
            severity=priority.severity,
            score=priority.score,
            due_at=now + dt.timedelta(minutes=priority.sla_minutes),
            created_at=now,
            parent_id=parent_id,
            excluded=sorted(set(excluded or [])),
            overturns_block=overturns_block,
        )
    )
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no review item id")
    item_id = int(key[0])
    await audit(conn, item_id, upload_id, now, actor, "queued", {"kind": kind.value})
    return item_id


class ReviewWrites:
    """Review items and their audit inside a caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, item_id: int) -> ReviewItem:
        return await get_item(self._conn, item_id)

    async def open_item(
        self,
        *,
        upload_id: str,
        tenant_id: str,
        kind: ItemKind,
        clauses: Sequence[str],
        priority: Priority,
        now: dt.datetime,
        actor: str,
        parent_id: int | None = None,
        excluded: Sequence[str] = (),
        overturns_block: bool = False,
    ) -> int:
        return await open_item(
            self._conn,
            upload_id=upload_id,
            tenant_id=tenant_id,
            kind=kind,
            clauses=list(clauses),
            priority=priority,
            now=now,
            actor=actor,
            parent_id=parent_id,
            excluded=list(excluded),
            overturns_block=overturns_block,
        )

    async def audit(
        self,
        item_id: int,
        upload_id: str,
        now: dt.datetime,
        actor: str,
        action: str,
        detail: dict[str, Any],
    ) -> None:
        await audit(self._conn, item_id, upload_id, now, actor, action, detail)

    async def add_appeal(
        self, upload_id: str, statement: str, item_id: int, now: dt.datetime
    ) -> None:
        row = {
            "upload_id": upload_id,
            "statement": statement,
            "item_id": item_id,
            "created_at": now,
        }
        try:  # the unique upload id says: once only (the transaction then rolls back)
            await self._conn.execute(insert(appeals), row)
        except IntegrityError as exc:
            raise AppealExists("this upload was appealed once already") from exc

    async def mark_decided(
        self,
        item: ReviewItem,
        reviewer: str,
        choice: Choice,
        clauses: Sequence[str],
        reason: str,
        now: dt.datetime,
    ) -> None:
        """In the caller's transaction; only the holder of a live lease gets a row."""
        decided = await self._conn.execute(
            update(review_items)
            .where(
                review_items.c.id == item.id,
                review_items.c.state == OPEN,
                review_items.c.claimed_by == reviewer,
                review_items.c.lease_expires_at >= now,
            )
            .values(
                state=DECIDED,
                decided_by=reviewer,
                decision=choice.value,
                decision_clauses=sorted(set(clauses)),
                reason=reason,
                decided_at=now,
                lease_expires_at=None,
                media_token=None,
            )
        )
        if decided.rowcount != 1:
            raise ReviewLeaseNotHeld("claim this item first (or your lease lapsed)")

    async def claim_overdue(self, now: dt.datetime, limit: int = 100) -> list[ReviewItem]:
        """Open items past due not yet announced, each marked by
        a conditional UPDATE, so of several processes exactly one announces each item."""
        due = and_(
            review_items.c.state == OPEN,
            review_items.c.due_at < now,
            review_items.c.overdue_alerted_at.is_(None),
        )
        found = [
            item_from_row(r)
            for r in await self._conn.execute(select(review_items).where(due).limit(limit))
        ]
        mine = []
        for item in found:
            marked = await self._conn.execute(
                update(review_items)
                .where(review_items.c.id == item.id, due)
                .values(overdue_alerted_at=now)
            )
            if marked.rowcount == 1:
                mine.append(item)
        return mine
