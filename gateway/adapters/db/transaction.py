"""SqlUnitOfWork: one database transaction with every table a use case changes at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.decisions import DecisionWrites
from gateway.adapters.db.jobs import JobWrites
from gateway.adapters.db.outbox import OutboxWrites
from gateway.adapters.db.review_writes import ReviewWrites
from gateway.adapters.db.stored_objects import StoredObjectWrites
from gateway.adapters.db.uploads import UploadWrites


@dataclass(frozen=True, slots=True)
class SqlTransaction:
    uploads: UploadWrites
    jobs: JobWrites
    decisions: DecisionWrites
    stored: StoredObjectWrites
    review: ReviewWrites
    outbox: OutboxWrites


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[SqlTransaction]:
        async with self._engine.begin() as conn:
            yield SqlTransaction(
                uploads=UploadWrites(conn),
                jobs=JobWrites(conn),
                decisions=DecisionWrites(conn),
                stored=StoredObjectWrites(conn),
                review=ReviewWrites(conn),
                outbox=OutboxWrites(conn),
            )
