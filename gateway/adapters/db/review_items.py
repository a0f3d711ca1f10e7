"""Review items and their append-only audit trail. Claims are conditional UPDATEs (the same
pattern as jobs), so two reviewers can never hold one item, on SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from typing import Any

from sqlalchemy import String, and_, cast, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import appeals, review_audit, review_items
from gateway.domain.errors import (
    ReviewItemClaimed,
    ReviewItemDecided,
    ReviewItemNotFound,
    ReviewLeaseNotHeld,
    ReviewReviewerExcluded,
)
from gateway.domain.review_rules import DECIDED, OPEN, ItemKind, ReviewItem


def item_from_row(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        upload_id=row.upload_id,
        tenant_id=row.tenant_id,
        kind=ItemKind(row.kind),
        state=row.state,
        clauses=list(row.clauses),
        severity=row.severity,
        score=row.score,
        due_at=row.due_at,
        created_at=row.created_at,
        parent_id=row.parent_id,
        excluded=list(row.excluded),
        overturns_block=bool(row.overturns_block),
        claimed_by=row.claimed_by,
        lease_expires_at=row.lease_expires_at,
        media_token=row.media_token,
        decided_by=row.decided_by,
        decision=row.decision,
        decision_clauses=None if row.decision_clauses is None else list(row.decision_clauses),
        reason=row.reason,
        decided_at=row.decided_at,
    )


async def audit(
    conn: AsyncConnection,
    item_id: int,
    upload_id: str,
    now: dt.datetime,
    actor: str,
    action: str,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        insert(review_audit),
        {
            "item_id": item_id,
            "upload_id": upload_id,
            "at": now,
            "actor": actor,
            "action": action,
            "detail": detail,
        },
    )


async def get_item(conn: AsyncConnection, item_id: int) -> ReviewItem:
    row = (await conn.execute(select(review_items).where(review_items.c.id == item_id))).first()
    if row is None:
        raise ReviewItemNotFound(f"no review item {item_id}")
    return item_from_row(row)


def _available(now: dt.datetime) -> Any:
    """Open and not held: never claimed, or its lease lapsed."""
    return and_(
        review_items.c.state == OPEN,
        or_(review_items.c.lease_expires_at.is_(None), review_items.c.lease_expires_at < now),
    )


class ReviewRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def queue(
        self,
        now: dt.datetime,
        *,
        clause: str | None = None,
        tenant_id: str | None = None,
        overdue: bool = False,
        limit: int = 50,
    ) -> list[ReviewItem]:
        """Open items, oldest-due first, then most severe, then highest score."""
        query = select(review_items).where(review_items.c.state == OPEN)
        if clause is not None:
            # JSON arrays are stored as text on SQLite and JSON on PostgreSQL; the quoted id
            # matches exactly one element either way.
            # autoescape: a "%" or "_" in the asked clause is that character, not a wildcard.
            query = query.where(
                cast(review_items.c.clauses, String).contains(f'"{clause}"', autoescape=True)
            )
        if tenant_id is not None:
            query = query.where(review_items.c.tenant_id == tenant_id)
        if overdue:
            query = query.where(review_items.c.due_at < now)
        query = query.order_by(
            review_items.c.due_at, review_items.c.severity.desc(), review_items.c.score.desc()
        ).limit(limit)
        async with self._engine.connect() as conn:
            return [item_from_row(r) for r in await conn.execute(query)]

    async def counts(self, now: dt.datetime, cap: int | None = None) -> dict[str, Any]:
        """Open, claimed and overdue items. With `cap`, each count stops at cap (and says
        so), which keeps the queue listing fast on a deep queue; the gauges count it all."""
        is_open = review_items.c.state == OPEN
        conditions = {
            "open": [is_open],
            # A decided or released item has no lease, so the lease index alone answers.
            "claimed": [review_items.c.lease_expires_at >= now],
            "overdue": [is_open, review_items.c.due_at < now],
        }
        counts: dict[str, Any] = {}
        async with self._engine.connect() as conn:
            for name, where in conditions.items():
                rows = select(review_items.c.id).where(*where)
                if cap is not None:
                    rows = rows.limit(cap + 1)
                found = await conn.execute(select(func.count()).select_from(rows.subquery()))
                count = int(found.scalar_one())
                if cap is not None and count > cap:
                    counts[name], counts[f"{name}_more"] = cap, True
                else:
                    counts[name] = count
        return counts

    async def oldest_open(self) -> dt.datetime | None:
        query = (
            select(review_items.c.created_at)
            .where(review_items.c.state == OPEN)
            .order_by(review_items.c.state, review_items.c.created_at)
            .limit(1)
        )
        async with self._engine.connect() as conn:
            oldest: dt.datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return oldest

    async def get(self, item_id: int) -> ReviewItem:
        async with self._engine.connect() as conn:
            return await get_item(conn, item_id)

    async def for_upload(self, upload_id: str) -> list[ReviewItem]:
        query = (
            select(review_items)
            .where(review_items.c.upload_id == upload_id)
            .order_by(review_items.c.id)
        )
        async with self._engine.connect() as conn:
            return [item_from_row(r) for r in await conn.execute(query)]

    async def claim(
        self, item_id: int, reviewer: str, now: dt.datetime, lease: dt.timedelta
    ) -> ReviewItem:
        """Take the item (or renew one's own lease). Exactly one of racing reviewers wins."""
        async with self._engine.begin() as conn:
            item = await get_item(conn, item_id)
            if item.state != OPEN:
                raise ReviewItemDecided("this item has been decided")
            if reviewer in item.excluded:
                raise ReviewReviewerExcluded(
                    "you decided this upload before; another reviewer must take this item"
                )
            mine = review_items.c.claimed_by == reviewer
            token = item.media_token if item.held_by(reviewer, now) else secrets.token_urlsafe(24)
            taken = await conn.execute(
                update(review_items)
                .where(review_items.c.id == item_id, or_(_available(now), mine))
                .where(review_items.c.state == OPEN)
                .values(claimed_by=reviewer, lease_expires_at=now + lease, media_token=token)
            )
            if taken.rowcount != 1:
                raise ReviewItemClaimed("another reviewer holds this item")
            action = "renew" if item.held_by(reviewer, now) else "claim"
            await audit(conn, item_id, item.upload_id, now, reviewer, action, {})
            return await get_item(conn, item_id)

    async def release(self, item_id: int, reviewer: str, now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            item = await get_item(conn, item_id)
            if not item.held_by(reviewer, now):
                raise ReviewLeaseNotHeld("you do not hold this item")
            await conn.execute(
                update(review_items)
                .where(review_items.c.id == item_id)
                .values(claimed_by=None, lease_expires_at=None, media_token=None)
            )
            await audit(conn, item_id, item.upload_id, now, reviewer, "release", {})

    async def open_kinds(self, upload_ids: Collection[str]) -> dict[str, set[ItemKind]]:
        """The kinds of the open items of each of these uploads that has any."""
        query = select(review_items.c.upload_id, review_items.c.kind).where(
            review_items.c.state == OPEN, review_items.c.upload_id.in_(list(upload_ids))
        )
        kinds: dict[str, set[ItemKind]] = {}
        async with self._engine.connect() as conn:
            for row in await conn.execute(query.distinct()):
                kinds.setdefault(row.upload_id, set()).add(ItemKind(row.kind))
        return kinds

    async def log(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Decisions, newest first: who decided what, when."""
        query = (
            select(review_items)
            .where(review_items.c.state == DECIDED)
            .order_by(review_items.c.decided_at.desc(), review_items.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = [item_from_row(r) for r in await conn.execute(query)]
        return [
            {
                "item_id": r.id,
                "upload_id": r.upload_id,
                "tenant_id": r.tenant_id,
                "kind": r.kind.value,
                "decided_by": r.decided_by,
                "decision": r.decision,
                "clauses": " ".join(r.decision_clauses or []),
                "reason": r.reason,
                "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            }
            for r in rows
        ]

    async def audit_trail(self, upload_id: str) -> list[dict[str, Any]]:
        query = (
            select(review_audit)
            .where(review_audit.c.upload_id == upload_id)
            .order_by(review_audit.c.id)
        )
        async with self._engine.connect() as conn:
            return [
                {
                    "item_id": r.item_id,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "detail": r.detail,
                }
                for r in await conn.execute(query)
            ]

    async def appeal_statement(self, upload_id: str) -> str | None:
        query = select(appeals.c.statement).where(appeals.c.upload_id == upload_id)
        async with self._engine.connect() as conn:
            statement: str | None = (await conn.execute(query)).scalar_one_or_none()
        return statement
