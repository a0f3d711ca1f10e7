"""The async engine: one per process, tuned per backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.adapters.db.fair_pool import FairAsyncPool

# SQLite waits this long for another writer before raising "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection: SQLite has one writer at a time, and a second connection waiting on
        # its lock sleeps in SQLite's busy handler (up to 100 ms a try). Queueing for the one
        # connection in our own pool costs microseconds instead.
        # reset_on_return=None: closing a Connection already rolls back what it began; the
        # pool's own rollback would be a second thread round trip per checkout.
        # The one connection goes round the tenants waiting for it (fair_pool).
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=60, pool_reset_on_return=None,
            poolclass=FairAsyncPool,
        )  # fmt: skip
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, poolclass=FairAsyncPool
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; synchronous=FULL makes each commit durable
    # (fsync) before we acknowledge it, as invariant 3 asks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
