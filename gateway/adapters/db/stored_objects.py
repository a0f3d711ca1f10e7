"""What reached the destination store (source and renditions) and the release receipts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.jobs import QUARANTINE
from gateway.adapters.db.schema import release_receipts, stored_objects


async def record_stored(
    conn: AsyncConnection,
    upload_id: str,
    name: str,
    key: str,
    etag: str,
    size: int,
    sha256: str,
    now: dt.datetime,
) -> None:
    """In the caller's transaction; a re-run after a crash replaces the row."""
    await conn.execute(
        delete(stored_objects).where(
            stored_objects.c.upload_id == upload_id, stored_objects.c.name == name
        )
    )
    await conn.execute(
        insert(stored_objects),
        {
            "upload_id": upload_id,
            "name": name,
            "key": key,
            "size": size,
            "etag": etag,
            "sha256": sha256,
            "stored_at": now,
        },
    )


async def stored_object(engine: AsyncEngine, upload_id: str, name: str) -> dict[str, Any] | None:
    query = select(stored_objects).where(
        stored_objects.c.upload_id == upload_id, stored_objects.c.name == name
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else {"key": row.key, "size": row.size, "etag": row.etag,
                                     "sha256": row.sha256}  # fmt: skip


async def record_receipt(
    conn: AsyncConnection, upload_id: str, body: dict[str, Any], now: dt.datetime
) -> None:
    await conn.execute(delete(release_receipts).where(release_receipts.c.upload_id == upload_id))
    await conn.execute(
        insert(release_receipts), {"upload_id": upload_id, "body": body, "released_at": now}
    )


async def delivery_view(engine: AsyncEngine, upload_id: str) -> dict[str, Any]:
    """The stored source, the renditions and the release receipt, for GET /v1/uploads/{id}."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(stored_objects)
                .where(stored_objects.c.upload_id == upload_id)
                .order_by(stored_objects.c.stored_at, stored_objects.c.name)
            )
        ).all()
        receipt = (
            await conn.execute(
                select(release_receipts.c.body).where(release_receipts.c.upload_id == upload_id)
            )
        ).scalar_one_or_none()
    objects = [
        {
            "name": r.name,
            "key": r.key,
            "size": r.size,
            "etag": r.etag,
            "sha256": r.sha256,
            "stored_at": r.stored_at.isoformat(),
        }
        for r in rows
    ]
    return {
        "stored_object": next((o for o in objects if o["name"] == "source"), None),
        "renditions": [o for o in objects if o["name"] not in ("source", QUARANTINE)],
        "release_receipt": receipt,
    }
