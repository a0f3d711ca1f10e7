"""DeliveryWorker: claims delivery jobs under a lease and runs the stage each names.

The stages it runs are the ones the composition root gave it: quarantine only where staging
is s3, forward and transcode everywhere."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from gateway.domain.errors import GatewayError
from gateway.domain.jobs import Job, retry_delay
from gateway.domain.ports.persistence import JobQueue
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import ACTOR, DeliveryContext
from gateway.services.leased_worker import LeasedWorker
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
_S = UploadState


class DeliveryStage(Protocol):
    name: str

    async def run(self, job: Job, upload: UploadRecord) -> None: ...

    async def on_failure(self, job: Job, current: UploadRecord | None, last: bool) -> bool:
        """A stage's own answer to a failed attempt; True when it settled the job."""
        ...


class DeliveryWorker(LeasedWorker):
    actor = ACTOR

    def __init__(
        self,
        *,
        jobs: JobQueue,
        context: DeliveryContext,
        stages: Sequence[DeliveryStage],
        prepare_stores: Callable[[], Awaitable[None]],
        lease: dt.timedelta,
        wake: asyncio.Event | None = None,
        poll_interval_s: float = 2.0,
        retry_base_s: float = 5.0,
        node: str | None = None,
    ) -> None:
        super().__init__(
            jobs=jobs, clock=context.clock, lease=lease, wake=wake, poll_interval_s=poll_interval_s
        )
        self._context = context
        self._by_name = {stage.name: stage for stage in stages}
        self.stages = tuple(self._by_name)
        self._prepare_stores = prepare_stores
        self._stores_ready = False
        self._retry_base_s = retry_base_s
        self.node = node  # local staging: uploads whose bytes are on this node

    async def handle(self, job: Job) -> None:
        upload = await self._context.uploads.get_internal(job.upload_id)
        if upload is None:
            async with self._context.unit_of_work.begin() as tx:
                await tx.jobs.finish(job, self._clock.now())
            return
        try:
            async with self.heartbeat(job):
                if not self._stores_ready:  # S3 may be down at start: retried like any call
                    await self._prepare_stores()
                    self._stores_ready = True
                await self._by_name[job.stage].run(job, upload)
        except Exception as exc:
            await self._failed_attempt(job, upload, exc)

    async def _failed_attempt(self, job: Job, upload: UploadRecord, exc: Exception) -> None:
        code = exc.code if isinstance(exc, GatewayError) else "delivery_error"
        error = f"{code}: {exc}"[:500]  # for operators: the log and the job row
        logger.warning(
            "delivery.attempt_failed",
            extra={
                "upload_id": upload.id,
                "stage": job.stage,
                "attempt": job.attempts,
                "error": error,
            },
        )
        context = self._context
        context.metrics.delivery_failures.labels(stage=job.stage, code=code).inc()
        now = self._clock.now()
        current = await context.uploads.get_internal(upload.id)
        if await self._by_name[job.stage].on_failure(job, current, job.last_attempt):
            return
        if not job.last_attempt:
            delay = retry_delay(job.attempts, base_s=self._retry_base_s)
            await self._jobs.retry_later(job, now, delay, error)
            async with context.unit_of_work.begin() as tx:
                await tx.uploads.note(upload.id, now, self.actor, code)
            return
        from_state = current.state if current is not None else upload.state
        async with context.unit_of_work.begin() as tx:
            if from_state in (_S.FORWARDING, _S.TRANSCODING):
                await move(tx, upload.id, from_state, _S.FAILED, now, self.actor, code)
            await tx.jobs.fail(job, now, error)
