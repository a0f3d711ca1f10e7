"""The aiohttp application: routes and middlewares. Its background loops are the runtime
supervisor's, started and stopped with the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.http import (
    account_routes,
    api,
    bank_routes,
    event_routes,
    openapi,
    parser_errors,
    review_routes,
    token_routes,
    tus,
)
from gateway.http.app_keys import SERVICES
from gateway.http.middleware import add_tus_headers, errors_as_json, observe, tus_version
from gateway.runtime.background import build_background
from gateway.runtime.wiring import Services

logger = logging.getLogger(__name__)

# aiohttp refuses larger header lines with a plain-text 400 before our code runs; 2 MiB lets
# an oversized Upload-Metadata reach the parser and get a JSON error (limit: settings).
MAX_HEADER_BYTES = 2 * 1024 * 1024


def create_app(services: Services) -> web.Application:
    parser_errors.install()  # no raw header bytes (keys) from aiohttp's parser in the log
    app = web.Application(middlewares=[observe, errors_as_json, tus_version])
    app[SERVICES] = services
    tus.add_routes(app)
    api.add_routes(app)
    event_routes.add_routes(app)
    review_routes.add_routes(app)
    bank_routes.add_routes(app)
    account_routes.add_routes(app)
    token_routes.add_routes(app)
    openapi.add_routes(app)
    app.on_response_prepare.append(add_tus_headers)
    app.cleanup_ctx.append(_background)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Screening, delivery, webhooks, sweeps, retention, review SLA: see build_background."""
    async with build_background(app[SERVICES]).running():
        yield
