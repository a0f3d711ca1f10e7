"""The durable job table: enqueue with the state change that calls for it, claim under a
lease (safe with several workers on one database), retry with backoff, finish."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import jobs
from gateway.domain.jobs import MAX_ATTEMPTS, SCREENING, Job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def job_row(
    upload_id: str, stage: str, now: dt.datetime, node: str | None = None
) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "stage": stage,
        "node": node,
        "state": QUEUED,
        "attempts": 0,
        "max_attempts": MAX_ATTEMPTS.get(stage, 3),
        "run_after": now,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    conn: AsyncConnection, upload_id: str, stage: str, now: dt.datetime, node: str | None = None
) -> None:
    """In the caller's transaction: the job exists exactly when the state change does."""
    await conn.execute(insert(jobs), job_row(upload_id, stage, now, node))


class JobRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(
        self,
        owner: str,
        now: dt.datetime,
        lease: dt.timedelta,
        stages: Sequence[str] = (SCREENING,),
        node: str | None = None,
    ) -> Job | None:
        """Take one due job whose lease is free or lapsed (a killed worker's job comes back).

        The UPDATE repeats the claimable condition, so two workers racing for one row cannot
        both win: the loser's UPDATE matches nothing and it tries the next.
        """
        anywhere = jobs.c.node.is_(None)
        claimable = and_(
            jobs.c.stage.in_(stages),
            anywhere if node is None else or_(anywhere, jobs.c.node == node),
            jobs.c.state.in_((QUEUED, RUNNING)),
            jobs.c.run_after <= now,
            or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at < now),
        )
        for _ in range(5):
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        select(jobs.c.id).where(claimable).order_by(jobs.c.run_after).limit(1)
                    )
                ).first()
                if row is None:
                    return None
                claimed = (
                    await conn.execute(
                        update(jobs)
                        .where(jobs.c.id == row.id, claimable)
                        .values(
                            state=RUNNING,
                            lease_owner=owner,
                            lease_expires_at=now + lease,
                            attempts=jobs.c.attempts + 1,
                            updated_at=now,
                        )
                        .returning(
                            jobs.c.id,
                            jobs.c.upload_id,
                            jobs.c.stage,
                            jobs.c.attempts,
                            jobs.c.max_attempts,
                        )
                    )
                ).first()
            if claimed is not None:
                return Job(
                    claimed.id,
                    claimed.upload_id,
                    claimed.stage,
                    claimed.attempts,
                    claimed.max_attempts,
                )
        return None

    async def renew(self, job: Job, owner: str, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Extend a lease still held; False when another worker has taken the job over."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.lease_owner == owner, jobs.c.state == RUNNING)
                .values(lease_expires_at=now + lease, updated_at=now)
            )
        return bool(result.rowcount)

    async def retry_later(
        self, job: Job, now: dt.datetime, delay: dt.timedelta, error: str
    ) -> None:
        async with self._engine.begin() as conn:
            await _release(
                conn, job, now, state=QUEUED, run_after=now + delay, last_error=error[:2000]
            )

    @property
    def engine(self) -> AsyncEngine:
        return self._engine


class JobWrites:
    """Jobs inside a caller's transaction: the job exists exactly when its state change does."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(
        self, upload_id: str, stage: str, now: dt.datetime, node: str | None = None
    ) -> None:
        await enqueue(self._conn, upload_id, stage, now, node)

    async def finish(self, job: Job, now: dt.datetime) -> None:
        await _release(self._conn, job, now, state=DONE)

    async def fail(self, job: Job, now: dt.datetime, error: str) -> None:
        await _release(self._conn, job, now, state=FAILED, last_error=error[:2000])


async def _release(conn: AsyncConnection, job: Job, now: dt.datetime, **values: Any) -> None:
    """Give up the lease and set the job's next state."""
    await conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id)
        .values(lease_owner=None, lease_expires_at=None, updated_at=now, **values)
    )
