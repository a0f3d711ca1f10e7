"""Fair use under races and floods (clause 3.1.3.6): racing creations are counted one after
another (SQLite, and two instances on PostgreSQL), creation bodies take a PATCH slot, bodies
without a length are metered, leases of PATCHes in flight are short, refused creations keep
their token, and one tenant's request flood is refused before it reaches the database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant
from tests.helpers import PATCH_TYPE, creation_headers, upload_id_of
from tests.integration.test_quotas import create, refused

Client = TestClient[Any, Any]


async def _race(client: Client, tenant: Tenant, n: int) -> list[int]:
    answers = await asyncio.gather(*(create(client, tenant, 10) for _ in range(n)))
    return sorted(r.status for r in answers)


async def test_racing_creations_never_pass_open_uploads(
    services: Services, client: Client, tenant: Tenant
) -> None:
    await services.quotas.set_limits(tenant.tenant_id, {"open_uploads": 3})
    assert await _race(client, tenant, 30) == [201] * 3 + [429] * 27


async def test_racing_creations_never_pass_uploads_per_minute(
    services: Services, client: Client, tenant: Tenant
) -> None:
    await services.quotas.set_limits(tenant.tenant_id, {"uploads_per_minute": 5})
    assert await _race(client, tenant, 30) == [201] * 5 + [429] * 25


async def test_racing_creations_on_two_postgresql_instances(tmp_path: Path) -> None:
    from tests.integration.test_scale_out import licensed_tenant, two_instances

    async with two_instances(tmp_path) as (a, b):
        tenant = await licensed_tenant(a.services)
        await a.services.quotas.set_limits(tenant.tenant_id, {"open_uploads": 3})
        answers = await asyncio.gather(
            *(create(at.client, tenant, 10) for _ in range(15) for at in (a, b))
        )
        assert sorted(r.status for r in answers) == [201] * 3 + [429] * 27


async def _slow_body(release: asyncio.Event) -> AsyncIterator[bytes]:
    yield b"12345"
    await release.wait()
    yield b"67890"


async def _until_active(services: Services, tenant: Tenant, count: int) -> None:
    for _ in range(200):
        if (await services.quotas.view(tenant.tenant_id))["usage"]["active_patches"] >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} bodies never were in flight")


async def test_creation_bodies_take_a_patch_slot(
    services: Services, client: Client, tenant: Tenant
) -> None:
    """With one slot taken, a creation-with-upload is created (201) but its body waits: the
    offset is 0 and the next PATCH hears the 429."""
    await services.quotas.set_limits(tenant.tenant_id, {"concurrent_patches": 1})
    release = asyncio.Event()
    first = asyncio.create_task(
        client.post(
            "/files/",
            headers={**tenant.auth, **PATCH_TYPE, **creation_headers(10)},
            data=_slow_body(release),
        )
    )
    await _until_active(services, tenant, 1)
    second = await client.post(
        "/files/",
        headers={**tenant.auth, **PATCH_TYPE, **creation_headers(10)},
        data=b"0123456789",
    )
    assert second.status == 201
    assert second.headers["Upload-Offset"] == "0"
    patched = await client.patch(
        second.headers["Location"],
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"0123456789",
    )
    await refused(patched, 429, "concurrent_patches")
    release.set()
    done = await first
    assert done.status == 201
    assert done.headers["Upload-Offset"] == "10"


async def test_a_chunked_patch_ends_at_the_days_bytes_keeping_what_came(
    services: Services, client: Client, tenant: Tenant
) -> None:
    """Two uploads admitted while the day was empty; the second's body, without a length,
    stops where the day's bytes run out (what came before is kept and counted)."""
    await services.quotas.set_limits(tenant.tenant_id, {"bytes_per_day": 150})
    first, second = [
        upload_id_of((await create(client, tenant, 100)).headers["Location"]) for _ in "ab"
    ]
    headers = {**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"}
    assert (await client.patch(f"/files/{first}", headers=headers, data=b"x" * 100)).status == 204

    async def body() -> AsyncIterator[bytes]:  # no Content-Length: nothing to check up front
        for _ in range(10):
            yield b"y" * 10

    patched = await client.patch(f"/files/{second}", headers=headers, data=body())
    await refused(patched, 429, "bytes_per_day")
    head = await client.head(f"/files/{second}", headers=tenant.auth)
    assert head.headers["Upload-Offset"] == "50"
    assert (await services.quotas.view(tenant.tenant_id))["usage"]["bytes_today"] == 150


async def test_a_dead_patchs_slot_frees_when_its_short_lease_lapses(
    services: Services, client: Client, tenant: Tenant, clock: ManualClock
) -> None:
    """A row left by a killed instance (inserted as its PATCH would have) holds the slot only
    until its lease lapses, and the 429 says when that is."""
    await services.quotas.set_limits(tenant.tenant_id, {"concurrent_patches": 1})
    upload_id = upload_id_of((await create(client, tenant, 10)).headers["Location"])
    lease = dt.timedelta(seconds=services.settings.patch_lease_s)
    await services.quotas._store.patch_started(
        tenant.tenant_id, "dead-instance-upload", clock.now(), lease, "dead-node"
    )
    headers = {**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"}
    blocked = await client.patch(f"/files/{upload_id}", headers=headers, data=b"0123456789")
    await refused(blocked, 429, "concurrent_patches")
    assert int(blocked.headers["Retry-After"]) == round(lease.total_seconds())
    clock.advance(seconds=lease.total_seconds() + 1)
    patched = await client.patch(f"/files/{upload_id}", headers=headers, data=b"0123456789")
    assert patched.status == 204, await patched.text()


async def test_a_restarted_node_clears_its_own_patches(
    services: Services, tenant: Tenant, clock: ManualClock
) -> None:
    store = services.quotas._store
    lease = dt.timedelta(minutes=5)
    await store.patch_started(tenant.tenant_id, "a", clock.now(), lease, services.settings.node)
    await store.patch_started(tenant.tenant_id, "b", clock.now(), lease, "another-node")
    assert await services.quotas.forget_node_patches() == 1
    assert (await services.quotas.view(tenant.tenant_id))["usage"]["active_patches"] == 1


async def test_a_refused_creation_keeps_its_token(
    services: Services, client: Client, tenant: Tenant
) -> None:
    issued = await client.post("/v1/upload-tokens", json={"max_size": 100}, headers=tenant.auth)
    token = (await issued.json())["token"]
    with_token = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    await services.quotas.set_limits(tenant.tenant_id, {"open_uploads": 1})
    await create(client, tenant, 10)  # the one open upload the limit allows
    first = await client.post("/files/", headers={**with_token, **creation_headers(10)})
    await refused(first, 429, "open_uploads")
    unlicensed = creation_headers(10) | {"Upload-Metadata": "filename Y2xpcC5tcDQ="}
    second = await client.post("/files/", headers={**with_token, **unlicensed})
    assert (await second.json())["error"]["code"] == "licence_missing"
    await services.quotas.set_limits(tenant.tenant_id, {"open_uploads": None})
    third = await client.post("/files/", headers={**with_token, **creation_headers(10)})
    assert third.status == 201, await third.text()
    fourth = await client.post("/files/", headers={**with_token, **creation_headers(10)})
    assert (await fourth.json())["error"]["code"] == "token_used"


async def test_racing_creations_spend_a_token_once(client: Client, tenant: Tenant) -> None:
    issued = await client.post("/v1/upload-tokens", json={"max_size": 100}, headers=tenant.auth)
    token = (await issued.json())["token"]
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    answers = await asyncio.gather(
        *(client.post("/files/", headers=headers | creation_headers(10)) for _ in range(10))
    )
    assert sorted(r.status for r in answers) == [201] + [403] * 9


async def test_a_tiny_patch_that_does_not_end_the_upload_is_refused(
    services: Services, client: Client, tenant: Tenant
) -> None:
    services.ingest.appender.min_patch_bytes = 1024
    options = await client.options("/files/", headers={"Tus-Resumable": "1.0.0"})
    assert options.headers["Upload-Limit"] == "min-append-size=1024"
    upload_id = upload_id_of((await create(client, tenant, 2000)).headers["Location"])
    url, headers = f"/files/{upload_id}", {**tenant.auth, **PATCH_TYPE}
    small = await client.patch(url, headers=headers | {"Upload-Offset": "0"}, data=b"x")
    assert small.status == 400
    assert (await small.json())["error"]["code"] == "patch_too_small"
    first = await client.patch(url, headers=headers | {"Upload-Offset": "0"}, data=b"x" * 1990)
    assert first.status == 204
    last = await client.patch(url, headers=headers | {"Upload-Offset": "1990"}, data=b"x" * 10)
    assert last.status == 204  # the last PATCH may be as small as what is left


async def test_a_tenants_request_flood_is_refused_and_others_pass(
    services: Services, client: Client, make_tenant: Any
) -> None:
    noisy, quiet = await make_tenant(), await make_tenant()
    await services.quotas.set_limits(noisy.tenant_id, {"requests_per_second": 5})
    answers = [await client.get("/v1/account", headers=noisy.auth) for _ in range(30)]
    statuses = [r.status for r in answers]
    assert statuses.count(200) <= 12  # a burst of 2 s worth, and what refilled meanwhile
    assert statuses[:10] == [200] * 10
    flooded = next(r for r in answers if r.status == 429)
    await refused(flooded, 429, "requests_per_second")
    assert (await client.get("/v1/account", headers=quiet.auth)).status == 200
