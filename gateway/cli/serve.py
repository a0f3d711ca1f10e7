"""Process entry points: the gateway (HTTP and in-process workers) and a worker-only process
(the same supervisor, no listener)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal

from aiohttp import web

from gateway.http.app import MAX_HEADER_BYTES, create_app
from gateway.http.app_keys import SERVICES
from gateway.runtime.background import build_background
from gateway.runtime.screening_wiring import build_bank_service, build_screener
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services, close_services, open_services

logger = logging.getLogger(__name__)


async def _open(settings: Settings) -> Services:
    services = await open_services(settings)
    services.banks = await asyncio.to_thread(build_bank_service, services)
    if settings.screening_workers > 0:
        # Models load and are checked here, before the gateway listens (ConfigError: exit 2).
        services.screener = await asyncio.to_thread(
            build_screener, settings, services.policy, services.engine
        )
    return services


# Staged bytes older than this with no upload row are orphans (a crash mid-creation).
ORPHAN_AGE = dt.timedelta(minutes=10)


async def build_app(settings: Settings) -> web.Application:
    services = await _open(settings)
    # Before listening: no creation of this node's is in flight, so every local staged file
    # without a row is a crash's orphan. S3 staging is shared: only old ones are swept.
    age = ORPHAN_AGE if settings.staging == "s3" else dt.timedelta(0)
    swept = await services.ingest.sweeper.sweep_orphans(age)
    if swept:
        logger.info("staging.orphans_swept", extra={"count": swept})
    # Likewise its PATCHes of a previous life: their leases would hold tenants' slots.
    cleared = await services.quotas.forget_node_patches()
    if cleared:
        logger.info("quota.node_patches_cleared", extra={"count": cleared})
    app = create_app(services)

    async def close(app: web.Application) -> None:
        await close_services(app[SERVICES])

    app.on_cleanup.append(close)
    return app


async def _serving_app(settings: Settings) -> web.Application:
    app = await build_app(settings)
    logger.info(
        "gateway.ready",
        extra={
            "url": f"http://{settings.host}:{settings.port}",
            "data_dir": str(settings.data_dir),
        },
    )
    return app


def serve(settings: Settings) -> None:
    web.run_app(
        _serving_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        max_field_size=MAX_HEADER_BYTES,
        max_line_size=MAX_HEADER_BYTES,
    )


def run_worker(settings: Settings) -> None:
    """The background loops with no listener, until SIGTERM or SIGINT."""

    async def run() -> None:
        services = await _open(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        supervisor = build_background(services)
        try:
            async with supervisor.running():
                logger.info("worker.ready", extra={"loops": supervisor.names})
                await stop.wait()
        finally:
            await close_services(services)

    asyncio.run(run())
