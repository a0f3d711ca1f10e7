"""The supervisor: loops start together, a failed loop starts again, stop drains then
cancels."""

from __future__ import annotations

import asyncio

import pytest

from gateway.runtime import supervisor as supervisor_module
from gateway.runtime.supervisor import Supervisor


async def test_a_loop_that_fails_is_started_again_and_stop_cancels_every_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervisor_module, "RESTART_DELAY_S", 0.0)
    runs = 0
    cancelled = asyncio.Event()
    second_run = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")
        second_run.set()
        await asyncio.Event().wait()

    async def steady() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    supervisor = Supervisor()
    supervisor.add("flaky", flaky)
    supervisor.add("steady", steady)
    async with supervisor.running():
        await asyncio.wait_for(second_run.wait(), 5)
    assert runs == 2
    assert cancelled.is_set()


async def test_before_stop_runs_before_the_loops_are_cancelled() -> None:
    order: list[str] = []

    async def writer() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            order.append("cancelled")

    async def drain() -> None:
        order.append("drained")

    supervisor = Supervisor()
    supervisor.add("writer", writer, before_stop=drain)
    async with supervisor.running():
        await asyncio.sleep(0)
    assert order == ["drained", "cancelled"]


async def test_every_runs_at_once_and_survives_a_failing_round() -> None:
    rounds = 0
    third = asyncio.Event()

    async def job() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("one bad round")
        if rounds == 3:
            third.set()

    supervisor = Supervisor()
    supervisor.every("sweeper", 0.0, job)
    async with supervisor.running():
        await asyncio.wait_for(third.wait(), 5)
    assert rounds >= 3
