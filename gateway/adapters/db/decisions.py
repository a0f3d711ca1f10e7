"""Screening decisions: one row per upload, the record serialised at this edge."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import decisions
from gateway.domain.decisions import DecisionRecord


class DecisionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, upload_id: str) -> DecisionRecord | None:
        async with self._engine.connect() as conn:
            return await _load(conn, upload_id)

    async def reusable(
        self, content_sha256: str, screened_with: str, upload_id: str
    ) -> tuple[str, DecisionRecord] | None:
        """An earlier screening's decision on the same bytes under the same key (not a
        refusal or a failed screening), with its upload's id."""
        query = (
            select(decisions.c.upload_id, decisions.c.body)
            .where(
                decisions.c.content_sha256 == content_sha256,
                decisions.c.screened_with == screened_with,
                decisions.c.upload_id != upload_id,
                decisions.c.verdict.in_(("pass", "review", "block")),
            )
            .order_by(decisions.c.created_at.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        record = DecisionRecord.from_json(dict(row.body))
        return (str(row.upload_id), record) if record.error is None else None


async def _load(conn: AsyncConnection, upload_id: str) -> DecisionRecord | None:
    query = select(decisions.c.body).where(decisions.c.upload_id == upload_id)
    row = (await conn.execute(query)).first()
    return None if row is None else DecisionRecord.from_json(dict(row.body))


class DecisionWrites:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def load(self, upload_id: str) -> DecisionRecord | None:
        return await _load(self._conn, upload_id)

    async def save(self, upload_id: str, record: DecisionRecord, now: dt.datetime) -> None:
        """A re-run (job retried after a crash) replaces the row."""
        policy = record.policy
        await self._conn.execute(delete(decisions).where(decisions.c.upload_id == upload_id))
        await self._conn.execute(
            insert(decisions),
            {
                "upload_id": upload_id,
                "verdict": record.verdict,
                "policy_id": "" if policy is None else policy.id,
                "policy_version": 0 if policy is None else policy.version,
                "body": record.to_json(),
                "created_at": now,
                "content_sha256": record.content_sha256,
                "screened_with": record.screened_with,
            },
        )
