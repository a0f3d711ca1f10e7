"""Which upload each direct-upload token created: a token creates one upload, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.schema import upload_token_uses, uploads


class SqlTokenUses:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upload_of(self, token_id: str) -> str | None:
        query = select(upload_token_uses.c.upload_id).where(
            upload_token_uses.c.token_id == token_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else row.upload_id

    async def upload_state_of(self, token_id: str) -> str | None:
        query = (
            select(uploads.c.state)
            .join(upload_token_uses, upload_token_uses.c.upload_id == uploads.c.id)
            .where(upload_token_uses.c.token_id == token_id)
        )
        async with self._engine.connect() as conn:
            state: str | None = await conn.scalar(query)
        return state
