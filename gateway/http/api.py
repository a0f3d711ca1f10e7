"""REST routes under /v1, health and metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.db.decisions import load_decision
from gateway.db.uploads import UploadEvent, UploadRecord
from gateway.domain.keys import Role
from gateway.http.auth import authenticate
from gateway.http.keys import SERVICES


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/uploads/{upload_id}", get_upload)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


async def get_upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    events = await services.uploads.events(upload.id)
    view = upload_view(upload, events)
    view["decision"] = await load_decision(services.engine, upload.id)
    return web.json_response(view)


def upload_view(upload: UploadRecord, events: list[UploadEvent]) -> dict[str, Any]:
    return {
        "id": upload.id,
        "state": upload.state.value,
        "error_code": upload.error_code,
        "offset": upload.offset,
        "length": upload.length,
        "metadata": upload.metadata,
        "created_at": upload.created_at.isoformat(),
        "updated_at": upload.updated_at.isoformat(),
        "expires_at": upload.expires_at.isoformat() if upload.expires_at else None,
        "completed_at": upload.completed_at.isoformat() if upload.completed_at else None,
        "trail": [
            {
                "at": e.at.isoformat(),
                "from": e.from_state,
                "to": e.to_state,
                "code": e.code,
                "actor": e.actor,
            }
            for e in events
        ],
    }


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[SERVICES].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
