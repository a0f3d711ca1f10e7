"""The pull API for customers who cannot receive webhooks.

GET  /v1/events?after=CURSOR&limit=N   events after the cursor (an event id), oldest
                                       first; without `after`, every unacknowledged one
POST /v1/events/ack {"ids": [...]}     acknowledged events are no longer listed without
                                       a cursor (they stay readable with one)
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.domain.errors import BodyInvalid, QueryInvalid
from gateway.domain.principals import Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate
from gateway.http.bodies import read_body
from gateway.http.params import ascii_number

MAX_PAGE = 500
MAX_ACK_BODY_BYTES = 64 * 1024


# Event ids are positive BIGINTs: anything else is refused here, not by the database.
EventId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[EventId] = Field(min_length=1, max_length=MAX_PAGE)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/events", list_events)
    app.router.add_post("/v1/events/ack", ack_events)


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    number = ascii_number(raw)
    if number is None:
        raise QueryInvalid(f"{name} must be a non-negative integer")
    return number


async def list_events(request: web.Request) -> web.Response:
    principal = await authenticate(request, Role.UPLOADER)
    after = _int_param(request, "after", None)
    limit = min(MAX_PAGE, max(1, _int_param(request, "limit", 100) or 1))
    events = await request.app[SERVICES].events.after(principal.tenant_id, after, limit)
    body: dict[str, Any] = {"events": events, "next": events[-1]["id"] if events else after}
    return web.json_response(body)


async def ack_events(request: web.Request) -> web.Response:
    principal = await authenticate(request, Role.UPLOADER)
    raw = await read_body(request, MAX_ACK_BODY_BYTES)
    try:
        ack = AckRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise BodyInvalid('expected {"ids": [event ids]}: ' + exc.errors()[0]["msg"]) from exc
    services = request.app[SERVICES]
    acked = await services.events.ack(principal.tenant_id, ack.ids, services.clock.now())
    return web.json_response({"acked": acked})
