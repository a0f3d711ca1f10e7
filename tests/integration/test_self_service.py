"""A tenant's self-service: its uploads listed with filters and cursor pagination, its
standing, limits and usage, through the API and the SDK; never another tenant's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.client import UploadClient
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.helpers import creation_headers, upload_id_of
from tests.pipeline_helpers import in_review


async def test_listing_filters_and_pages(
    services: Services,
    client: TestClient[Any, Any],
    tenant: Tenant,
    make_tenant: TenantFactory,
    clock: ManualClock,
) -> None:
    started = clock.now()
    receiving = []
    for _ in range(3):
        made = await client.post("/files/", headers={**tenant.auth, **creation_headers(10)})
        receiving.append(upload_id_of(made.headers["Location"]))
        clock.advance(seconds=1)
    blocked, _ = await in_review(services, tenant.tenant_id, ["3.1.10.3(3)"], verdict="block")
    clock.advance(seconds=1)
    reviewed, _ = await in_review(services, tenant.tenant_id, ["3.1.10.3(3)"])
    other = await make_tenant()
    await client.post("/files/", headers={**other.auth, **creation_headers(10)})

    async def listing(query: str = "") -> dict[str, Any]:
        response = await client.get(f"/v1/uploads{query}", headers=tenant.auth)
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    everything = await listing()
    ids = [u["id"] for u in everything["uploads"]]
    assert set(ids) == {*receiving, blocked, reviewed}  # not the other tenant's
    assert ids == [reviewed, blocked, *reversed(receiving)]  # newest first
    assert everything["next_cursor"] is None
    only_receiving = await listing("?state=receiving")
    assert {u["id"] for u in only_receiving["uploads"]} == set(receiving)
    assert [u["id"] for u in (await listing("?verdict=block"))["uploads"]] == [blocked]
    since = (started + dt.timedelta(seconds=1)).isoformat().replace("+", "%2B")
    until = (started + dt.timedelta(seconds=2)).isoformat().replace("+", "%2B")
    window = await listing(f"?state=receiving&since={since}&until={until}")
    assert [u["id"] for u in window["uploads"]] == [receiving[1]]

    seen, cursor = [], None
    while True:
        page = await listing("?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [u["id"] for u in page["uploads"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)  # every upload once, across pages

    for bad in ("?cursor=not-ours", "?limit=0", "?limit=%C2%B2", "?state=lost", "?since=yesterday"):
        refused = await client.get(f"/v1/uploads{bad}", headers=tenant.auth)
        assert refused.status == 400, bad

    sdk = UploadClient(str(client.make_url("/")), tenant.api_key)
    page = await sdk.uploads(state="receiving", limit=2)
    assert len(page["uploads"]) == 2
    account = await sdk.account()
    assert account["standing"] == "active"
    assert account["usage"]["open_uploads"] == 3
    assert account["limits"]["uploads_per_minute"] == services.settings.quota_uploads_per_minute
