"""Arrears reported by the billing side through the admin route: the earliest report
counts, whatever order they arrive in (clause 7.3.3; security review, issue 20, item 16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.domain.standing import Account
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.helpers import creation_headers

HOUR = dt.timedelta(hours=1)


async def report(
    client: TestClient[Any, Any], admin: Tenant, tenant_id: str, since: dt.datetime
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/admin/tenants/{tenant_id}/arrears",
        headers=admin.auth,
        json={"since": since.isoformat()},
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_a_correction_to_an_earlier_start_suspends_after_the_grace(
    client: TestClient[Any, Any], tenant: Tenant, make_tenant: TenantFactory, clock: ManualClock
) -> None:
    admin = await make_tenant(role=Role.ADMIN)
    now = clock.now()
    first = await report(client, admin, tenant.tenant_id, now - 2 * HOUR)
    assert first["standing"] == "in_arrears"
    corrected = await report(client, admin, tenant.tenant_id, now - 30 * HOUR)
    assert corrected["standing"] == "suspended"  # 24 h grace (7.3.3.1) ended 6 h ago
    assert corrected["arrears_since"] == (now - 30 * HOUR).isoformat()
    assert corrected["suspended_at"] == (now - 6 * HOUR).isoformat()
    later = await report(client, admin, tenant.tenant_id, now - HOUR)  # changes nothing
    assert later["arrears_since"] == corrected["arrears_since"]
    refused = await client.post("/files/", headers={**tenant.auth, **creation_headers(9)})
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "account_suspended"


async def test_an_earlier_report_that_loses_a_race_is_not_dropped(
    services: Services, tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reports at once: the one that read the account before the other wrote it fails
    the compare-and-set, and is worked out again from what is stored."""
    accounts = services.accounts._accounts
    now = clock.now()
    stale = await accounts.get(tenant.tenant_id)  # active, read before the other report
    await services.accounts.report_arrears(tenant.tenant_id, now - 2 * HOUR)
    reads = iter([stale])
    real_get = accounts.get

    async def get(tenant_id: str) -> Account:
        return next(reads, None) or await real_get(tenant_id)

    monkeypatch.setattr(accounts, "get", get)
    view = await services.accounts.report_arrears(tenant.tenant_id, now - 30 * HOUR)
    assert (view["standing"], view["arrears_since"]) == (
        "suspended",
        (now - 30 * HOUR).isoformat(),
    )
