"""INSERT … ON CONFLICT DO UPDATE, in the dialect of the connection (SQLite and PostgreSQL
spell it alike, but SQLAlchemy keeps it per dialect), and aggregates' timestamps made aware."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.adapters.db.schema import UTCDateTime


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[Column[Any]],
    updates: Mapping[str, Any],
) -> None:
    """Insert `values`, or, when a row with the same `keys` exists, set `updates` on it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))


def aware(value: Any) -> dt.datetime | None:
    """An aggregate's timestamp (min(), max()): SQLite returns text, PostgreSQL a datetime;
    no column type converts it, so this does as the UTC column type would."""
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
