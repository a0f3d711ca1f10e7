"""OpenAPI 3.1 at /openapi.json: every registered route documented, request bodies from the
handlers' own models; and the authorisation matrix over every documented route: no key,
a revoked key, another tenant's key, the wrong role — each refused, and none tells whether
the object exists."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.http.openapi import OPS
from gateway.runtime.wiring import Services
from tests.conftest import TUS, Tenant, TenantFactory
from tests.helpers import creation_headers, upload_id_of

Client = TestClient[Any, Any]


async def test_every_registered_route_is_documented(client: Client) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    app: web.Application = client.server.app  # type: ignore[attr-defined]
    routes = [(r.method, r.resource.canonical) for r in app.router.routes() if r.resource]
    gets = {path for method, path in routes if method == "GET"}
    # Less aiohttp's automatic HEAD beside each GET.
    registered = {(m, p) for m, p in routes if not (m == "HEAD" and p in gets)}
    assert registered - documented == set()
    assert documented - registered == set()
    tokens = document["paths"]["/v1/upload-tokens"]["post"]["requestBody"]
    assert tokens["content"]["application/json"]["schema"]["$ref"].endswith("/TokenRequest")
    assert "max_size" in document["components"]["schemas"]["TokenRequest"]["properties"]


def _concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.fixture
async def world(
    services: Services, client: Client, tenant: Tenant, make_tenant: TenantFactory
) -> dict[str, Any]:
    """A tenant with an upload, another tenant, a reviewer, and a revoked key."""
    made = await client.post("/files/", headers={**tenant.auth, **creation_headers(10)})
    upload_id = upload_id_of(made.headers["Location"])
    other = await make_tenant()
    reviewer = await make_tenant(role=Role.REVIEWER)
    revoked = await make_tenant()
    key_id = revoked.api_key.split("_")[1]
    assert await services.tenants.revoke_key(revoked.tenant_id, key_id, services.clock.now())
    return {
        "ids": {
            "upload_id": upload_id,
            "item_id": "1",
            "name": "x",
            "entry": "1",
            "tenant_id": tenant.tenant_id,
            "key_id": tenant.api_key.split("_")[1],
        },
        "owner": tenant,
        "other": other,
        "reviewer": reviewer,
        "revoked": revoked,
    }


async def _status(client: Client, method: str, path: str, headers: dict[str, str]) -> int:
    response = await client.request(method, path, headers={**TUS, **headers}, data=b"")
    return response.status


SECURED = [op for op in OPS if op.auth == "apiKey"]


@pytest.mark.parametrize("op", SECURED, ids=[f"{o.method} {o.path}" for o in SECURED])
async def test_every_secured_route_refuses_the_wrong_callers(
    client: Client, world: dict[str, Any], op: Any
) -> None:
    path = _concrete(op.path, world["ids"])
    # No key, a malformed one, and a revoked one: 401, whatever the object.
    for auth in ({}, {"Authorization": "Bearer nonsense"}, world["revoked"].auth):
        headers = {k: v for k, v in auth.items() if k != "Tus-Resumable"}
        assert await _status(client, op.method, path, headers) == 401, (op.path, auth)
    admin_only = op.path.startswith("/v1/admin/")
    review_only = op.path.startswith("/v1/review/")
    if admin_only or review_only:
        # A tenant's uploader key on review or admin routes: 403, before any lookup.
        assert await _status(client, op.method, path, world["owner"].auth) == 403
    if admin_only or (not review_only and op.path != "/v1/account"):
        # A reviewer's key on tenant routes: refused (403 by role), never the object.
        status = await _status(client, op.method, path, world["reviewer"].auth)
        if op.path not in ("/v1/keys", "/v1/keys/{key_id}"):  # reviewers own keys too
            assert status == 403, (op.method, op.path, status)
    if "{upload_id}" in op.path:
        # Another tenant's key on this tenant's upload: the same answer as a missing id.
        theirs = await _status(client, op.method, path, world["other"].auth)
        missing = _concrete(op.path, {**world["ids"], "upload_id": "0" * 32})
        nobody = await _status(client, op.method, missing, world["other"].auth)
        assert theirs == nobody, (op.method, op.path, theirs, nobody)
        assert theirs in (400, 404, 413, 415), (op.method, op.path, theirs)
