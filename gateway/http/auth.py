"""Bearer-key authentication. Every route but discovery, health and metrics calls this."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.domain import upload_tokens
from gateway.domain.errors import Forbidden, Unauthorized
from gateway.domain.principals import Principal, Role, secret_matches, split_key
from gateway.domain.requester import requester
from gateway.domain.upload_tokens import UploadToken
from gateway.http.access_records import TENANT_KEY
from gateway.http.app_keys import SERVICES

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="vodgate"'}


def bearer(request: web.Request) -> str | None:
    """The credential of `Authorization: Bearer <credential>` (the only place one is read)."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


async def authenticate(
    request: web.Request, *roles: Role, allow_suspended: bool = False
) -> Principal:
    """The caller's principal; 401 without a valid key, 403 when its role may not do this or
    its account is suspended (`allow_suspended`: routes that tell it why)."""
    credential = bearer(request)
    parts = None if credential is None else split_key(credential)
    if parts is None:
        raise Unauthorized(
            "an API key is required: Authorization: Bearer <key>", headers=_CHALLENGE
        )
    key_id, secret = parts
    record = await request.app[SERVICES].tenants.find_key(key_id)
    # Compare even when the key id is unknown, so timing does not tell ids apart.
    stored = record.secret_hash if record is not None else "0" * 64
    if not secret_matches(secret, stored) or record is None:
        raise Unauthorized("the API key is not valid", headers=_CHALLENGE)
    request[TENANT_KEY] = record.tenant_id
    requester.set(record.tenant_id)  # its statements share the database fairly from here
    if roles and record.role not in roles and record.role != Role.ADMIN:
        raise Forbidden(f"this key's role {record.role.value!r} may not do this")
    if record.role != Role.ADMIN:  # operators' keys are never frozen nor rate-limited
        if not allow_suspended:
            # Clause 7.3.3.1: uploads, management and playback stop 24 h after unpaid arrears.
            record.account.check_allows_service(request.app[SERVICES].clock.now())
        await request.app[SERVICES].quotas.admit_request(record.tenant_id)
    return Principal(record.tenant_id, record.key_id, record.role)


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who may use tus: a tenant's key, or an upload token bound to one upload."""

    principal: Principal
    token: UploadToken | None = None


async def authenticate_uploader(request: web.Request) -> Uploader:
    """tus routes take an API key or, in its place, a direct-upload token (same header)."""
    credential = bearer(request)
    if credential is None or not upload_tokens.is_token(credential):
        return Uploader(await authenticate(request, Role.UPLOADER))
    services = request.app[SERVICES]
    principal, token, record = await services.upload_tokens.principal(credential)
    request[TENANT_KEY] = principal.tenant_id
    requester.set(principal.tenant_id)
    record.account.check_allows_service(services.clock.now())
    await services.quotas.admit_request(principal.tenant_id)
    return Uploader(principal, token)
