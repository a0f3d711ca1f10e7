"""LeasedWorker: the loop every pipeline worker shares. It claims a job of its stages under a
lease, keeps the lease alive with a heartbeat while the work runs, and sleeps until woken
(work made in this process) or the poll interval passes (work made by other processes)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import AsyncIterator

from gateway.domain.jobs import Job
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import JobQueue

logger = logging.getLogger(__name__)


class LeasedWorker:
    stages: tuple[str, ...] = ()
    actor = "worker"
    node: str | None = None  # also claims jobs pinned to this node

    def __init__(
        self,
        *,
        jobs: JobQueue,
        clock: Clock,
        lease: dt.timedelta,
        wake: asyncio.Event | None = None,
        poll_interval_s: float = 2.0,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        self._lease = lease
        self._poll_s = poll_interval_s
        self._wake = wake or asyncio.Event()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def run(self) -> None:
        """Claim and process jobs until cancelled."""
        while True:
            try:
                worked = await self.run_once()
            except Exception:  # keep the worker alive; the job's lease will lapse
                logger.exception("worker.loop_failed", extra={"actor": self.actor})
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                self._wake.clear()

    async def run_once(self) -> bool:
        now = self._clock.now()
        job = await self._jobs.claim(self.owner, now, self._lease, self.stages, self.node)
        if job is None:
            return False
        await self.handle(job)
        return True

    async def handle(self, job: Job) -> None:
        """Run one claimed job to an outcome: finished, failed, or retried later."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def heartbeat(self, job: Job) -> AsyncIterator[None]:
        """Renew the lease every third of its length while the work runs, so a short lease
        (quick take-over after a crash) never expires under a live worker."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self._lease.total_seconds() / 3)
                if not await self._jobs.renew(job, self.owner, self._clock.now(), self._lease):
                    logger.warning("job.lease_lost", extra={"job_id": job.id})
                    return

        task = asyncio.create_task(beat(), name=f"lease-{job.id}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
