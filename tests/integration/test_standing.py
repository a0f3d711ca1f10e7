"""Account standing after arrears (clause 7.3.3) through the gateway, with the clock moved
by hand: the grace, the suspension (data kept, an upload in flight resumes after payment),
and the purge 15 days later of every byte the tenant has in every store, and of nothing
anyone else has."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.errors import StorageUnavailable
from gateway.domain.principals import Role
from gateway.runtime.background import build_delivery_workers
from gateway.runtime.settings import MiB, Settings
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.helpers import PATCH_TYPE, creation_headers, upload_id_of
from tests.media import colour_clip
from tests.pipeline_helpers import approved_by_hand, received
from tests.s3 import S3Server, new_bucket

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def buckets() -> tuple[str, str]:
    return new_bucket(), new_bucket()


@pytest.fixture
def settings(
    tmp_path: Path, s3_server: S3Server, buckets: tuple[str, str], setup_dirs: tuple[Path, Path]
) -> Settings:
    models, policies = setup_dirs
    staging, destination = buckets
    return Settings(
        data_dir=tmp_path / "var",
        models_dir=models,
        policies_dir=policies,
        staging="s3",
        s3_staging_bucket=staging,
        s3_part_size=5 * MiB,
        delivery_workers=0,
        screening_workers=0,
        registry_cache_ttl_s=0,
        renditions=(120,),
        **s3_server.settings_for(destination),
    )


async def admin(make_tenant: TenantFactory) -> dict[str, str]:
    return (await make_tenant(role=Role.ADMIN)).auth


async def report_arrears(
    client: TestClient[Any, Any], auth: dict[str, str], tenant_id: str, since: dt.datetime
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/admin/tenants/{tenant_id}/arrears", headers=auth, json={"since": since.isoformat()}
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def start_upload(client: TestClient[Any, Any], tenant: Tenant, data: bytes) -> str:
    created = await client.post(
        "/files/", headers={**tenant.auth, **creation_headers(len(data) * 2)}
    )
    upload_id = upload_id_of(created.headers["Location"])
    patched = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=data,
    )
    assert patched.status == 204
    return upload_id


async def test_the_grace_the_suspension_and_payment(
    client: TestClient[Any, Any], tenant: Tenant, make_tenant: TenantFactory, clock: ManualClock
) -> None:
    auth = await admin(make_tenant)
    data = b"x" * 1000
    in_flight = await start_upload(client, tenant, data)
    view = await report_arrears(client, auth, tenant.tenant_id, clock.now())
    assert view["standing"] == "in_arrears"
    assert view["suspends_at"] == (clock.now() + 24 * HOUR).isoformat()

    clock.advance(hours=23)  # 7.3.3.1: uploads go on for 24 hours
    assert (await client.get(f"/v1/uploads/{in_flight}", headers=tenant.auth)).status == 200

    clock.advance(hours=2)  # 25 h: suspended; the upload in flight is stopped and kept
    refused = await client.patch(
        f"/files/{in_flight}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": str(len(data))},
        data=data,
    )
    assert refused.status == 403
    error = (await refused.json())["error"]
    assert (error["code"], error["clause"]) == ("account_suspended", "7.3.3.1")
    for method, path in (("GET", f"/v1/uploads/{in_flight}"), ("POST", "/files/")):
        answer = await client.request(method, path, headers={**tenant.auth, **creation_headers(9)})
        assert answer.status == 403
    own = await (await client.get("/v1/account", headers=tenant.auth)).json()
    assert own["standing"] == "suspended"
    assert own["terminates_at"] == (clock.now() - HOUR + 15 * 24 * HOUR).isoformat()

    paid = await client.post(f"/v1/admin/tenants/{tenant.tenant_id}/paid", headers=auth)
    assert (await paid.json())["standing"] == "active"
    resumed = await client.patch(
        f"/files/{in_flight}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": str(len(data))},
        data=data,
    )
    assert resumed.status == 204  # the first half was kept through the suspension
    body = await (await client.get(f"/v1/uploads/{in_flight}", headers=tenant.auth)).json()
    assert body["state"] == "received"


def inventory(s3_server: S3Server, buckets: tuple[str, str], data_dir: Path) -> set[str]:
    """Every key in both buckets and every file under the data directory's stores."""
    keys = {f"{bucket}:{key}" for bucket in buckets for key in s3_server.keys(bucket)}
    for folder in ("evidence", "results", "staging", "work"):
        root = data_dir / folder
        if root.exists():
            keys |= {f"file:{p.relative_to(data_dir)}" for p in root.rglob("*") if p.is_file()}
    return keys


async def delivered(services: Services, tenant: Tenant, clip: Path) -> str:
    upload_id = await received(services, tenant.tenant_id, clip)
    evidence = services.settings.evidence_dir / upload_id
    await asyncio.to_thread(evidence.mkdir, parents=True)
    await asyncio.to_thread((evidence / "frame-0001.jpg").write_bytes, b"jpeg")
    (delivery,) = build_delivery_workers(services, 1)
    assert await delivery.run_once()  # sealed into the quarantine bucket
    await approved_by_hand(services, upload_id)
    while await delivery.run_once():  # forward, transcode, release
        pass
    return upload_id


async def test_fifteen_days_after_suspension_the_tenant_is_purged_and_no_one_else(
    services: Services,
    client: TestClient[Any, Any],
    make_tenant: TenantFactory,
    clock: ManualClock,
    s3_server: S3Server,
    buckets: tuple[str, str],
    tmp_path: Path,
) -> None:
    auth = await admin(make_tenant)
    leaving, staying = await make_tenant(), await make_tenant()
    clip = await asyncio.to_thread(colour_clip, tmp_path / "clip.mp4", 3, size="160x120")
    data_dir = services.settings.data_dir
    for tenant in (leaving, staying):
        await delivered(services, tenant, clip)
        await start_upload(client, tenant, b"y" * 2000)  # receiving: a multipart upload
    before = inventory(s3_server, buckets, data_dir)
    theirs = {key for key in before if leaving.tenant_id in key}
    assert any(key.startswith(f"{buckets[1]}:tenants/{leaving.tenant_id}/") for key in theirs)

    await report_arrears(client, auth, leaving.tenant_id, clock.now())
    clock.advance(hours=24, seconds=1)
    assert await services.accounts.upkeep() == 1  # suspended, nothing deleted yet
    assert inventory(s3_server, buckets, data_dir) == before
    clock.advance(days=15)
    assert await services.accounts.upkeep() == 1  # terminated, then purged

    after = inventory(s3_server, buckets, data_dir)
    assert not any(leaving.tenant_id in key for key in after)
    # Evidence folders and staged objects are named by upload, not tenant: compare all.
    staying_before = {key for key in before if leaving.tenant_id not in key}
    assert after <= staying_before
    assert any(staying.tenant_id in key for key in after)
    staged = {k for k in after if k.startswith(buckets[0])}
    assert staged  # the staying tenant's multipart tail is still there
    listed = s3_server.client().list_multipart_uploads(Bucket=buckets[0]).get("Uploads", [])
    assert len(listed) == 1  # only the staying tenant's upload in progress

    standing = await (
        await client.get(f"/v1/admin/tenants/{leaving.tenant_id}/standing", headers=auth)
    ).json()
    assert standing["standing"] == "terminated"
    receipt = standing["purge_receipt"]
    destination_keys = {k.split(":", 1)[1] for k in theirs if k.startswith(buckets[1])}
    assert set(receipt["keys"]) == destination_keys
    assert receipt["destination_objects"] == len(destination_keys)
    assert receipt["uploads"] == 2
    assert receipt["evidence_folders"] == 1
    sizes = [
        s3_server.client().head_object(Bucket=buckets[1], Key=k)["ContentLength"]
        for k in {k.split(":", 1)[1] for k in staying_before if k.startswith(buckets[1])}
    ]
    assert sizes  # the other tenant's objects still answer
    assert receipt["destination_bytes"] > 0
    assert await services.accounts.upkeep() == 0  # nothing more to do
    purged_event = await services.events.after(leaving.tenant_id, None, 100)
    assert "account.purged" in [e["type"] for e in purged_event]
    paid = await client.post(f"/v1/admin/tenants/{leaving.tenant_id}/paid", headers=auth)
    assert paid.status == 409
    assert (await paid.json())["error"]["code"] == "standing_change_refused"


async def test_a_purge_stopped_half_way_finishes_on_the_next_round(
    services: Services,
    client: TestClient[Any, Any],
    make_tenant: TenantFactory,
    clock: ManualClock,
    s3_server: S3Server,
    buckets: tuple[str, str],
    tmp_path: Path,
) -> None:
    """The store goes away mid-purge (as a crash would stop it): the account stays
    terminated and unpurged, and the next upkeep round (or a restarted process) ends it."""
    auth = await admin(make_tenant)
    leaving = await make_tenant()
    clip = await asyncio.to_thread(colour_clip, tmp_path / "clip.mp4", 3, size="160x120")
    await delivered(services, leaving, clip)
    await report_arrears(client, auth, leaving.tenant_id, clock.now())
    clock.advance(days=16, seconds=1)
    s3_server.pause()
    try:
        with pytest.raises(StorageUnavailable):
            await services.accounts.upkeep()
    finally:
        s3_server.resume()
    view = await services.accounts.standing(leaving.tenant_id)
    assert view["standing"] == "terminated"
    assert "purge_receipt" not in view  # not finished
    for _ in range(120):  # RGW takes a moment to serve again after its restart
        try:
            await services.accounts.upkeep()
            break
        except StorageUnavailable:
            await asyncio.sleep(0.5)
    view = await services.accounts.standing(leaving.tenant_id)
    assert view["purge_receipt"]["uploads"] == 1
    assert not any(
        leaving.tenant_id in key
        for key in inventory(s3_server, buckets, services.settings.data_dir)
    )
