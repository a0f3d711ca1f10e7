"""Fleet: what /metrics says about every process on the shared database, from any one of
them: workers alive per stage, job queue depth and age per stage. Each process marks itself
alive on each round, with the stages its workers run."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from gateway.domain.jobs import MAX_ATTEMPTS
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import JobQueue, WorkerRegistry
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)


class Fleet:
    def __init__(
        self,
        *,
        registry: WorkerRegistry,
        jobs: JobQueue,
        metrics: Metrics,
        clock: Clock,
        node: str,
        stages: list[str],
        interval_s: float,
    ) -> None:
        self._registry = registry
        self._jobs = jobs
        self._metrics = metrics
        self._clock = clock
        self._node = node
        self._stages = stages
        self._interval = dt.timedelta(seconds=interval_s)
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}"

    async def beat(self) -> None:
        """Mark this process alive, then read the fleet into the gauges."""
        now = self._clock.now()
        if self._stages:
            await self._registry.beat(self.worker_id, self._node, self._stages, now)
        # Missing three beats in a row counts as dead.
        alive = await self._registry.alive(now - 3 * self._interval)
        queues = await self._jobs.queue_stats(now)
        for stage in MAX_ATTEMPTS:
            self._metrics.workers_alive.labels(stage).set(alive.get(stage, 0))
            depth, age = queues.get(stage, (0, 0.0))
            self._metrics.queue_depth.labels(stage).set(depth)
            self._metrics.queue_age.labels(stage).set(age)

    async def leave(self) -> None:
        if self._stages:
            await self._registry.leave(self.worker_id)
