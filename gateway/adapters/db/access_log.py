"""The access log (clause 3.1.8): every request to the upload and API routes, kept >= 60 days."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import access_log
from gateway.domain.access_records import AccessRecord

logger = logging.getLogger(__name__)


class AccessLogRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(self, records: Sequence[AccessRecord]) -> None:
        if not records:
            return
        async with self._engine.begin() as conn:
            await conn.execute(insert(access_log), [r.as_row() for r in records])

    async def prune(self, before: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(access_log).where(access_log.c.at < before))
        return result.rowcount

    async def since(self, since: dt.datetime, batch: int = 1000) -> AsyncIterator[AccessRecord]:
        """Records from `since` on, oldest first, read in batches (constant memory)."""
        last_id = 0
        fields = [c for c in access_log.c if c.name != "id"]
        while True:
            query = (
                select(access_log.c.id, *fields)
                .where(access_log.c.at >= since, access_log.c.id > last_id)
                .order_by(access_log.c.id)
                .limit(batch)
            )
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                yield AccessRecord(**{f.name: getattr(row, f.name) for f in fields})
            if len(rows) < batch:
                return
            last_id = rows[-1].id
