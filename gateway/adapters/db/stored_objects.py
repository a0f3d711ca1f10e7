"""What reached the destination store (source and renditions) and the release receipts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import release_receipts, stored_objects
from gateway.domain.jobs import QUARANTINE
from gateway.domain.stored_copies import StoredCopy


class StoredObjectRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, upload_id: str, name: str) -> StoredCopy | None:
        query = select(stored_objects).where(
            stored_objects.c.upload_id == upload_id, stored_objects.c.name == name
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else StoredCopy(row.key, row.size, row.etag, row.sha256)

    async def view(self, upload_id: str) -> dict[str, Any]:
        """The stored source, the renditions and the release receipt."""
        async with self._engine.connect() as conn:
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


class StoredObjectWrites:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, upload_id: str, name: str, copy: StoredCopy, now: dt.datetime) -> None:
        """A re-run after a crash replaces the row."""
        where = (stored_objects.c.upload_id == upload_id, stored_objects.c.name == name)
        await self._conn.execute(delete(stored_objects).where(*where))
        await self._conn.execute(
            insert(stored_objects),
            {
                "upload_id": upload_id,
                "name": name,
                "key": copy.key,
                "size": copy.size,
                "etag": copy.etag,
                "sha256": copy.sha256,
                "stored_at": now,
            },
        )

    async def record_receipt(
        self, upload_id: str, receipt: dict[str, Any], now: dt.datetime
    ) -> None:
        where = release_receipts.c.upload_id == upload_id
        await self._conn.execute(delete(release_receipts).where(where))
        await self._conn.execute(
            insert(release_receipts), {"upload_id": upload_id, "body": receipt, "released_at": now}
        )
