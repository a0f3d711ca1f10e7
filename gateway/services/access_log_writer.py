"""AccessLogWriter: requests queue their access records; one loop writes them in batches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from gateway.domain.access_records import AccessRecord
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)

# Records waiting for the writer; a full queue slows requests rather than dropping records.
QUEUE_LIMIT = 10_000
BATCH_LIMIT = 1_000


class AccessLogAppender(Protocol):
    async def append(self, records: Sequence[AccessRecord]) -> None: ...


class AccessLogWriter:
    def __init__(self, repository: AccessLogAppender, metrics: Metrics) -> None:
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
