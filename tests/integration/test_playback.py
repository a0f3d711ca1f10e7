"""Playback bound to the verdict: links to an approved upload's source and renditions,
refused for a blocked one and for a suspended account; presigned GETs from Ceph RGW with
an S3 destination, gateway-served signed links (checked at each fetch) with the local one."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.runtime.background import build_delivery_workers
from gateway.runtime.settings import MiB, Settings
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.media import colour_clip
from tests.pipeline_helpers import approved_by_hand, in_review, received
from tests.s3 import S3Server, new_bucket


@pytest.fixture(params=["s3", "local"])
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    s3_server: S3Server,
    setup_dirs: tuple[Path, Path],
) -> Settings:
    models, policies = setup_dirs
    destination = s3_server.settings_for(new_bucket()) if request.param == "s3" else {}
    return Settings(
        data_dir=tmp_path / "var",
        models_dir=models,
        policies_dir=policies,
        s3_part_size=5 * MiB,
        delivery_workers=0,
        screening_workers=0,
        registry_cache_ttl_s=0,
        renditions=(120,),
        **destination,
    )


async def delivered(services: Services, tenant: Tenant, clip: Path) -> str:
    upload_id = await received(services, tenant.tenant_id, clip)
    await approved_by_hand(services, upload_id)
    (delivery,) = build_delivery_workers(services, 1)
    while await delivery.run_once():  # forward, transcode, release
        pass
    return upload_id


async def fetch(client: TestClient[Any, Any], url: str) -> tuple[int, bytes]:
    if url.startswith("/"):  # served by the gateway (local destination)
        response = await client.get(url)
        return response.status, await response.read()

    def get() -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    return await asyncio.to_thread(get)


async def test_links_only_while_approved_and_in_good_standing(
    services: Services,
    client: TestClient[Any, Any],
    tenant: Tenant,
    make_tenant: TenantFactory,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    clip = await asyncio.to_thread(colour_clip, tmp_path / "clip.mp4", 3, size="160x120")
    upload_id = await delivered(services, tenant, clip)
    answer = await client.get(f"/v1/uploads/{upload_id}/playback", headers=tenant.auth)
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    names = {link["name"] for link in body["links"]}
    assert "source" in names
    assert len(names) == 2  # the source and its one rendition
    source = next(link for link in body["links"] if link["name"] == "source")
    status, data = await fetch(client, source["url"])
    assert status == 200
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(clip.read_bytes()).hexdigest()

    blocked, _ = await in_review(services, tenant.tenant_id, ["3.1.10.3(3)"], verdict="block")
    refused = await client.get(f"/v1/uploads/{blocked}/playback", headers=tenant.auth)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "playback_refused"

    admin = await make_tenant(role=Role.ADMIN)
    arrears = await client.post(
        f"/v1/admin/tenants/{tenant.tenant_id}/arrears",
        headers=admin.auth,
        json={"since": clock.now().isoformat()},
    )
    assert arrears.status == 200
    clock.advance(hours=25)
    suspended = await client.get(f"/v1/uploads/{upload_id}/playback", headers=tenant.auth)
    assert suspended.status == 403
    assert (await suspended.json())["error"]["code"] == "account_suspended"
    if source["url"].startswith("/"):
        # The gateway's own links are checked at each fetch: the old one stops at once...
        assert (await fetch(client, source["url"]))[0] == 403
    else:
        # ...a presigned one lives out its short life (playback_link_ttl_s).
        assert (await fetch(client, source["url"]))[0] == 200


@pytest.mark.parametrize("settings", ["local"], indirect=True)  # RGW checks presigned ones
async def test_gateway_links_refuse_tampering_and_expiry(
    services: Services,
    client: TestClient[Any, Any],
    tenant: Tenant,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    clip = await asyncio.to_thread(colour_clip, tmp_path / "clip.mp4", 3, size="160x120")
    upload_id = await delivered(services, tenant, clip)
    body = await (await client.get(f"/v1/uploads/{upload_id}/playback", headers=tenant.auth)).json()
    url = body["links"][0]["url"]
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert (await fetch(client, tampered))[0] == 403
    other_name = url.replace("/source?", "/720p?")
    assert (await fetch(client, other_name))[0] == 403
    clock.advance(seconds=services.settings.playback_link_ttl_s + 1)
    assert (await fetch(client, url))[0] == 403
