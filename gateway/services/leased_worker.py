"""LeasedWorker: the loop every pipeline worker shares. It claims a job of its stages under a
lease, keeps the lease alive with a heartbeat while the work runs, and sleeps until woken
(work made in this process) or the poll interval passes (work made by other processes).

Stopping (SIGTERM): `stop_claiming`, then the supervisor waits a grace period for the job
in hand (`busy`) and cancels; a job cancelled mid-way is handed back to the queue at once,
its attempt not counted. A SIGKILL loses only the lease, which lapses."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable

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
        self._stopping = False
        self._current: Job | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        # Called with the stage of each job handed back unfinished at a stop.
        self.on_hand_back: Callable[[str], None] = lambda stage: None

    @property
    def busy(self) -> bool:
        return self._current is not None

    async def idle(self) -> None:
        """Returns once no job is in hand."""
        await self._idle.wait()

    def stop_claiming(self) -> None:
        """Take no new job; the one in hand runs on until it ends or is cancelled."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Claim and process jobs until cancelled."""
        while True:
            try:
                worked = await self.run_once()
            except Exception:  # keep the worker alive; the job's lease will lapse
                logger.exception("worker.loop_failed", extra={"actor": self.actor})
                worked = False
            if not worked:
                if self._stopping:
                    await asyncio.Event().wait()  # idle until cancelled
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                self._wake.clear()

    async def run_once(self) -> bool:
        if self._stopping:
            return False
        now = self._clock.now()
        job = await self._jobs.claim(self.owner, now, self._lease, self.stages, self.node)
        if job is None:
            return False
        self._current = job
        self._idle.clear()
        try:
            await self.handle(job)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(job))
            raise
        finally:
            self._current = None
            self._idle.set()
        return True

    async def _hand_back(self, job: Job) -> None:
        try:
            if await self._jobs.hand_back(job, self.owner, self._clock.now()):
                self.on_hand_back(job.stage)
                logger.info("job.handed_back", extra={"job_id": job.id, "stage": job.stage})
        except Exception:  # the lease lapses instead: the job comes back all the same
            logger.warning("job.hand_back_failed", extra={"job_id": job.id}, exc_info=True)

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
