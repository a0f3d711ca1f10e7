"""The supervisor: every background loop of a `serve` or `worker` process, started together
and stopped together.

A loop that dies of an error is logged and started again after a pause (never a silent
death); stopping runs each loop's `before_stop` (the access-log writer drains), then cancels
every task and waits for it, within a bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Seconds before a loop that raised is started again.
RESTART_DELAY_S = 1.0
# Seconds `stop` waits for the cancelled loops to finish.
STOP_TIMEOUT_S = 30.0

Loop = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    run: Loop
    before_stop: Callable[[], Awaitable[None]] | None


class Supervisor:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._first_stops: list[tuple[str, Callable[[], Awaitable[None]]]] = []

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def add(
        self, name: str, run: Loop, before_stop: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """A loop that runs until cancelled."""
        self._entries.append(_Entry(name, run, before_stop))

    def before_all_stops(self, name: str, hook: Callable[[], Awaitable[None]]) -> None:
        """`hook` runs at stop before every loop's own `before_stop`, in the order added."""
        self._first_stops.append((name, hook))

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
        """`job` now and then every `interval_s`; a failure is logged and the next round runs."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except Exception:
                    logger.exception("background.job_failed", extra={"job": name})
                await asyncio.sleep(interval_s)

        self.add(name, loop)

    async def start(self) -> None:
        for entry in self._entries:
            self._tasks.append(asyncio.create_task(self._keep_running(entry), name=entry.name))
        logger.info("supervisor.started", extra={"loops": self.names})

    async def stop(self) -> None:
        hooks = [*self._first_stops]
        hooks += [(e.name, e.before_stop) for e in self._entries if e.before_stop is not None]
        for name, hook in hooks:
            try:
                await hook()
            except Exception:
                logger.exception("supervisor.before_stop_failed", extra={"loop": name})
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
            if pending:
                logger.error(
                    "supervisor.stop_timed_out", extra={"loops": [t.get_name() for t in pending]}
                )
        self._tasks.clear()
        logger.info("supervisor.stopped")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    @staticmethod
    async def _keep_running(entry: _Entry) -> None:
        while True:
            try:
                await entry.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background.loop_failed", extra={"loop": entry.name})
            else:
                logger.error("background.loop_ended", extra={"loop": entry.name})
            await asyncio.sleep(RESTART_DELAY_S)
