"""Fair use (clause 3.1.3.6): each limit refuses the request that crosses it, with the
right status, Retry-After and a body naming the limit and the usage; the counters live in
the database (a restart keeps them, a second instance shares them)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services, close_services, open_services
from tests.conftest import Tenant
from tests.helpers import PATCH_TYPE, creation_headers, upload_id_of


async def create(client: TestClient[Any, Any], tenant: Tenant, length: int) -> Any:
    return await client.post("/files/", headers={**tenant.auth, **creation_headers(length)})


async def refused(response: Any, status: int, limit: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    error: dict[str, Any] = (await response.json())["error"]
    assert error["limit"] == limit
    assert error["clause"] == "3.1.3.6"
    if status == 429:
        assert 1 <= int(response.headers["Retry-After"]) <= 86400
    return error


async def test_size_rate_and_open_uploads(
    services: Services, client: TestClient[Any, Any], tenant: Tenant
) -> None:
    await services.quotas.set_limits(
        tenant.tenant_id, {"max_file_size": 1000, "uploads_per_minute": 3, "open_uploads": 2}
    )
    error = await refused(await create(client, tenant, 1001), 413, "max_file_size")
    assert (error["allowed"], error["usage"]) == (1000, 1001)
    assert (await create(client, tenant, 10)).status == 201
    assert (await create(client, tenant, 10)).status == 201
    error = await refused(await create(client, tenant, 10), 429, "open_uploads")
    assert error["usage"] == 2
    await services.quotas.set_limits(tenant.tenant_id, {"open_uploads": None})  # the default
    assert (await create(client, tenant, 10)).status == 201
    response = await create(client, tenant, 10)
    error = await refused(response, 429, "uploads_per_minute")
    assert int(response.headers["Retry-After"]) <= 60
    own = await (await client.get("/v1/account", headers=tenant.auth)).json()
    assert own["usage"]["open_uploads"] == 3
    assert own["limits"]["uploads_per_minute"] == 3


async def test_bytes_per_day_at_creation_and_per_patch(
    services: Services, client: TestClient[Any, Any], tenant: Tenant
) -> None:
    await services.quotas.set_limits(tenant.tenant_id, {"bytes_per_day": 100})
    first = upload_id_of((await create(client, tenant, 100)).headers["Location"])
    patched = await client.patch(
        f"/files/{first}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"a" * 80,
    )
    assert patched.status == 204
    await refused(await create(client, tenant, 30), 429, "bytes_per_day")  # 80 + 30 > 100
    over = await client.patch(
        f"/files/{first}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "80"},
        data=b"b" * 20,
    )
    assert over.status == 204  # exactly 100: allowed
    error = await refused(await create(client, tenant, 1), 429, "bytes_per_day")
    assert error["usage"] == 100


async def test_concurrent_patches_and_screening_minutes(
    services: Services, client: TestClient[Any, Any], tenant: Tenant
) -> None:
    await services.quotas.set_limits(tenant.tenant_id, {"concurrent_patches": 1})
    ids = [upload_id_of((await create(client, tenant, 10)).headers["Location"]) for _ in "ab"]
    release = asyncio.Event()

    async def slow() -> Any:
        yield b"12345"
        await release.wait()
        yield b"67890"

    first = asyncio.create_task(
        client.patch(
            f"/files/{ids[0]}",
            headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
            data=slow(),
        )
    )
    for _ in range(100):  # until the first body is in flight
        if (await services.quotas.view(tenant.tenant_id))["usage"]["active_patches"]:
            break
        await asyncio.sleep(0.05)
    second = await client.patch(
        f"/files/{ids[1]}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"0123456789",
    )
    await refused(second, 429, "concurrent_patches")
    release.set()
    assert (await first).status == 204

    await services.quotas.set_limits(tenant.tenant_id, {"screening_minutes_per_day": 1})
    await services.quotas.screened(tenant.tenant_id, 61.0)
    await refused(await create(client, tenant, 10), 429, "screening_minutes_per_day")


async def test_counters_survive_a_restart(
    settings: Settings, tenant: Tenant, services: Services
) -> None:
    await services.quotas.set_limits(tenant.tenant_id, {"bytes_per_day": 50})
    await services.quotas.received(tenant.tenant_id, 40)
    again = await open_services(settings)
    try:
        view = await again.quotas.view(tenant.tenant_id)
        assert view["usage"]["bytes_today"] == 40
        assert view["limits"]["bytes_per_day"] == 50
    finally:
        await close_services(again)


async def test_two_instances_share_the_counters(tmp_path: Path) -> None:
    from tests.integration.test_scale_out import create as create_on
    from tests.integration.test_scale_out import licensed_tenant, two_instances

    async with two_instances(tmp_path) as (a, b):
        tenant = await licensed_tenant(a.services)
        await a.services.quotas.set_limits(tenant.tenant_id, {"open_uploads": 2})
        await create_on(a, tenant, 10)
        await create_on(b, tenant, 10)
        response = await b.client.post("/files/", headers={**tenant.auth, **creation_headers(10)})
        await refused(response, 429, "open_uploads")
        response = await a.client.post("/files/", headers={**tenant.auth, **creation_headers(10)})
        await refused(response, 429, "open_uploads")


def test_a_zero_or_negative_limit_is_refused_at_start(tmp_path: Path) -> None:
    for env, args in (
        ({"VODGATE_QUOTA_OPEN_UPLOADS": "0"}, ["migrate"]),
        ({}, ["tenant", "limits", "x", "--open-uploads", "-3"]),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--data-dir", str(tmp_path / "v")],
            capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": "/usr/bin:/bin", **env},
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "open" in done.stderr.lower()
