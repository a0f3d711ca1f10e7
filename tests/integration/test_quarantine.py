"""The scale-out staging: each upload's bytes go to a multipart upload in the staging bucket
(Ceph RGW), sealed into one quarantined object when complete; screening reads it there,
forwarding is a server-side copy to the destination bucket, and only then does the
quarantined object go. Reviewers' players get a presigned link to the quarantined video."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import urllib.request
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.jobs import QUARANTINE
from gateway.domain.principals import Role
from gateway.domain.states import UploadState
from gateway.runtime.background import build_delivery_workers, build_screening_workers
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.settings import MiB, Settings
from gateway.runtime.wiring import Services
from tests.conftest import Tenant, TenantFactory
from tests.media import colour_clip
from tests.models import DARK, PINK
from tests.pipeline_helpers import approved_by_hand, received
from tests.s3 import S3Server, new_bucket


@pytest.fixture
def buckets() -> tuple[str, str]:
    return new_bucket(), new_bucket()


@pytest.fixture
def settings(
    tmp_path: Path, s3_server: S3Server, buckets: tuple[str, str], setup_dirs: tuple[Path, Path]
) -> Settings:
    models, policies = setup_dirs
    quarantine, destination = buckets
    return Settings(
        data_dir=tmp_path / "var",
        expiry_sweep_interval_s=3600.0,
        models_dir=models,
        policies_dir=policies,
        s3_part_size=5 * MiB,
        delivery_workers=0,
        staging="s3",
        s3_staging_bucket=quarantine,
        node_id="node-a",
        **s3_server.settings_for(destination),
    )


async def state_of(services: Services, upload_id: str) -> UploadState:
    upload = await services.uploads.get_internal(upload_id)
    assert upload is not None
    return upload.state


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_quarantined_upload_is_screened_and_copied_server_side(
    services: Services,
    tenant: Tenant,
    s3_server: S3Server,
    buckets: tuple[str, str],
    tmp_path: Path,
) -> None:
    quarantine, destination = buckets
    services.screener = await asyncio.to_thread(build_screener, services.settings)
    clip = colour_clip(tmp_path / "plain.mp4", 10, base=DARK, size="320x240")
    upload_id = await received(services, tenant.tenant_id, clip)
    (delivery,) = build_delivery_workers(services, 1)
    (screening,) = build_screening_workers(services)

    # Any node's worker may seal it (the parts are in the bucket); one that stops hands the
    # job back, and its attempt does not count.
    now = services.clock.now()
    other_node = await services.jobs.claim(
        "node-b", now, dt.timedelta(minutes=5), (QUARANTINE,), "node-b"
    )
    assert other_node is not None
    assert await services.jobs.hand_back(other_node, "node-b", now)
    assert not await screening.run_once()  # nothing to screen before the seal
    # Shorter than a part: all of it is the tail object, until the seal.
    assert s3_server.keys(quarantine) == [f"quarantine/{upload_id}.tail-0"]
    assert await delivery.run_once()  # quarantine: the multipart upload sealed
    assert s3_server.keys(quarantine) == [f"quarantine/{upload_id}"]
    stored = await services.stored.get(upload_id, QUARANTINE)
    assert stored is not None
    assert stored.sha256 == sha256(clip.read_bytes())

    assert await screening.run_once()  # from the quarantine bucket
    assert await state_of(services, upload_id) == UploadState.APPROVED
    assert list((services.settings.data_dir / "work").iterdir()) == []  # no local leftovers

    assert await delivery.run_once()  # forward: server-side copy, verified
    assert await state_of(services, upload_id) == UploadState.STORED
    key = f"tenants/{tenant.tenant_id}/videos/{upload_id}/source.mp4"
    body = s3_server.client().get_object(Bucket=destination, Key=key)["Body"].read()
    assert sha256(body) == sha256(clip.read_bytes())
    assert s3_server.keys(quarantine) == []  # dropped after the verified copy
    while await delivery.run_once():
        pass
    assert await state_of(services, upload_id) == UploadState.RELEASED


async def test_a_multipart_quarantine_copy_keeps_its_etag(
    services: Services,
    tenant: Tenant,
    s3_server: S3Server,
    buckets: tuple[str, str],
    tmp_path: Path,
) -> None:
    quarantine, destination = buckets
    big = tmp_path / "big.mp4"
    big.write_bytes(bytes(range(256)) * (48 * 1024))  # 12 MiB: three 5 MiB parts
    upload_id = await received(services, tenant.tenant_id, big)
    (delivery,) = build_delivery_workers(services, 1)
    assert await delivery.run_once()  # quarantine (multipart)
    await approved_by_hand(services, upload_id)
    assert await delivery.run_once()  # forward by a multipart server-side copy
    key = f"tenants/{tenant.tenant_id}/videos/{upload_id}/source.mp4"
    head = s3_server.client().head_object(Bucket=destination, Key=key)
    assert head["ETag"].strip('"').endswith("-3")
    assert head["ContentLength"] == big.stat().st_size
    assert s3_server.keys(quarantine) == []


async def test_a_reviewer_streams_a_quarantined_video_through_a_presigned_link(
    services: Services,
    tenant: Tenant,
    client: TestClient[object, object],
    make_tenant: TenantFactory,
    tmp_path: Path,
) -> None:
    services.screener = await asyncio.to_thread(build_screener, services.settings)
    clip = colour_clip(tmp_path / "pink.mp4", 20, base=DARK, segments=((5, 8, PINK),))
    upload_id = await received(services, tenant.tenant_id, clip)
    (delivery,) = build_delivery_workers(services, 1)
    (screening,) = build_screening_workers(services)
    assert await delivery.run_once()
    assert await screening.run_once()
    assert await state_of(services, upload_id) == UploadState.REVIEW
    reviewer = await make_tenant(role=Role.REVIEWER)
    queue = await (await client.get("/v1/review/queue", headers=reviewer.auth)).json()
    item = queue["items"][0]["id"]
    claimed = await (
        await client.post(f"/v1/review/items/{item}/claim", headers=reviewer.auth)
    ).json()
    response = await client.get(claimed["video_url"], allow_redirects=False)
    assert response.status == 302
    request = urllib.request.Request(response.headers["Location"], headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(request, timeout=10) as ranged:
        assert ranged.status == 206
        assert ranged.read() == clip.read_bytes()[:100]


async def test_a_delete_after_the_hand_off_leaves_nothing_in_the_quarantine(
    services: Services,
    tenant: Tenant,
    client: TestClient[object, object],
    s3_server: S3Server,
    buckets: tuple[str, str],
    tmp_path: Path,
) -> None:
    quarantine, _ = buckets
    clip = colour_clip(tmp_path / "plain.mp4", 4, base=DARK)
    upload_id = await received(services, tenant.tenant_id, clip)
    (delivery,) = build_delivery_workers(services, 1)
    assert await delivery.run_once()  # handed to the quarantine
    assert len(s3_server.keys(quarantine)) == 1
    deleted = await client.delete(f"/files/{upload_id}", headers=tenant.auth)  # tus termination
    assert deleted.status == 204
    services.screener = await asyncio.to_thread(build_screener, services.settings)
    (screening,) = build_screening_workers(services)
    assert await screening.run_once()  # its job finds the upload terminated and cleans up
    assert await state_of(services, upload_id) == UploadState.TERMINATED
    assert s3_server.keys(quarantine) == []
