"""Process entry points: the gateway (HTTP and in-process workers) and a worker-only process
(the same supervisor, no listener)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gateway.http.app import MAX_HEADER_BYTES, create_app
from gateway.http.app_keys import SERVICES
from gateway.runtime.background import build_background
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import (
    Services,
    build_bank_service,
    build_screener,
    close_services,
    open_services,
)

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


async def build_app(settings: Settings) -> web.Application:
    app = create_app(await _open(settings))

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
