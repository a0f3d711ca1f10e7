"""Uploads and their audit trail. Every state change writes its event in the same transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.jobs import enqueue
from gateway.adapters.db.outbox import outbox_row
from gateway.adapters.db.schema import (
    decisions,
    outbox,
    tenants,
    upload_events,
    uploads,
)
from gateway.adapters.db.upload_creations import Creation, GroupCommit
from gateway.domain.errors import OffsetMismatch
from gateway.domain.events import transition_event
from gateway.domain.jobs import FirstJob
from gateway.domain.standing import Standing
from gateway.domain.states import UploadState
from gateway.domain.uploads import Admission, TrailEntry, UploadRecord

_COLUMNS = (
    "id", "tenant_id", "state", "length", "offset", "metadata", "licence_id", "error_code",
    "created_at", "updated_at", "expires_at", "completed_at", "staged_on", "staging_state",
)  # fmt: skip


def record_from_row(row: Row[Any]) -> UploadRecord:
    return UploadRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        state=UploadState(row.state),
        length=row.length,
        offset=row.offset,
        metadata=dict(row.metadata),
        licence_id=row.licence_id,
        error_code=row.error_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
        staged_on=row.staged_on,
        staging_state=row.staging_state,
    )


class UploadRepository:
    def __init__(
        self,
        engine: AsyncEngine,
        first_job: FirstJob | None = None,
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._first_job = first_job or FirstJob()
        self._creations = GroupCommit(engine, self._first_job, _received_row, before_commit)

    async def create(
        self,
        *,
        upload_id: str,
        tenant_id: str,
        length: int,
        metadata: dict[str, str],
        licence_id: int | None,
        now: dt.datetime,
        expires_at: dt.datetime,
        actor: str,
        offset: int = 0,
        staged_on: str | None = None,
        staging_state: str | None = None,
        admission: Admission | None = None,
    ) -> UploadRecord:
        """Record a new upload, admitted against `admission` in the same transaction (raises
        the refusal: QuotaExceeded, TokenUsed)."""
        complete = offset == length
        record = UploadRecord(
            id=upload_id,
            tenant_id=tenant_id,
            state=UploadState.RECEIVED if complete else UploadState.RECEIVING,
            length=length,
            offset=offset,
            metadata=metadata,
            licence_id=licence_id,
            error_code=None,
            created_at=now,
            updated_at=now,
            expires_at=None if complete else expires_at,
            completed_at=now if complete else None,
            staged_on=staged_on,
            staging_state=staging_state,
        )
        values = {f: getattr(record, f) for f in _COLUMNS}
        values["state"] = record.state.value
        events = [_event(upload_id, now, None, UploadState.RECEIVING, None, actor)]
        if complete:
            events.append(
                _event(upload_id, now, UploadState.RECEIVING, UploadState.RECEIVED, None, actor)
            )
        await self._creations.add(Creation(values, events, admission or Admission()))
        return record

    async def get(self, upload_id: str, tenant_id: str) -> UploadRecord | None:
        """The upload, only when it belongs to `tenant_id` (invariant 4)."""
        query = select(uploads).where(uploads.c.id == upload_id, uploads.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else record_from_row(row)

    async def get_internal(self, upload_id: str) -> UploadRecord | None:
        """For the pipeline only: the upload whatever its tenant."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(uploads).where(uploads.c.id == upload_id))).first()
        return None if row is None else record_from_row(row)

    async def record_offset(
        self,
        upload: UploadRecord,
        new_offset: int,
        now: dt.datetime,
        expires_at: dt.datetime,
        actor: str,
        staging_state: str | None = None,
    ) -> UploadRecord:
        """Persist an offset whose bytes are already durable; complete the upload at its length.

        The update is conditional on the offset and state we started from, so a concurrent
        writer elsewhere can never move the offset twice.
        """
        complete = new_offset == upload.length
        values: dict[str, Any] = {"offset": new_offset, "updated_at": now, "expires_at": expires_at}
        if staging_state is not None:  # committed with the offset its bytes add up to
            values["staging_state"] = staging_state
        if complete:
            values |= {
                "state": UploadState.RECEIVED.value,
                "completed_at": now,
                "expires_at": None,
            }
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(uploads)
                .where(
                    uploads.c.id == upload.id,
                    uploads.c.offset == upload.offset,
                    uploads.c.state == UploadState.RECEIVING.value,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                raise OffsetMismatch("the upload changed while this request ran")
            if complete:
                await conn.execute(
                    insert(upload_events),
                    _event(
                        upload.id, now, UploadState.RECEIVING, UploadState.RECEIVED, None, actor
                    ),
                )
                await conn.execute(insert(outbox), _received_row(upload.tenant_id, upload.id, now))
                first = self._first_job  # with the state change
                await enqueue(conn, upload.id, first.stage, now, first.node)
        state = UploadState(values.get("state", upload.state))
        return dataclasses.replace(
            upload,
            offset=new_offset,
            state=state,
            updated_at=now,
            expires_at=values["expires_at"],
            completed_at=values.get("completed_at", upload.completed_at),
            staging_state=values.get("staging_state", upload.staging_state),
        )

    async def in_state_before(
        self, state: UploadState, before: dt.datetime, limit: int = 500
    ) -> list[str]:
        """Ids of uploads that entered `state` (their last change) before `before`."""
        query = (
            select(uploads.c.id)
            .where(uploads.c.state == state.value, uploads.c.updated_at < before)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [r.id for r in await conn.execute(query)]

    async def page_of_tenant(
        self,
        tenant_id: str,
        *,
        states: Sequence[UploadState] = (),
        verdict: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before: tuple[dt.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[tuple[UploadRecord, str | None]]:
        """The tenant's uploads, newest first, with each one's verdict: `before` is the
        (created_at, id) of the last one of the previous page."""
        query = (
            select(uploads, decisions.c.verdict)
            .outerjoin(decisions, decisions.c.upload_id == uploads.c.id)
            .where(uploads.c.tenant_id == tenant_id)
            .order_by(uploads.c.created_at.desc(), uploads.c.id.desc())
            .limit(limit)
        )
        if states:
            query = query.where(uploads.c.state.in_([s.value for s in states]))
        if verdict is not None:
            query = query.where(decisions.c.verdict == verdict)
        if since is not None:
            query = query.where(uploads.c.created_at >= since)
        if until is not None:
            query = query.where(uploads.c.created_at < until)
        if before is not None:
            at, upload_id = before
            query = query.where(
                or_(
                    uploads.c.created_at < at,
                    and_(uploads.c.created_at == at, uploads.c.id < upload_id),
                )
            )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(record_from_row(row), row.verdict) for row in rows]

    async def existing(self, upload_ids: Sequence[str]) -> set[str]:
        """Which of these ids have an upload row."""
        if not upload_ids:
            return set()
        query = select(uploads.c.id).where(uploads.c.id.in_(list(upload_ids)))
        async with self._engine.connect() as conn:
            return {row.id for row in await conn.execute(query)}

    async def states_of_tenant(self, tenant_id: str) -> list[tuple[str, UploadState]]:
        """Every upload of the tenant and its state (a purge's inventory)."""
        query = select(uploads.c.id, uploads.c.state).where(uploads.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [(r.id, UploadState(r.state)) for r in await conn.execute(query)]

    async def was_approved(self, upload_id: str) -> bool:
        """Whether the trail holds a move to `approved` (by the screener or a reviewer)."""
        query = select(upload_events.c.id).where(
            upload_events.c.upload_id == upload_id,
            upload_events.c.to_state == UploadState.APPROVED.value,
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def trail(self, upload_id: str) -> list[TrailEntry]:
        query = (
            select(upload_events)
            .where(upload_events.c.upload_id == upload_id)
            .order_by(upload_events.c.id)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return [TrailEntry(r.at, r.from_state, r.to_state, r.code, r.actor) for r in rows]

    async def due_to_expire(
        self, now: dt.datetime, node: str | None = None, limit: int = 500
    ) -> list[str]:
        """Incomplete uploads past their deadline (each expires through a validated move),
        staged where `node` can delete them."""
        reachable = or_(uploads.c.staged_on.is_(None), uploads.c.staged_on == node)
        # A suspended tenant's uploads wait for its payment, not for the clock (7.3.3.1).
        serviced = tenants.c.standing.in_((Standing.ACTIVE.value, Standing.IN_ARREARS.value))
        query = (
            select(uploads.c.id)
            .join(tenants, tenants.c.id == uploads.c.tenant_id)
            .where(
                uploads.c.state == UploadState.RECEIVING.value,
                uploads.c.expires_at < now,
                reachable,
                serviced,
            )
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [r.id for r in await conn.execute(query)]

    async def extend_deadlines(self, tenant_id: str, expires_at: dt.datetime) -> int:
        """Give the tenant's incomplete uploads a new deadline (after a suspension)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(uploads)
                .where(
                    uploads.c.tenant_id == tenant_id,
                    uploads.c.state == UploadState.RECEIVING.value,
                )
                .values(expires_at=expires_at)
            )
        return int(result.rowcount)


class UploadWrites:
    """Upload rows inside a caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def move(
        self,
        upload_id: str,
        from_state: UploadState,
        to_state: UploadState,
        now: dt.datetime,
        actor: str,
        code: str | None,
    ) -> str | None:
        moved = (
            await self._conn.execute(
                update(uploads)
                .where(uploads.c.id == upload_id, uploads.c.state == from_state.value)
                .values(state=to_state.value, updated_at=now, error_code=code)
                .returning(uploads.c.tenant_id)
            )
        ).first()
        if moved is None:
            return None
        await self._conn.execute(
            insert(upload_events), _event(upload_id, now, from_state, to_state, code, actor)
        )
        return str(moved.tenant_id)

    async def note(self, upload_id: str, now: dt.datetime, actor: str, code: str) -> None:
        state = (
            await self._conn.execute(select(uploads.c.state).where(uploads.c.id == upload_id))
        ).scalar_one()
        current = UploadState(state)
        await self._conn.execute(
            insert(upload_events), _event(upload_id, now, current, current, code, actor)
        )


def _event(
    upload_id: str,
    now: dt.datetime,
    from_state: UploadState | None,
    to_state: UploadState,
    code: str | None,
    actor: str,
) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "at": now,
        "from_state": None if from_state is None else from_state.value,
        "to_state": to_state.value,
        "code": code,
        "actor": actor,
    }


def _received_row(tenant_id: str, upload_id: str, now: dt.datetime) -> dict[str, Any]:
    """Completion commits with its event, as the domain names it."""
    event = transition_event(
        tenant_id, upload_id, UploadState.RECEIVING, UploadState.RECEIVED, None
    )
    if event is None:  # the domain names one for this move; a change there must show here
        raise AssertionError("receiving -> received announces no event")
    return outbox_row(event, now)
