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


async def create_database(name: str) -> str:
    """An empty database; returns its SQLAlchemy URL."""
    await _admin(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')


def asyncpg_dsn(url: str) -> str:
    """The DSN asyncpg connects with, from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.asynccontextmanager
async def new_database() -> AsyncIterator[str]:
    """Yields the SQLAlchemy URL of an empty database."""
    name = f"vodgate_test_{uuid.uuid4().hex[:12]}"
    url = await create_database(name)
    try:
        yield url
    finally:
        await drop_database(name)


async def _admin(statement: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()
