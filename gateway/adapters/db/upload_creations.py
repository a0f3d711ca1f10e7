"""New upload rows, written by group commit, each admitted in the transaction that records
it: the tenant's fair-use limits counted with every creation before it (tenant rows locked on
PostgreSQL; SQLite has one writer), and a direct-upload token spent at most once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.jobs import job_row
from gateway.adapters.db.quotas import creation_usage
from gateway.adapters.db.schema import (
    jobs,
    outbox,
    tenants,
    upload_events,
    upload_token_uses,
    uploads,
)
from gateway.domain.errors import GatewayError, QuotaExceeded, TokenUsed
from gateway.domain.jobs import FirstJob
from gateway.domain.quotas import check_creation, counted_in
from gateway.domain.states import UploadState
from gateway.domain.uploads import Admission


@dataclass(slots=True)
class Creation:
    row: dict[str, Any]
    events: list[dict[str, Any]]
    admission: Admission
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """New uploads created at the same moment share one transaction (group commit).

    Each caller still returns only after the commit that holds its rows, so nothing is
    acknowledged before it is durable; under load, one commit serves many creations.
    """

    BATCH_LIMIT = 256

    def __init__(
        self,
        engine: AsyncEngine,
        first_job: FirstJob,
        received_row: Callable[[str, str, dt.datetime], dict[str, Any]],
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._first_job = first_job
        self._received_row = received_row  # the outbox row of an upload complete at creation
        # Runs inside the transaction once its creations are counted in (the crash suite's
        # kill point: counted, not committed, nothing acknowledged).
        self._before_commit = before_commit
        self._pending: list[Creation] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, creation: Creation) -> None:
        """Returns once the row is committed; raises the admission's refusal."""
        self._pending.append(creation)
        if self._writer is None or self._writer.done():
            # One writer at a time, living only while rows wait; callers' cancellation
            # cannot strand the rows of others.
            self._writer = asyncio.create_task(self._drain(), name="uploads-group-commit")
        await creation.done

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.BATCH_LIMIT]
            del self._pending[: self.BATCH_LIMIT]
            try:
                refused = await self._write(batch)
            except Exception:
                # One bad row must not fail its neighbours: retry each on its own.
                for creation in batch:
                    try:
                        refused = await self._write([creation])
                    except Exception as exc:
                        _settle(creation.done, exc)
                    else:
                        _settle(creation.done, refused.get(id(creation)))
            else:
                for creation in batch:
                    _settle(creation.done, refused.get(id(creation)))

    async def _write(self, batch: list[Creation]) -> dict[int, GatewayError]:
        async with self._engine.begin() as conn:
            refused = await _admit(conn, batch)
            self._before_commit()
            admitted = [c for c in batch if id(c) not in refused]
            if not admitted:
                return refused
            rows = [c.row for c in admitted]
            await conn.execute(insert(uploads), rows)
            await conn.execute(insert(upload_events), [e for c in admitted for e in c.events])
            spent = [c for c in admitted if c.admission.token_id is not None]
            if spent:
                await conn.execute(
                    insert(upload_token_uses),
                    [{"token_id": c.admission.token_id, "tenant_id": c.row["tenant_id"],
                      "upload_id": c.row["id"], "used_at": c.row["created_at"]} for c in spent],
                )  # fmt: skip
            complete = [r for r in rows if r["state"] == UploadState.RECEIVED.value]
            if complete:  # empty at creation: its first job and event commit with it
                first = self._first_job
                await conn.execute(
                    insert(jobs),
                    [job_row(r["id"], first.stage, r["created_at"], first.node) for r in complete],
                )
                received = self._received_row
                await conn.execute(
                    insert(outbox),
                    [received(r["tenant_id"], r["id"], r["created_at"]) for r in complete],
                )
        return refused


async def _admit(conn: AsyncConnection, batch: list[Creation]) -> dict[int, GatewayError]:
    """The creations of `batch` refused (by id()), each checked against the usage that the
    ones before it left: racing creations count one after another."""
    owners = sorted({c.row["tenant_id"] for c in batch})
    # PostgreSQL: racing transactions (other instances' batches) queue here, and each then
    # counts what the one before it committed. SQLite: one writer already; no clause.
    await conn.execute(
        select(tenants.c.id)
        .where(tenants.c.id.in_(owners))
        .order_by(tenants.c.id)
        .with_for_update()
    )
    now = max(c.row["created_at"] for c in batch)
    counted = {c.row["tenant_id"] for c in batch if c.admission.limits is not None}
    usage = await creation_usage(conn, counted, now) if counted else {}
    tokens = [c.admission.token_id for c in batch if c.admission.token_id is not None]
    spent: set[str] = set()
    if tokens:
        found = await conn.execute(
            select(upload_token_uses.c.token_id).where(upload_token_uses.c.token_id.in_(tokens))
        )
        spent = {row.token_id for row in found}
    refused: dict[int, GatewayError] = {}
    for creation in batch:
        token, limits = creation.admission.token_id, creation.admission.limits
        tenant = creation.row["tenant_id"]
        if token is not None and token in spent:
            refused[id(creation)] = TokenUsed("this upload token has already created its upload")
            continue
        if limits is not None:
            try:
                check_creation(limits, usage[tenant], creation.row["length"], now)
            except QuotaExceeded as exc:
                refused[id(creation)] = exc
                continue
            usage[tenant] = counted_in(usage[tenant], now)
        if token is not None:
            spent.add(token)
    return refused


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():  # the caller was cancelled; its row is written all the same
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
