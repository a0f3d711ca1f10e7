"""Licence pre-flight at creation (clauses 3.1.10.1, 3.1.3.1; rights, 5.1): refused before any
byte is stored, with a specific code and the clause."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.tus_headers import encode_metadata
from gateway.runtime.wiring import Services
from tests.conftest import LICENCE_NUMBER, Tenant, TenantFactory
from tests.helpers import PATCH_TYPE

Client = TestClient[object, object]
AVSP = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER}


async def post(client: Client, tenant: Tenant, metadata: dict[str, str]) -> tuple[int, dict]:
    resp = await client.post(
        "/files/",
        headers={
            **tenant.auth,
            **PATCH_TYPE,
            "Upload-Length": "4",
            "Upload-Metadata": encode_metadata(metadata),
        },
        data=b"abcd",  # creation-with-upload: these bytes must never be stored when refused
    )
    return resp.status, await resp.json() if resp.status >= 400 else {}


def days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


@pytest.mark.parametrize(
    ("metadata", "code", "clause"),
    [
        ({}, "licence_missing", "3.1.10.1"),
        ({"licence_type": "avsp"}, "licence_missing", "3.1.10.1"),
        ({"licence_number": LICENCE_NUMBER}, "licence_missing", "3.1.10.1"),
        ({"licence_type": "avsp", "licence_number": "NOT-OURS"}, "licence_unknown", "3.1.10.1"),
        ({"licence_type": "icp", "licence_number": LICENCE_NUMBER}, "licence_unknown", "3.1.10.1"),
        ({**AVSP, "content_category": "news"}, "licence_out_of_scope", "3.1.3.1"),
        ({**AVSP, "content_category": "medical"}, "licence_out_of_scope", "3.1.3.1"),
        ({**AVSP, "content_category": "astrology"}, "content_category_unknown", "3.1.10.1"),
        ({**AVSP, "rights_holder": "Studio", "rights_expires": days(-1)}, "rights_expired", "5.1"),
        ({**AVSP, "rights_expires": days(30)}, "metadata_invalid", "5.1"),
        ({**AVSP, "rights_holder": "Studio", "rights_expires": "soon"}, "metadata_invalid", None),
    ],
)
async def test_refusals_carry_code_and_clause_and_store_nothing(
    client: Client,
    services: Services,
    tenant: Tenant,
    metadata: dict[str, str],
    code: str,
    clause: str | None,
) -> None:
    status, body = await post(client, tenant, metadata)
    assert 400 <= status < 500
    assert body["error"]["code"] == code
    assert body["error"].get("clause") == clause
    assert list(services.settings.staging_dir.iterdir()) == []


async def test_expired_licence_is_refused(
    client: Client, services: Services, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(valid_until=dt.date.today() - dt.timedelta(days=1))
    status, body = await post(client, tenant, AVSP)
    assert status == 403
    assert body["error"] == {
        "code": "licence_expired",
        "message": body["error"]["message"],
        "clause": "3.1.10.1",
    }
    assert list(services.settings.staging_dir.iterdir()) == []


async def test_another_tenants_licence_is_unknown(
    client: Client, make_tenant: TenantFactory
) -> None:
    # Both hold a licence numbered alike; only the registry row of the caller counts.
    owner = await make_tenant(scopes=frozenset({"news"}))
    other = await make_tenant()
    assert (await post(client, owner, {**AVSP, "content_category": "news"}))[0] == 201
    _status, body = await post(client, other, {**AVSP, "content_category": "news"})
    assert body["error"]["code"] == "licence_out_of_scope"


@pytest.mark.parametrize(
    ("scopes", "category"),
    [
        (frozenset(), "general"),
        (frozenset(), ""),
        (frozenset({"news"}), "news"),
        (frozenset({"education", "medical"}), "medical"),
    ],
)
async def test_accepted_when_licence_covers_the_category(
    client: Client, make_tenant: TenantFactory, scopes: frozenset[str], category: str
) -> None:
    tenant = await make_tenant(scopes=scopes)
    metadata = {**AVSP, "rights_holder": "Studio", "rights_expires": days(10)}
    if category:
        metadata["content_category"] = category
    status, _ = await post(client, tenant, metadata)
    assert status == 201


async def test_rejections_are_counted_in_metrics(client: Client, tenant: Tenant) -> None:
    await post(client, tenant, {})
    text = await (await client.get("/metrics")).text()
    assert 'vodgate_licence_rejections_total{code="licence_missing"} 1.0' in text
