"""REST routes under /v1, health and metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.adapters.db.decisions import load_decision
from gateway.adapters.db.stored_objects import delivery_view
from gateway.adapters.db.uploads import UploadEvent, UploadRecord
from gateway.domain.errors import NotFound
from gateway.domain.principals import Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/uploads/{upload_id}", get_upload)
    app.router.add_get("/v1/uploads/{upload_id}/evidence/{name}", get_evidence)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


async def get_upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    events = await services.uploads.events(upload.id)
    view = upload_view(upload, events)
    decision = await load_decision(services.engine, upload.id)
    for item in (decision or {}).get("evidence", []):
        if "file" in item:
            item["url"] = f"/v1/uploads/{upload.id}/evidence/{item['file']}"
    view["decision"] = decision
    view.update(await delivery_view(services.engine, upload.id))
    # Human decisions, without who made them (reviewers are not the tenant's business).
    view["review"] = [
        {
            "kind": item.kind.value,
            "state": item.state,
            "decision": item.decision,
            "clauses": item.decision_clauses,
            "reason": item.reason,
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        }
        for item in await services.review.reviews.for_upload(upload.id)
    ]
    return web.json_response(view)


async def get_evidence(request: web.Request) -> web.StreamResponse:
    """One evidence thumbnail. Only names the decision lists are served: the name never
    reaches the filesystem unchecked."""
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    upload = await services.ingest.get_any_state(principal, request.match_info["upload_id"])
    decision = await load_decision(services.engine, upload.id) or {}
    name = request.match_info["name"]
    if name not in {item.get("file") for item in decision.get("evidence", [])}:
        raise NotFound("no such evidence frame for this upload")
    path = services.settings.evidence_dir / upload.id / name
    if not path.is_file():
        raise NotFound("the evidence frame is no longer kept")
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"}
    )


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
