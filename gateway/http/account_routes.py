"""Account standing (clause 7.3.3) over HTTP.

GET  /v1/account                                the caller's own standing, limits and usage
                                                (answered while suspended too: it says why)
GET  /v1/admin/tenants/{tenant_id}/standing     admin: a tenant's standing, purge receipt
POST /v1/admin/tenants/{tenant_id}/arrears      admin (the billing side): {"since": ISO 8601}
POST /v1/admin/tenants/{tenant_id}/paid         admin: the arrears are paid
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict

from gateway.domain.principals import Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate
from gateway.http.bodies import read_json


class Arrears(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/account", own_standing)
    app.router.add_get("/v1/admin/tenants/{tenant_id}/standing", standing)
    app.router.add_post("/v1/admin/tenants/{tenant_id}/arrears", arrears)
    app.router.add_post("/v1/admin/tenants/{tenant_id}/paid", paid)


async def own_standing(request: web.Request) -> web.Response:
    principal = await authenticate(request, Role.UPLOADER, Role.REVIEWER, allow_suspended=True)
    services = request.app[SERVICES]
    view = await services.accounts.standing(principal.tenant_id)
    view.pop("purge_receipt", None)
    view |= await services.quotas.view(principal.tenant_id)
    return web.json_response({"tenant_id": principal.tenant_id, **view})


async def standing(request: web.Request) -> web.Response:
    await authenticate(request, Role.ADMIN)
    tenant_id = request.match_info["tenant_id"]
    view = await request.app[SERVICES].accounts.standing(tenant_id)
    return web.json_response({"tenant_id": tenant_id, **view})


async def arrears(request: web.Request) -> web.Response:
    await authenticate(request, Role.ADMIN)
    body: Arrears = await read_json(request, Arrears)
    tenant_id = request.match_info["tenant_id"]
    since = body.since.astimezone(dt.UTC)
    view = await request.app[SERVICES].accounts.report_arrears(tenant_id, since)
    return web.json_response({"tenant_id": tenant_id, **view})


async def paid(request: web.Request) -> web.Response:
    await authenticate(request, Role.ADMIN)
    tenant_id = request.match_info["tenant_id"]
    view = await request.app[SERVICES].accounts.paid(tenant_id)
    return web.json_response({"tenant_id": tenant_id, **view})
