"""Process entry points: the gateway (HTTP and in-process workers) and a worker-only process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.http.app import MAX_HEADER_BYTES, create_app
from gateway.http.app_keys import SERVICES
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import build_screener, close_services, open_services

logger = logging.getLogger(__name__)


async def build_app(settings: Settings) -> web.Application:
    services = await open_services(settings)
    if settings.screening_workers > 0:
        # Models load and are checked here, before the gateway listens (ConfigError: exit 2).
        services.screener = await asyncio.to_thread(build_screener, settings)
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
    """Background work with no listener: runs the app's cleanup contexts until SIGTERM/SIGINT."""

    async def run() -> None:
        app = await build_app(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with _started(app):
            logger.info("worker.ready")
            await stop.wait()

    asyncio.run(run())


@contextlib.asynccontextmanager
async def _started(app: web.Application) -> AsyncIterator[None]:
    app.freeze()
    await app.startup()
    try:
        yield
    finally:
        await app.shutdown()
        await app.cleanup()
