"""A fresh PostgreSQL database per test (dropped afterwards), on the local server.

`make test` starts PostgreSQL when it is installed but not running; VODGATE_TEST_PG_DSN points
elsewhere (default: the local server, user postgres, trust auth)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg

ADMIN_DSN = os.environ.get("VODGATE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.asynccontextmanager
async def new_database() -> AsyncIterator[str]:
    """Yields the SQLAlchemy URL of an empty database."""
    name = f"vodgate_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
