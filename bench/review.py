"""Review queue benchmark: prints JSON figures (never asserted in tests).

    python bench/review.py [--items 100000] [--rounds 300] [--backend sqlite|postgresql|both]

Fills the queue with --items open review items (each with its upload in `review`), then
times the reviewer's three calls over HTTP against the in-process app: list the queue (the
50 oldest-due, with counts), claim the head item, decide it (approve: the upload moves on and
a forwarding job is committed). Prints p50/p99 in milliseconds for each. Target: p99 under
20 ms on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from gateway.adapters.db.schema import review_items, uploads  # noqa: E402
from gateway.domain.principals import Role  # noqa: E402
from gateway.http.app import create_app  # noqa: E402
from gateway.runtime.settings import Settings  # noqa: E402
from gateway.runtime.wiring import close_services, open_services  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 5000


async def fill(services: Any, tenant_id: str, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    for start in range(0, count, BATCH):
        ids = [uuid.uuid4().hex for _ in range(min(BATCH, count - start))]
        async with services.engine.begin() as conn:
            await conn.execute(
                insert(uploads),
                [
                    {
                        "id": i, "tenant_id": tenant_id, "state": "review", "length": 1,
                        "offset": 1, "metadata": {}, "licence_id": None, "error_code": None,
                        "created_at": now, "updated_at": now, "expires_at": None,
                        "completed_at": now,
                    }
                    for i in ids
                ],
            )  # fmt: skip
            await conn.execute(
                insert(review_items),
                [
                    {
                        "upload_id": i, "tenant_id": tenant_id, "kind": "first", "state": "open",
                        "clauses": ["3.1.10.3(3)"], "severity": 4, "score": 0.7,
                        "due_at": now + dt.timedelta(minutes=n % 600), "created_at": now,
                        "excluded": [], "overturns_block": False,
                    }
                    for n, i in enumerate(ids, start)
                ],
            )  # fmt: skip


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


async def run(settings: Settings, items: int, rounds: int) -> dict[str, Any]:
    services = await open_services(settings)
    try:
        now = services.clock.now()
        tenant_id, _ = await services.tenants.create("bench-tenant", Role.UPLOADER, now)
        _, key = await services.tenants.create("bench-reviewer", Role.REVIEWER, now)
        started = time.perf_counter()
        await fill(services, tenant_id, items)
        filled_s = time.perf_counter() - started
        if services.engine.dialect.name == "postgresql":
            # What autovacuum does after a bulk insert; without statistics the planner
            # scans the whole table for the capped counts.
            async with services.engine.begin() as conn:
                await conn.execute(text("ANALYZE review_items"))
        auth = {"Authorization": f"Bearer {key.plaintext}"}
        timings: dict[str, list[float]] = {"list": [], "claim": [], "decide": []}
        async with TestClient(TestServer(create_app(services))) as client:
            for _ in range(rounds):
                t0 = time.perf_counter()
                response = await client.get("/v1/review/queue?limit=50", headers=auth)
                head = (await response.json())["items"][0]["id"]
                t1 = time.perf_counter()
                response = await client.post(f"/v1/review/items/{head}/claim", headers=auth)
                assert response.status == 200, await response.text()
                t2 = time.perf_counter()
                response = await client.post(
                    f"/v1/review/items/{head}/decision",
                    json={"decision": "approve", "reason": "bench"},
                    headers=auth,
                )
                assert response.status == 200, await response.text()
                t3 = time.perf_counter()
                timings["list"].append(t1 - t0)
                timings["claim"].append(t2 - t1)
                timings["decide"].append(t3 - t2)
        return {
            "items": items,
            "rounds": rounds,
            "fill_s": round(filled_s, 1),
            **{name: percentiles(samples) for name, samples in timings.items()},
        }
    finally:
        await close_services(services)


async def on_postgres(workdir: Path, items: int, rounds: int) -> dict[str, Any]:
    name = f"vodgate_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        settings = Settings(
            data_dir=workdir / "pg", database_url=url, screening_workers=0, delivery_workers=0
        )
        return await run(settings, items, rounds)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        if args.backend in ("sqlite", "both"):
            settings = Settings(
                data_dir=workdir / "sqlite", screening_workers=0, delivery_workers=0
            )
            results["sqlite"] = asyncio.run(run(settings, args.items, args.rounds))
        if args.backend in ("postgresql", "both"):
            results["postgresql"] = asyncio.run(on_postgres(workdir, args.items, args.rounds))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
