"""Screening decisions: verdict, policy id and version, and the evidence body."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import decisions


async def save_decision(
    conn: AsyncConnection,
    upload_id: str,
    verdict: str,
    body: dict[str, Any],
    now: dt.datetime,
) -> None:
    """In the caller's transaction; a re-run (job retried after a crash) replaces the row."""
    policy = body.get("policy") or {}
    await conn.execute(delete(decisions).where(decisions.c.upload_id == upload_id))
    await conn.execute(
        insert(decisions),
        {
            "upload_id": upload_id,
            "verdict": verdict,
            "policy_id": policy.get("id", ""),
            "policy_version": int(policy.get("version", 0)),
            "body": body,
            "created_at": now,
        },
    )


async def load_decision(engine: AsyncEngine, upload_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(decisions.c.body).where(decisions.c.upload_id == upload_id))
        ).first()
    return None if row is None else dict(row.body)
