"""The database connection goes round the tenants waiting for it: a tenant with many
statements queued cannot make another tenant's statement wait behind all of them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from gateway.adapters.db.engine import create_engine
from gateway.domain.requester import requester


async def test_a_waiting_tenant_is_served_between_a_busy_tenants_statements(
    tmp_path: Path,
) -> None:
    engine = await asyncio.to_thread(create_engine, f"sqlite+aiosqlite:///{tmp_path}/t.db")
    served: list[str] = []
    try:
        holder = await engine.connect()  # the one SQLite connection, taken

        async def statement(tenant: str) -> None:
            requester.set(tenant)
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                served.append(tenant)

        busy = [asyncio.create_task(statement("busy")) for _ in range(10)]
        await asyncio.sleep(0.05)  # all ten queued first
        quiet = asyncio.create_task(statement("quiet"))
        await asyncio.sleep(0.05)
        await holder.close()
        await asyncio.gather(*busy, quiet)
    finally:
        await engine.dispose()
    assert served.index("quiet") <= 1, served  # FIFO would serve it eleventh
    assert served.count("busy") == 10
