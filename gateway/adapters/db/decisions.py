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
            },
        )
