"""REST routes under /v1, health and metrics."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.domain.errors import QueryInvalid, Unauthorized
from gateway.domain.principals import Role
from gateway.domain.states import UploadState
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate, bearer
from gateway.http.params import ascii_number
from gateway.runtime.readiness import readiness


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/uploads", list_uploads)
    app.router.add_get("/v1/uploads/{upload_id}", get_upload)
    app.router.add_get("/v1/uploads/{upload_id}/evidence/{name}", get_evidence)
    app.router.add_get("/v1/uploads/{upload_id}/playback", playback)
    app.router.add_get("/v1/playback/{upload_id}/{name}", playback_file)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


# Verdicts a decision may carry (what `?verdict=` filters on).
VERDICTS = ("pass", "review", "block", "error")
MAX_PAGE = 200


async def list_uploads(request: web.Request) -> web.Response:
    """The caller's own uploads, newest first: ?state=a,b&verdict=&since=&until=
    (ISO 8601 with offset)&limit=(1-200, default 50)&cursor= (the last page's next_cursor)."""
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    query = request.query
    states = []
    for raw in filter(None, query.get("state", "").split(",")):
        try:
            states.append(UploadState(raw))
        except ValueError:
            raise QueryInvalid(f"state: not an upload state: {raw!r}") from None
    verdict = query.get("verdict")
    if verdict is not None and verdict not in VERDICTS:
        raise QueryInvalid(f"verdict: one of {', '.join(VERDICTS)}")
    limit = 50 if "limit" not in query else ascii_number(query["limit"])
    if limit is None or not 1 <= limit <= MAX_PAGE:
        raise QueryInvalid(f"limit: a number from 1 to {MAX_PAGE}")
    page = await services.views.page(
        principal.tenant_id,
        states=states,
        verdict=verdict,
        since=_instant(query, "since"),
        until=_instant(query, "until"),
        cursor=query.get("cursor"),
        limit=limit,
    )
    return web.json_response(page)


def _instant(query: Mapping[str, str], name: str) -> dt.datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise QueryInvalid(f"{name}: an ISO 8601 time with its offset") from None
    if value.tzinfo is None:
        raise QueryInvalid(f"{name}: give the time with its offset")
    return value.astimezone(dt.UTC)


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


async def playback(request: web.Request) -> web.Response:
    """Short-lived links to the approved upload's source and renditions (403 otherwise)."""
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    return web.json_response(await services.playback.links(upload))


async def playback_file(request: web.Request) -> web.StreamResponse:
    """A gateway-served playback link (local destination): signed, short-lived, and the
    upload and the account checked again at each fetch. Range requests work (seeking)."""
    services = request.app[SERVICES]
    expires = ascii_number(request.query.get("expires", ""))
    if expires is None:
        raise QueryInvalid("expires: the link's expiry")
    upload, path = await services.playback.local_file(
        request.match_info["upload_id"],
        request.match_info["name"],
        expires,
        request.query.get("sig", ""),
    )
    await services.accounts.check_allows_service(upload.tenant_id)
    return web.FileResponse(path, headers={"Cache-Control": "private, no-store"})


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
        # surrogateescape: header bytes that are not UTF-8 compare as themselves (no 500).
        given = (bearer(request) or "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, token.get_secret_value().encode()):
            raise Unauthorized(
                "the metrics need the scrape token", headers={"WWW-Authenticate": "Bearer"}
            )
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
