"""Routes for the moderation team (reviewer and admin keys; an uploader key gets 403), the
tenant's appeal, and the review page at /review.

The page's <video> and <img> elements cannot send an Authorization header, so a claim hands
the lease holder a random media token; `?token=` lets those two routes in while the lease
lasts, and nothing else."""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.banks import BankKind
from gateway.domain.errors import (
    BankInputInvalid,
    NotFound,
    QueryInvalid,
    ReviewItemNotFound,
    ReviewLeaseNotHeld,
    ReviewVideoGone,
    Unauthorized,
)
from gateway.domain.principals import Principal, Role
from gateway.domain.review_rules import OPEN, ItemKind, ReviewItem, Sight
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate
from gateway.http.bodies import read_json
from gateway.http.params import ascii_number
from gateway.runtime.screening_wiring import build_bank_service
from gateway.services.review import reviewer_id
from gateway.services.views import decision_json

STATIC_DIR = Path(__file__).parent / "static" / "review"
MAX_QUEUE_PAGE = 200
# Counts in a listing stop here ("10000+"): counting a deeper queue exactly costs more than
# the listing itself. The Prometheus gauges carry the exact depth.
QUEUE_COUNT_CAP = 10_000


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str
    clauses: list[str] = Field(default_factory=list, max_length=20)
    reason: str = ""
    # A rejected video's hashes go into this prohibited bank with the decision: its
    # re-uploads are then blocked without a human.
    add_to_bank: str | None = Field(default=None, max_length=64)


class AppealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statement: str


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/review/queue", queue)
    app.router.add_get("/v1/review/log", decision_log)
    app.router.add_get("/v1/review/banks", prohibited_banks)
    app.router.add_get("/v1/review/items/{item_id}", show_item)
    app.router.add_post("/v1/review/items/{item_id}/claim", claim)
    app.router.add_post("/v1/review/items/{item_id}/release", release)
    app.router.add_post("/v1/review/items/{item_id}/decision", decide)
    app.router.add_get("/v1/review/items/{item_id}/video", video)
    app.router.add_get("/v1/review/items/{item_id}/evidence/{name}", evidence)
    app.router.add_post("/v1/uploads/{upload_id}/appeal", appeal)
    app.router.add_get("/review", page)
    app.router.add_static("/review/static", STATIC_DIR)


async def _reviewer(request: web.Request) -> Any:
    return await authenticate(request, Role.REVIEWER, Role.ADMIN)


def _item_id(request: web.Request) -> int:
    raw = request.match_info["item_id"]
    item_id = ascii_number(raw)
    if item_id is None:
        raise ReviewItemNotFound(f"no review item {raw[:40]!r}")
    return item_id


def item_json(item: ReviewItem, sight: Sight | None = None) -> dict[str, Any]:
    """An item for reviewers, its decision and decider as far as `sight` lets them see (none
    without). Who holds the lease shows on an open item only: a decided item's holder was
    its decider (blind 二审)."""
    held = item.state == OPEN
    body: dict[str, Any] = {
        "id": item.id,
        "upload_id": item.upload_id,
        "tenant_id": item.tenant_id,
        "kind": item.kind.value,
        "state": item.state,
        "clauses": item.clauses,
        "severity": item.severity,
        "score": round(item.score, 4),
        "due_at": item.due_at.isoformat(),
        "created_at": item.created_at.isoformat(),
        "claimed_by": item.claimed_by if held else None,
        "lease_expires_at": (
            item.lease_expires_at.isoformat() if held and item.lease_expires_at else None
        ),
    }
    if sight is not None and sight.decision(item) and item.decided_at is not None:
        body.update(
            decided_by=item.decided_by if sight.decider(item) else None,
            decision=item.decision,
            decision_clauses=item.decision_clauses,
            reason=item.reason,
            decided_at=item.decided_at.isoformat(),
        )
    return body


async def queue(request: web.Request) -> web.Response:
    await _reviewer(request)
    services = request.app[SERVICES]
    query = request.query
    limit = ascii_number(query.get("limit", "50"))
    if limit is None:
        raise QueryInvalid("limit must be a positive integer")
    now = services.clock.now()
    items = await services.review.reviews.queue(
        now,
        clause=query.get("clause") or None,
        tenant_id=query.get("tenant") or None,
        overdue=query.get("overdue", "").lower() in ("1", "true", "yes"),
        limit=max(1, min(MAX_QUEUE_PAGE, limit)),
    )
    counts = await services.review.reviews.counts(now, cap=QUEUE_COUNT_CAP)
    reviewers = await services.tenants.reviewer_actors()
    listed = []
    for item in items:
        shown = item_json(item)
        # Every reviewer decided this upload before: no one but an admin may take it.
        shown["needs_admin"] = item.kind == ItemKind.ESCALATION or reviewers <= set(item.excluded)
        listed.append(shown)
    return web.json_response(
        {
            "items": listed,
            "counts": counts,
            "now": now.isoformat(),
        }
    )


async def show_item(request: web.Request) -> web.Response:
    """The item with its evidence. A second reviewer sees the first decision only after
    deciding (blind 二审)."""
    principal = await _reviewer(request)
    services = request.app[SERVICES]
    item = await services.review.reviews.get(_item_id(request))
    now = services.clock.now()
    holder = item.held_by(reviewer_id(principal), now)
    upload = await services.uploads.get_internal(item.upload_id)
    if upload is None:
        raise NotFound("the upload is gone")
    token = f"?token={item.media_token}" if holder and item.media_token else ""
    record = await services.views.decision(item.upload_id)
    decision = decision_json(record, f"/v1/review/items/{item.id}/evidence/", token) or {}
    viewer = reviewer_id(principal)
    of_upload = await services.review.reviews.for_upload(item.upload_id)
    # While a second review or an escalation is open, earlier decisions stay hidden from
    # every reviewer but their author, here and in the log (blind 二审); while any review
    # is open, so does who decided them.
    sight = Sight.of(of_upload, viewer)
    earlier = [
        i for i in of_upload if i.id != item.id and i.decided_at is not None and sight.decision(i)
    ]
    policy = services.policy
    hits = (record.hits or ()) if record is not None else ()
    fired = set(item.clauses) | {hit.item for hit in hits}
    body = {
        "item": item_json(item, sight),
        "holder": holder,
        "video_url": f"/v1/review/items/{item.id}/video{token}" if holder else None,
        "upload": {
            "id": upload.id,
            "state": upload.state.value,
            "metadata": upload.metadata,
            "length": upload.length,
            "licence_id": upload.licence_id,
        },
        "decision": decision,
        "clauses": [
            {
                "id": p.id,
                "clause": p.clause,
                "text_zh": p.text_zh,
                "gloss_en": p.gloss_en,
                "fired": p.id in fired,
                "second_review": p.second_review,
            }
            for p in policy.items
        ],
        "earlier_decisions": [item_json(i, sight) for i in earlier],
        "blind": sight.blinded,
        "appeal": await _appeal_statement(request, item),
    }
    return web.json_response(body)


async def _appeal_statement(request: web.Request, item: ReviewItem) -> str | None:
    if item.kind != ItemKind.APPEAL:
        return None
    return await request.app[SERVICES].review.reviews.appeal_statement(item.upload_id)


async def claim(request: web.Request) -> web.Response:
    principal = await _reviewer(request)
    item = await request.app[SERVICES].review.claim(principal, _item_id(request))
    return web.json_response(
        {
            **item_json(item),
            "media_token": item.media_token,
            "video_url": f"/v1/review/items/{item.id}/video?token={item.media_token}",
        }
    )


async def release(request: web.Request) -> web.Response:
    principal = await _reviewer(request)
    await request.app[SERVICES].review.release(principal, _item_id(request))
    return web.json_response({"released": True})


async def decide(request: web.Request) -> web.Response:
    principal = await _reviewer(request)
    item_id = _item_id(request)
    body: DecisionRequest = await read_json(request, DecisionRequest)
    services = request.app[SERVICES]
    if body.add_to_bank is None:
        # Only the holder of a live lease gets through (409 otherwise): the service checks.
        result = await services.review.decide(
            principal, item_id, body.decision, body.clauses, body.reason
        )
        return web.json_response(result)
    return web.json_response(await _decide_into_bank(request, principal, item_id, body))


async def _decide_into_bank(
    request: web.Request, principal: Principal, item_id: int, body: DecisionRequest
) -> dict[str, Any]:
    """Reject and bank: the staged video is hashed first (it may be gone after the
    decision), the entry stored only once the rejection has committed."""
    services = request.app[SERVICES]
    banks = build_bank_service(services)
    if body.decision != "reject":
        raise BankInputInvalid("only a rejected video can be added to a bank")
    bank = await banks.check_target(body.add_to_bank or "")
    item = await services.review.reviews.get(item_id)
    if not item.held_by(reviewer_id(principal), services.clock.now()):
        raise ReviewLeaseNotHeld("claim this item first")
    async with services.staged.local_copy(item.upload_id) as path:
        entry = await banks.hash_file(
            path, reviewer_id(principal), upload_id=item.upload_id, reference=item.upload_id
        )
    result = await services.review.decide(
        principal, item_id, body.decision, body.clauses, body.reason
    )
    stored, _ = await banks.store_entry(bank.name, entry)
    result["bank_entry"] = {"bank": bank.name, "entry": stored.id, "frames": stored.frames}
    return result


async def prohibited_banks(request: web.Request) -> web.Response:
    """The banks a reviewer may add a rejected video to (for the page's menu)."""
    await _reviewer(request)
    banks = build_bank_service(request.app[SERVICES])
    listed = await banks.store.banks()
    return web.json_response(
        {
            "banks": [
                {"name": bank.name, "clause": bank.item}
                for bank, _ in listed
                if bank.kind == BankKind.PROHIBITED and bank.enabled
            ]
        }
    )


async def _media_access(request: web.Request) -> ReviewItem:
    """The lease holder, by Bearer key or by the claim's media token."""
    services = request.app[SERVICES]
    item = await services.review.reviews.get(_item_id(request))
    now = services.clock.now()
    token = request.query.get("token")
    if token is not None:
        live = item.lease_expires_at is not None and item.lease_expires_at >= now
        # As bytes: compare_digest raises TypeError on non-ASCII text (a 500, not a 401).
        given, expected = token.encode(), (item.media_token or "").encode()
        if expected and live and hmac.compare_digest(given, expected):
            return item
        raise Unauthorized("the media token is not valid (claim the item again)")
    principal = await _reviewer(request)
    if not item.held_by(reviewer_id(principal), now):
        raise ReviewLeaseNotHeld("claim this item first")
    return item


async def video(request: web.Request) -> web.StreamResponse:
    item = await _media_access(request)
    staged = request.app[SERVICES].staged
    presigned = staged.presign(item.upload_id)
    if presigned is not None:  # quarantined in S3: the player fetches (and seeks) there
        return web.Response(
            status=302, headers={"Location": presigned, "Cache-Control": "private, no-store"}
        )
    path = staged.path(item.upload_id)
    if not await asyncio.to_thread(path.is_file):
        raise ReviewVideoGone("the staged video is no longer kept")
    # FileResponse answers Range requests (206), so the player can seek to a flagged frame.
    return web.FileResponse(
        path, headers={"Content-Type": "video/mp4", "Cache-Control": "private, no-store"}
    )


async def evidence(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if "token" in request.query:
        item = await _media_access(request)
    else:
        await _reviewer(request)
        item = await services.review.reviews.get(_item_id(request))
    path = await services.views.review_evidence_file(item.upload_id, request.match_info["name"])
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


async def decision_log(request: web.Request) -> web.StreamResponse:
    principal = await _reviewer(request)
    rows = await request.app[SERVICES].review.decision_log(principal)
    if request.query.get("format") != "csv":
        return web.json_response({"decisions": rows})
    buffer = io.StringIO()
    fields = ["decided_at", "item_id", "upload_id", "tenant_id", "kind", "decided_by",
              "decision", "clauses", "reason"]  # fmt: skip
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="review-decisions.csv"'},
    )


async def appeal(request: web.Request) -> web.Response:
    principal = await authenticate(request, Role.UPLOADER)
    body: AppealRequest = await read_json(request, AppealRequest)
    item_id = await request.app[SERVICES].review.appeal(
        principal, request.match_info["upload_id"], body.statement
    )
    return web.json_response({"appeal_item_id": item_id}, status=201)


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
