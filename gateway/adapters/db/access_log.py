"""The access log (clause 3.1.8): every request to the upload and API routes, kept >= 60 days."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import access_log
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)

# Records waiting for the writer; a full queue slows requests rather than dropping records.
QUEUE_LIMIT = 10_000
BATCH_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class AccessRecord:
    at: dt.datetime
    request_id: str
    client_ip: str | None
    tenant_id: str | None
    host: str | None
    origin: str | None
    method: str
    path: str
    upload_id: str | None
    bytes_in: int
    bytes_out: int
    status: int
    duration_ms: int

    def as_row(self) -> dict[str, object]:
        # Not dataclasses.asdict: its deep copy is measurable at hundreds of requests a second.
        return {name: getattr(self, name) for name in ACCESS_FIELDS}


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


class AccessLogWriter:
    def __init__(self, repository: AccessLogRepository, metrics: Metrics) -> None:
        self._repository = repository
        self._metrics = metrics
        self._queue: asyncio.Queue[AccessRecord] = asyncio.Queue(QUEUE_LIMIT)

    async def put(self, record: AccessRecord) -> None:
        await self._queue.put(record)
        self._metrics.accesslog_queue.set(self._queue.qsize())

    async def run(self) -> None:
        """Write whatever is queued, one transaction per batch, until cancelled.

        Cancel it only after `drain()`: then it is idle, waiting for the next record.
        """
        while True:
            batch = [await self._queue.get()]
            await self._write(batch)

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued record is written (shutdown)."""
        await asyncio.wait_for(self._queue.join(), timeout_s)

    async def _write(self, batch: list[AccessRecord]) -> None:
        while len(batch) < BATCH_LIMIT and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if not batch:
            return
        try:
            await self._repository.append(batch)
        except Exception:  # keep the writer alive; the records are re-queued for the next try
            logger.exception("accesslog.write_failed", extra={"records": len(batch)})
            await asyncio.sleep(1.0)
            for record in batch:
                if self._queue.full():
                    logger.error("accesslog.records_dropped", extra={"records": len(batch)})
                    break
                self._queue.put_nowait(record)
        finally:
            for _ in batch:
                self._queue.task_done()
        self._metrics.accesslog_queue.set(self._queue.qsize())


ACCESS_FIELDS = tuple(f.name for f in fields(AccessRecord))
