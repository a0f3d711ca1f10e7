"""Job claims are exclusive, with many workers racing on one database (SQLite here; the
PostgreSQL variant runs the same race), and a lapsed lease hands a job back."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from gateway.adapters.db.jobs import SCREENING, JobRepository
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory


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


async def test_claims_take_turns_between_tenants(
    services: Services, make_tenant: TenantFactory, clock: ManualClock
) -> None:
    """Tenant X queues 30 jobs before tenant Y queues 2: one worker taking one job at a time
    reaches both of Y's within its first four claims, not after X's thirty."""
    x, y = await make_tenant(), await make_tenant()
    x_jobs = await make_jobs(services, x.tenant_id, 30)
    clock.advance(seconds=1)
    y_jobs = await make_jobs(services, y.tenant_id, 2)
    order: list[str] = []
    while (job := await services.jobs.claim("w", clock.now(), dt.timedelta(minutes=5))) is not None:
        order.append("y" if job.upload_id in y_jobs else "x")
        async with services.unit_of_work.begin() as tx:
            await tx.jobs.finish(job, clock.now())
        clock.advance(seconds=1)
    assert len(order) == len(x_jobs) + len(y_jobs)
    assert order[:4].count("y") == 2, order


async def test_a_tenant_at_its_limit_waits_while_others_run(
    services: Services, make_tenant: TenantFactory, clock: ManualClock
) -> None:
    x, y = await make_tenant(), await make_tenant()
    await make_jobs(services, x.tenant_id, 5)
    y_jobs = await make_jobs(services, y.tenant_id, 1)
    limited = JobRepository(services.engine, tenant_concurrency=1)
    lease = dt.timedelta(minutes=5)
    first = await limited.claim("w1", clock.now(), lease)
    second = await limited.claim("w2", clock.now(), lease)
    assert first is not None
    assert second is not None
    assert second.upload_id in y_jobs  # X has one running: Y's goes next
    assert await limited.claim("w3", clock.now(), lease) is None  # both at their limit
    clock.advance(minutes=6)  # X's lease lapses: its job (or another of X's) is claimable
    assert await limited.claim("w3", clock.now(), lease) is not None


async def test_a_stopping_worker_hands_its_job_back_uncounted(
    services: Services, tenant: Tenant, clock: ManualClock
) -> None:
    (upload_id,) = await make_jobs(services, tenant.tenant_id, 1)
    lease = dt.timedelta(minutes=5)
    held = await services.jobs.claim("stopping", clock.now(), lease)
    assert held is not None
    assert held.attempts == 1
    assert not await services.jobs.hand_back(held, "someone-else", clock.now())
    assert await services.jobs.hand_back(held, "stopping", clock.now())
    again = await services.jobs.claim("next", clock.now(), lease)  # at once, not after the lease
    assert again is not None
    assert (again.upload_id, again.attempts) == (upload_id, 1)
