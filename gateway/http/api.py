"""REST routes under /v1, health and metrics."""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.domain.errors import Unauthorized
from gateway.domain.principals import Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate
from gateway.runtime.wiring import readiness


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/uploads/{upload_id}", get_upload)
    app.router.add_get("/v1/uploads/{upload_id}/evidence/{name}", get_evidence)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def get_upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    return web.json_response(await services.views.upload(upload))


async def get_evidence(request: web.Request) -> web.StreamResponse:
    """One evidence thumbnail, by a name its decision lists."""
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    path = await services.views.evidence_file(upload.id, request.match_info["name"])
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"}
    )


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Its dependencies are /readyz's business (a database
    outage must not get every instance restarted)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the database and every object store answer, else 503 naming
    which does not (a load balancer sends no uploads there meanwhile)."""
    checks = await readiness(request.app[SERVICES])
    ready = all(check == "ok" for check in checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text. Open by default (a scraper on the operators' network); with
    `metrics_token` set, only `Authorization: Bearer <token>` reads it."""
    services = request.app[SERVICES]
    token = services.settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise Unauthorized(
                "the metrics need the scrape token", headers={"WWW-Authenticate": "Bearer"}
            )
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
