"""Which upload each direct-upload token created: a token creates one upload, once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import upload_token_uses


class SqlTokenUses:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, token_id: str, tenant_id: str, now: dt.datetime) -> bool:
        """True the first time a token creates an upload; False ever after."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(upload_token_uses).values(
                        token_id=token_id, tenant_id=tenant_id, used_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    async def bind(self, token_id: str, upload_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(upload_token_uses)
                .where(upload_token_uses.c.token_id == token_id)
                .values(upload_id=upload_id)
            )

    async def upload_of(self, token_id: str) -> str | None:
        query = select(upload_token_uses.c.upload_id).where(
            upload_token_uses.c.token_id == token_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else row.upload_id
