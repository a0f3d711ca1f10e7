"""The live workers: each process marks itself alive every heartbeat; the gauges count the
ones seen lately, per stage, fleet-wide."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import workers
from gateway.adapters.db.upsert import upsert


class SqlWorkerRegistry:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def beat(self, worker_id: str, node: str, stages: list[str], now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            listed = ",".join(stages)
            await upsert(
                conn,
                workers,
                {"id": worker_id, "node": node, "stages": listed, "started_at": now,
                 "seen_at": now},
                [workers.c.id],
                {"seen_at": now, "stages": listed},
            )  # fmt: skip

    async def leave(self, worker_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(workers).where(workers.c.id == worker_id))

    async def alive(self, since: dt.datetime) -> dict[str, int]:
        """Per stage, the processes seen since `since`; rows long silent are dropped."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(workers).where(workers.c.seen_at < since - dt.timedelta(hours=1))
            )
            rows = await conn.execute(select(workers.c.stages).where(workers.c.seen_at >= since))
            counts: dict[str, int] = {}
            for (stages,) in rows:
                for stage in filter(None, stages.split(",")):
                    counts[stage] = counts.get(stage, 0) + 1
        return counts
