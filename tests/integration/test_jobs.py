"""Job claims are exclusive, with many workers racing on one database (SQLite here; the
PostgreSQL variant runs the same race), and a lapsed lease hands a job back."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from gateway.adapters.db.jobs import SCREENING, JobRepository
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant


async def make_jobs(services: Services, tenant_id: str, count: int) -> set[str]:
    """Complete uploads: each commits its screening job with it."""
    ids = set()
    now = services.clock.now()
    for _ in range(count):
        upload_id = uuid.uuid4().hex
        await services.uploads.create(
            upload_id=upload_id,
            tenant_id=tenant_id,
            length=1,
            offset=1,
            metadata={},
            licence_id=None,
            now=now,
            expires_at=now,
            actor="test",
        )
        ids.add(upload_id)
    return ids


async def race(jobs: JobRepository, now: dt.datetime, workers: int) -> list[str]:
    claimed: list[str] = []

    async def worker(name: str) -> None:
        while (job := await jobs.claim(name, now, dt.timedelta(minutes=5))) is not None:
            assert job.stage == SCREENING
            claimed.append(job.upload_id)

    await asyncio.gather(*(worker(f"w{i}") for i in range(workers)))
    return claimed


async def test_each_job_goes_to_exactly_one_of_many_workers(
    services: Services, tenant: Tenant
) -> None:
    ids = await make_jobs(services, tenant.tenant_id, 20)
    claimed = await race(services.jobs, services.clock.now(), workers=10)
    assert sorted(claimed) == sorted(ids)  # every job once, none twice


async def test_a_lapsed_lease_returns_the_job(
    services: Services, tenant: Tenant, clock: ManualClock
) -> None:
    (upload_id,) = await make_jobs(services, tenant.tenant_id, 1)
    first = await services.jobs.claim("dead-worker", clock.now(), dt.timedelta(seconds=60))
    assert first is not None
    assert await services.jobs.claim("other", clock.now(), dt.timedelta(seconds=60)) is None
    clock.advance(seconds=61)
    again = await services.jobs.claim("other", clock.now(), dt.timedelta(seconds=60))
    assert again is not None
    assert again.upload_id == upload_id
    assert again.attempts == 2
    # The dead worker's lease is gone: it can no longer renew.
    assert not await services.jobs.renew(first, "dead-worker", clock.now(), dt.timedelta(60))
    assert await services.jobs.renew(again, "other", clock.now(), dt.timedelta(seconds=60))
