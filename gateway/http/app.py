"""The aiohttp application: routes, middlewares and the background work it owns."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from gateway.http import api, event_routes, review_routes, tus
from gateway.http.app_keys import SERVICES
from gateway.http.middleware import add_tus_headers, errors_as_json, observe, tus_version
from gateway.runtime.wiring import Services, build_workers

logger = logging.getLogger(__name__)

# aiohttp refuses larger header lines with a plain-text 400 before our code runs; 2 MiB lets
# an oversized Upload-Metadata reach the parser and get a JSON error (limit: settings).
MAX_HEADER_BYTES = 2 * 1024 * 1024
# How often retention of the access log is enforced (seconds).
ACCESSLOG_PRUNE_INTERVAL_S = 3600.0
# How often rejected uploads past their evidence retention are swept (seconds).
REJECTED_SWEEP_INTERVAL_S = 3600.0


def create_app(services: Services) -> web.Application:
    app = web.Application(middlewares=[observe, errors_as_json, tus_version])
    app[SERVICES] = services
    tus.add_routes(app)
    api.add_routes(app)
    event_routes.add_routes(app)
    review_routes.add_routes(app)
    app.on_response_prepare.append(add_tus_headers)
    app.cleanup_ctx.append(_accesslog_writer)
    app.cleanup_ctx.append(_expiry_sweeper)
    app.cleanup_ctx.append(_accesslog_pruner)
    app.cleanup_ctx.append(_pipeline_workers)
    app.cleanup_ctx.append(_review_upkeep)
    return app


async def _review_upkeep(app: web.Application) -> AsyncIterator[None]:
    """SLA gauges and overdue alerts; destroying rejected uploads' evidence after retention."""
    services = app[SERVICES]
    watch = _every(services.settings.review_sla_check_s, services.review.watch_sla)
    sweep = _every(REJECTED_SWEEP_INTERVAL_S, services.review.sweep_rejected)
    async with _background(watch, "review-sla"), _background(sweep, "rejected-sweeper"):
        yield


async def _pipeline_workers(app: web.Application) -> AsyncIterator[None]:
    """Screening, delivery and webhook loops (each sized by settings)."""
    async with contextlib.AsyncExitStack() as stack:
        for name, run in build_workers(app[SERVICES]):
            await stack.enter_async_context(_background(run, name))
        yield


async def _accesslog_writer(app: web.Application) -> AsyncIterator[None]:
    writer = app[SERVICES].accesslog
    async with _background(writer.run, "accesslog-writer"):
        yield
        # Requests have finished by now: write what they logged before the writer stops.
        await writer.drain()


async def _expiry_sweeper(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    sweep = _every(services.settings.expiry_sweep_interval_s, services.ingest.sweep_expired)
    async with _background(sweep, "expiry-sweeper"):
        yield


async def _accesslog_pruner(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]

    async def prune() -> int:
        keep = dt.timedelta(days=services.settings.accesslog_retention_days)
        return await services.accesslog_repository.prune(services.clock.now() - keep)

    async with _background(_every(ACCESSLOG_PRUNE_INTERVAL_S, prune), "accesslog-pruner"):
        yield


def _every(interval_s: float, job: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[None]]:
    """A loop that runs `job` now and then every `interval_s`, logging (not raising) failures."""

    async def loop() -> None:
        while True:
            try:
                await job()
            except Exception:
                logger.exception("background.job_failed", extra={"job": job.__qualname__})
            await asyncio.sleep(interval_s)

    return loop


@contextlib.asynccontextmanager
async def _background(
    run: Callable[[], Awaitable[None]], name: str
) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.ensure_future(run())
    task.set_name(name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
