"""Stopping a worker process (SIGTERM): no new claims, the job in hand gets a grace period,
and one still running after it is handed back to the queue, its attempt not counted."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.adapters.db.schema import jobs
from gateway.domain.jobs import SCREENING, Job
from gateway.runtime.background import _drain
from gateway.runtime.supervisor import Supervisor
from gateway.runtime.wiring import Services
from gateway.services.leased_worker import LeasedWorker
from tests.conftest import ManualClock, Tenant
from tests.integration.test_jobs import make_jobs


class SlowStage(LeasedWorker):
    """A stage whose work takes `seconds` (the loop under test is LeasedWorker's)."""

    stages = (SCREENING,)

    def __init__(self, services: Services, seconds: float) -> None:
        super().__init__(jobs=services.jobs, clock=services.clock, lease=dt.timedelta(minutes=5))
        self.started = asyncio.Event()
        self.finished: list[str] = []
        self._seconds = seconds
        self._services = services

    async def handle(self, job: Job) -> None:
        self.started.set()
        await asyncio.sleep(self._seconds)
        async with self._services.unit_of_work.begin() as tx:
            await tx.jobs.finish(job, self._services.clock.now())
        self.finished.append(job.upload_id)


async def _job_row(services: Services) -> tuple[str, int, str | None]:
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(jobs.c.state, jobs.c.attempts, jobs.c.lease_owner))).one()
    return row.state, row.attempts, row.lease_owner


async def _stop_during_job(services: Services, work_s: float, grace_s: float) -> SlowStage:
    worker = SlowStage(services, work_s)
    worker.on_hand_back = lambda stage: services.metrics.jobs_handed_back.labels(stage).inc()
    supervisor = Supervisor()
    supervisor.add("slow", worker.run)
    supervisor.before_all_stops("drain", lambda: _drain([worker], grace_s))
    async with supervisor.running():
        await asyncio.wait_for(worker.started.wait(), 10)
    return worker


async def test_a_job_outlasting_the_grace_is_handed_back(
    services: Services, tenant: Tenant
) -> None:
    await make_jobs(services, tenant.tenant_id, 1)
    worker = await _stop_during_job(services, work_s=30, grace_s=0.2)
    assert worker.finished == []
    assert await _job_row(services) == ("queued", 0, None)  # free at once, attempt uncounted
    handed = services.metrics.jobs_handed_back.labels(SCREENING)._value.get()
    assert handed == 1


async def test_a_job_within_the_grace_finishes_and_nothing_new_is_claimed(
    services: Services, tenant: Tenant
) -> None:
    await make_jobs(services, tenant.tenant_id, 2)
    worker = await _stop_during_job(services, work_s=0.3, grace_s=10)
    assert len(worker.finished) == 1  # the one in hand; the second was never claimed
    async with services.engine.connect() as conn:
        states = sorted(r.state for r in await conn.execute(select(jobs.c.state)))
    assert states == ["done", "queued"]


async def test_metrics_count_live_workers_and_the_queue_per_stage(
    services: Services, tenant: Tenant, client: TestClient[object, object], clock: ManualClock
) -> None:
    from gateway.adapters.db.workers import SqlWorkerRegistry
    from gateway.services.fleet import Fleet

    await make_jobs(services, tenant.tenant_id, 3)
    clock.advance(seconds=40)

    def fleet(stages: list[str]) -> Fleet:
        return Fleet(
            registry=SqlWorkerRegistry(services.engine),
            jobs=services.jobs,
            metrics=services.metrics,
            clock=services.clock,
            node="n1",
            stages=stages,
            interval_s=10,
        )

    worker, gateway = fleet([SCREENING, "forward"]), fleet([])
    await worker.beat()
    await gateway.beat()  # a gateway without workers reads the fleet too
    text = await (await client.get("/metrics")).text()
    assert 'vodgate_workers_alive{stage="screening"} 1.0' in text
    assert 'vodgate_workers_alive{stage="transcode"} 0.0' in text
    assert 'vodgate_job_queue_depth{stage="screening"} 3.0' in text
    assert 'vodgate_job_queue_age_seconds{stage="screening"} 40.0' in text
    clock.advance(seconds=31)  # three beats missed: no longer alive
    await gateway.beat()
    text = await (await client.get("/metrics")).text()
    assert 'vodgate_workers_alive{stage="screening"} 0.0' in text
