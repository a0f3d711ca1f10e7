"""AdvisoryLocker: one writer per upload across every instance on one PostgreSQL.

A session-level advisory lock, taken with `pg_try_advisory_lock` on a connection held for
the block (autocommit: no transaction stays open for the length of a PATCH). The lock lives
as long as that connection: a killed instance's socket closes and PostgreSQL frees its
locks at once; a vanished machine's are freed when TCP keepalives give up on it (about a
minute, set below). A second writer is told 423 at once, never queued.

Held connections come from a pool of their own, sized to the PATCHes an instance may
receive at once, so writers holding locks never starve the queries they make."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.domain.errors import DatabaseUnavailable, Locked

logger = logging.getLogger(__name__)

# Seconds a request waits for a free lock connection before it is told 503.
POOL_TIMEOUT_S = 5.0
# A dead peer's session (and its locks) ends after idle + interval * count seconds.
KEEPALIVES = {
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}


def lock_engine(url: str, size: int) -> AsyncEngine:
    """The pool lock connections come from (blocking: dialects load; call in a thread)."""
    return create_async_engine(
        url,
        pool_size=size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": KEEPALIVES},
    )


class AdvisoryLocker:
    def __init__(
        self,
        engine: AsyncEngine,
        on_refused: Callable[[], None] = lambda: None,
        on_wait: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self._engine = engine
        self._on_refused = on_refused
        self._on_wait = on_wait

    @asynccontextmanager
    async def hold(self, tenant_id: str, upload_id: str) -> AsyncIterator[None]:
        key = lock_key(tenant_id, upload_id)
        started = time.monotonic()
        try:
            conn = await self._engine.connect()
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable("the lock service is unavailable; retry shortly") from exc
        try:
            try:
                taken = bool(await conn.scalar(select(func.pg_try_advisory_lock(key))))
            except SQLAlchemyError as exc:
                raise DatabaseUnavailable("the lock service is unavailable; retry shortly") from exc
            self._on_wait(time.monotonic() - started)
            if not taken:
                self._on_refused()
                raise Locked("another request is writing to this upload")
            try:
                yield
            finally:
                await self._unlock(conn, key)
        finally:
            await conn.close()

    @staticmethod
    async def _unlock(conn: AsyncConnection, key: int) -> None:
        try:
            await conn.scalar(select(func.pg_advisory_unlock(key)))
        except SQLAlchemyError:
            # A lock left on a pooled connection would hold the upload forever: drop the
            # connection, which ends the session and its locks.
            logger.warning("upload_lock.unlock_failed", exc_info=True)
            await conn.invalidate()


def lock_key(tenant_id: str, upload_id: str) -> int:
    """A signed 64-bit key, one per (tenant, upload)."""
    digest = hashlib.sha256(f"upload:{tenant_id}:{upload_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
