"""Direct-upload tokens and API keys over HTTP.

POST /v1/upload-tokens            with the tenant's API key: {"max_size", "metadata"?,
                                  "ttl_s"?} -> {"token", "expires_at", ...}; the browser or
                                  phone sends `Authorization: Bearer <token>` to /files/
POST /v1/upload-tokens/refresh    with a token still valid: the same grant, a new expiry
POST /v1/keys                     a second key for the caller's tenant (rotation)
DELETE /v1/keys/{key_id}          revoke one of the tenant's keys (and its tokens)
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.domain import upload_tokens
from gateway.domain.errors import KeyNotFound, TokenInvalid, TokenRequestInvalid
from gateway.domain.principals import Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate, bearer
from gateway.http.bodies import read_json


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_size: int = Field(gt=0)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16)
    ttl_s: int | None = Field(default=None, gt=0, le=3600)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/upload-tokens", issue)
    app.router.add_post("/v1/upload-tokens/refresh", refresh)
    app.router.add_route("OPTIONS", "/v1/upload-tokens/refresh", preflight)
    app.router.add_post("/v1/keys", add_key)
    app.router.add_delete("/v1/keys/{key_id}", revoke_key)


async def issue(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER)
    body: TokenRequest = await read_json(request, TokenRequest)
    unbindable = set(body.metadata) - upload_tokens.BINDABLE_METADATA
    if unbindable:
        raise TokenRequestInvalid(
            f"a token cannot fix {sorted(unbindable)}; it fixes only "
            f"{sorted(upload_tokens.BINDABLE_METADATA)}"
        )
    if body.max_size > services.ingest.max_size:
        raise TokenRequestInvalid(f"max_size is above Tus-Max-Size ({services.ingest.max_size})")
    tokens = services.upload_tokens
    ttl = tokens.default_ttl if body.ttl_s is None else dt.timedelta(seconds=body.ttl_s)
    granted = await tokens.issue(principal, body.max_size, body.metadata, ttl)
    return web.json_response(granted, status=201)


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for a browser's refresh (the headers come from the middleware)."""
    return web.Response(status=204)


async def refresh(request: web.Request) -> web.Response:
    credential = bearer(request)
    if credential is None or not upload_tokens.is_token(credential):
        raise TokenInvalid("send the upload token as Authorization: Bearer <token>")
    return web.json_response(await request.app[SERVICES].upload_tokens.refresh(credential))


async def add_key(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER, Role.REVIEWER)
    record = await services.tenants.find_key(principal.key_id)
    role = Role.UPLOADER if record is None else record.role
    key = await services.tenants.add_key(principal.tenant_id, role, services.clock.now())
    return web.json_response({"key_id": key.key_id, "api_key": key.plaintext}, status=201)


async def revoke_key(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await authenticate(request, Role.UPLOADER, Role.REVIEWER)
    key_id = request.match_info["key_id"]
    if not await services.tenants.revoke_key(principal.tenant_id, key_id, services.clock.now()):
        raise KeyNotFound("no such key")
    return web.Response(status=204)
