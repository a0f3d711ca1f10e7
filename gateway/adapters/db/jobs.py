"""The durable job table: enqueue with the state change that calls for it, claim under a
lease (safe with several workers on one database), retry with backoff, finish."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import jobs, tenant_turns, uploads
from gateway.adapters.db.upsert import aware, upsert
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
    def __init__(
        self,
        engine: AsyncEngine,
        tenant_concurrency: int = 0,
        on_takeover: Callable[[str], None] = lambda stage: None,
    ) -> None:
        self._engine = engine
        # Jobs of one stage one tenant may have running at once, across every worker (0: no
        # limit): a tenant's burst leaves workers free for the others.
        self._tenant_concurrency = tenant_concurrency
        # Called with the stage when a claim takes over a job whose holder's lease lapsed.
        self._on_takeover = on_takeover

    async def claim(
        self,
        owner: str,
        now: dt.datetime,
        lease: dt.timedelta,
        stages: Sequence[str] = (SCREENING,),
        node: str | None = None,
    ) -> Job | None:
        """Take one due job whose lease is free or lapsed (a killed worker's job comes back).

        Fair share: among due jobs, the tenant whose last claim of the stage is oldest goes
        first (round-robin), and a tenant at its concurrency limit waits. PostgreSQL skips
        rows another worker is claiming (FOR UPDATE SKIP LOCKED); everywhere, the UPDATE
        repeats the claimable condition, so two workers racing for one row cannot both win.
        """
        claimable = self._claimable(now, stages, node)
        turn = and_(
            tenant_turns.c.tenant_id == uploads.c.tenant_id, tenant_turns.c.stage == jobs.c.stage
        )
        candidate = (
            select(jobs.c.id, jobs.c.stage, jobs.c.state, uploads.c.tenant_id)
            .select_from(
                jobs.join(uploads, uploads.c.id == jobs.c.upload_id).outerjoin(tenant_turns, turn)
            )
            .where(claimable, or_(uploads.c.staged_on.is_(None), uploads.c.staged_on == node))
            .order_by(tenant_turns.c.last_claimed_at.asc().nulls_first(), jobs.c.run_after)
            .limit(1)
        )
        for _ in range(5):
            async with self._engine.begin() as conn:
                query = candidate
                if conn.dialect.name == "postgresql":
                    query = candidate.with_for_update(skip_locked=True, of=jobs)
                row = (await conn.execute(query)).first()
                if row is None:
                    return None
                if self._tenant_concurrency > 0 and conn.dialect.name == "postgresql":
                    # One claim per tenant at a time, so its limit holds across workers: the
                    # UPDATE below counts the tenant's running jobs after this lock.
                    await conn.execute(select(func.pg_advisory_xact_lock(_lock_key(row.tenant_id))))
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
                    await _take_turn(conn, row.tenant_id, row.stage, now)
            if claimed is not None:
                if row.state == RUNNING:
                    self._on_takeover(row.stage)
                return Job(
                    claimed.id,
                    claimed.upload_id,
                    claimed.stage,
                    claimed.attempts,
                    claimed.max_attempts,
                )
        return None

    def _claimable(
        self, now: dt.datetime, stages: Sequence[str], node: str | None
    ) -> ColumnElement[bool]:
        """Due, free (or lapsed), runnable on `node`, and its tenant under the limit."""
        conditions = [
            jobs.c.stage.in_(stages),
            or_(jobs.c.node.is_(None), jobs.c.node == node),
            jobs.c.state.in_((QUEUED, RUNNING)),
            jobs.c.run_after <= now,
            or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at < now),
        ]
        if self._tenant_concurrency > 0:
            conditions.append(_tenant_running(now) < self._tenant_concurrency)
        return and_(*conditions)

    async def hand_back(self, job: Job, owner: str, now: dt.datetime) -> bool:
        """A stopping worker returns a job it holds, unfinished: queued again at once, and
        this attempt not counted against it."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.lease_owner == owner, jobs.c.state == RUNNING)
                .values(
                    state=QUEUED,
                    lease_owner=None,
                    lease_expires_at=None,
                    run_after=now,
                    attempts=jobs.c.attempts - 1,
                    updated_at=now,
                )
            )
        return bool(result.rowcount)

    async def queue_stats(self, now: dt.datetime) -> dict[str, tuple[int, float]]:
        """Per stage: jobs waiting or running, and the age in seconds of the oldest due one."""
        query = (
            select(jobs.c.stage, func.count(), func.min(jobs.c.run_after))
            .where(jobs.c.state.in_((QUEUED, RUNNING)))
            .group_by(jobs.c.stage)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        stats: dict[str, tuple[int, float]] = {}
        for stage, count, oldest in rows:
            oldest_at = aware(oldest)
            age = 0.0 if oldest_at is None else max(0.0, (now - oldest_at).total_seconds())
            stats[stage] = (int(count), age)
        return stats

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


async def _take_turn(conn: AsyncConnection, tenant_id: str, stage: str, now: dt.datetime) -> None:
    """Record the tenant's claim: its next job waits behind every tenant served earlier."""
    await upsert(
        conn,
        tenant_turns,
        {"tenant_id": tenant_id, "stage": stage, "last_claimed_at": now},
        [tenant_turns.c.tenant_id, tenant_turns.c.stage],
        {"last_claimed_at": now},
    )


def _tenant_running(now: dt.datetime) -> ScalarSelect[int]:
    """How many jobs of the candidate's stage its tenant has running under a live lease.
    (One level deep, so it correlates with the candidate row in a SELECT and an UPDATE.)"""
    owner = uploads.alias("owner")
    running = jobs.alias("running")
    running_upload = uploads.alias("running_upload")
    return (
        select(func.count())
        .select_from(
            running.join(running_upload, running_upload.c.id == running.c.upload_id).join(
                owner, owner.c.tenant_id == running_upload.c.tenant_id
            )
        )
        .where(
            owner.c.id == jobs.c.upload_id,
            running.c.stage == jobs.c.stage,
            running.c.state == RUNNING,
            running.c.lease_expires_at >= now,
        )
        .scalar_subquery()
    )


def _lock_key(tenant_id: str) -> int:
    """A signed 64-bit advisory-lock key for a tenant's claims."""
    digest = hashlib.sha256(f"claims:{tenant_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
