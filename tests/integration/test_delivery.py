"""Forwarding, transcoding and release against a real S3 server (Ceph RGW over HTTP), with
real screening (the colour model) deciding first. Only approved bytes reach the bucket, they
arrive whole, and the transcode results are destroyed once delivered (clause 4.3)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from gateway.adapters.db.schema import jobs
from gateway.adapters.storage.s3_objects import S3ObjectStore
from gateway.domain.errors import NotApproved
from gateway.domain.principals import Principal, Role
from gateway.domain.states import UploadState
from gateway.runtime.background import build_delivery_workers, build_screening_workers
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.settings import MiB, Settings
from gateway.runtime.wiring import Services
from gateway.services.delivery.destination import ApprovedOnlyDestination
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.media import colour_clip, run
from tests.models import DARK, PINK, RED
from tests.pipeline_helpers import approved_by_hand, in_review, received
from tests.s3 import S3Server, new_bucket

PORN = "3.1.10.3(3)"


@pytest.fixture
def bucket() -> str:
    return new_bucket()


@pytest.fixture
def settings(
    tmp_path: Path, s3_server: S3Server, bucket: str, setup_dirs: tuple[Path, Path]
) -> Settings:
    models, policies = setup_dirs
    return Settings(
        data_dir=tmp_path / "var",
        expiry_sweep_interval_s=3600.0,
        models_dir=models,
        policies_dir=policies,
        s3_part_size=5 * MiB,
        delivery_retry_base_s=0.01,
        delivery_workers=0,  # the test drives its own worker (the app would race it)
        transcode_result_deadline_s=600.0,
        **s3_server.settings_for(bucket),
    )


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of 1280x720 video with sound: renditions 720p and 480p."""
    path = tmp_path_factory.mktemp("hd") / "hd.mp4"
    run(
        "-f", "lavfi", "-i", f"color=c={DARK}:s=1280x720:r=25:d=6",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


async def screened(services: Services, tenant: Tenant, source: Path) -> str:
    upload_id = await received(services, tenant.tenant_id, source)
    if services.screener is None:
        services.screener = await asyncio.to_thread(build_screener, services.settings)
    (worker,) = build_screening_workers(services)
    assert await worker.run_once()
    return upload_id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    probed: dict[str, Any] = json.loads(out.stdout)
    return probed


async def state_of(services: Services, upload_id: str) -> UploadState:
    upload = await services.uploads.get_internal(upload_id)
    assert upload is not None
    return upload.state


async def test_an_approved_video_is_stored_whole_transcoded_and_released(
    services: Services,
    tenant: Tenant,
    client: TestClient[object, object],
    s3_server: S3Server,
    bucket: str,
    hd_clip: Path,
    tmp_path: Path,
) -> None:
    upload_id = await screened(services, tenant, hd_clip)
    assert await state_of(services, upload_id) == UploadState.APPROVED
    (worker,) = build_delivery_workers(services, 1)
    staged = services.staging.path(upload_id)

    assert await worker.run_once()  # forward
    assert await state_of(services, upload_id) == UploadState.STORED
    prefix = f"tenants/{tenant.tenant_id}/videos/{upload_id}/"
    s3 = s3_server.client()
    source = s3.get_object(Bucket=bucket, Key=prefix + "source.mp4")["Body"].read()
    assert sha256(source) == sha256(hd_clip.read_bytes())
    assert not staged.exists()  # dropped only after the verified copy was recorded

    assert await worker.run_once()  # transcode, deliver, release
    assert await state_of(services, upload_id) == UploadState.RELEASED
    assert s3_server.keys(bucket) == sorted(
        prefix + name for name in ("source.mp4", "renditions/720p.mp4", "renditions/480p.mp4")
    )
    results = services.settings.results_dir
    assert not (results / upload_id).exists()
    assert list(results.iterdir()) == []

    response = await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)
    view = await response.json()
    assert view["state"] == "released"
    assert view["stored_object"]["key"] == prefix + "source.mp4"
    receipt = view["release_receipt"]
    assert receipt["clause"] == "4.3"
    assert receipt["delivered"] is True
    by_name = {r["name"]: r for r in receipt["results"]}
    assert set(by_name) == {"720p", "480p"}
    for name, height in (("720p", 720), ("480p", 480)):
        data = s3.get_object(Bucket=bucket, Key=by_name[name]["key"])["Body"].read()
        assert sha256(data) == by_name[name]["sha256"]
        assert by_name[name]["destroyed"] is True
        local = tmp_path / f"{name}.mp4"
        local.write_bytes(data)
        probed = ffprobe(local)
        video = next(s for s in probed["streams"] if s["codec_type"] == "video")
        assert (video["codec_name"], video["height"]) == ("h264", height)
        assert any(s["codec_type"] == "audio" for s in probed["streams"])
        assert abs(float(probed["format"]["duration"]) - 6.0) < 0.3
    assert {r["name"] for r in view["renditions"]} == {"720p", "480p"}

    events = await services.events.after(tenant.tenant_id, None, 100)
    assert [e["type"] for e in events] == [
        "upload.received",
        "upload.decided",
        "upload.stored",
        "transcode.delivered",
        "transcode.released",
    ]
    assert events[1]["data"]["verdict"] == "pass"


async def test_rejected_review_and_empty_uploads_never_reach_the_bucket(
    services: Services, tenant: Tenant, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    red = colour_clip(tmp_path / "red.mp4", 20, base=DARK, segments=((5, 8, RED),))
    pink = colour_clip(tmp_path / "pink.mp4", 20, base=DARK, segments=((5, 8, PINK),))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    ids = {
        UploadState.REJECTED: await screened(services, tenant, red),
        UploadState.REVIEW: await screened(services, tenant, pink),
        UploadState.FAILED: await screened(services, tenant, empty),
    }
    for state, upload_id in ids.items():
        assert await state_of(services, upload_id) == state
    (worker,) = build_delivery_workers(services, 1)
    assert not await worker.run_once()  # no forwarding job exists for any of them
    for upload_id in ids.values():
        key = f"tenants/{tenant.tenant_id}/videos/{upload_id}/source.mp4"
        with pytest.raises(NotApproved):  # and the one gate refuses a direct write
            await services.destination.put(upload_id, key, red)
        assert services.staging.path(upload_id).exists() or upload_id == ids[UploadState.FAILED]
    assert s3_server.keys(bucket) == []


async def test_a_large_file_goes_multipart_and_is_verified(
    services: Services, tenant: Tenant, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as file:
        for _ in range(200):
            file.write(os.urandom(1_000_000))  # 200 MB
    upload_id = await received(services, tenant.tenant_id, big)
    await approved_by_hand(services, upload_id)
    (worker,) = build_delivery_workers(services, 1)
    assert await worker.run_once()
    assert await state_of(services, upload_id) == UploadState.STORED
    key = f"tenants/{tenant.tenant_id}/videos/{upload_id}/source.mp4"
    head = s3_server.client().head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 200_000_000
    assert head["ETag"].strip('"').endswith("-39")  # 200 MB in 5 MiB parts: 38 whole and one short
    digest = hashlib.sha256()
    body = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(4 * MiB), b""):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(big.read_bytes()).hexdigest()


async def test_an_s3_outage_mid_forward_is_retried_and_loses_nothing(
    services: Services,
    tenant: Tenant,
    clock: ManualClock,
    s3_server: S3Server,
    bucket: str,
    hd_clip: Path,
) -> None:
    upload_id = await screened(services, tenant, hd_clip)
    (worker,) = build_delivery_workers(services, 1)
    s3_server.pause()
    try:
        assert await worker.run_once()  # the attempt fails: the job waits and retries
        # (approved when the bucket check itself failed, forwarding when the copy did)
        assert await state_of(services, upload_id) in {UploadState.APPROVED, UploadState.FORWARDING}
        assert services.staging.path(upload_id).exists()
        trail = await services.uploads.trail(upload_id)
        assert trail[-1].code == "storage_unavailable"
    finally:
        s3_server.resume()
    clock.advance(seconds=1)
    assert await worker.run_once()
    assert await state_of(services, upload_id) == UploadState.STORED
    assert not services.staging.path(upload_id).exists()
    assert len(s3_server.keys(bucket)) == 1


async def test_wrong_credentials_are_a_clear_error_in_the_trail(
    services: Services, tenant: Tenant, s3_server: S3Server, bucket: str, hd_clip: Path
) -> None:
    upload_id = await screened(services, tenant, hd_clip)
    settings = services.settings
    wrong_key = await asyncio.to_thread(
        functools.partial(
            S3ObjectStore,
            bucket=bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key="not-the-secret",
        )
    )
    services.destination = ApprovedOnlyDestination(wrong_key, services.uploads)
    (worker,) = build_delivery_workers(services, 1)
    assert await worker.run_once()
    assert await state_of(services, upload_id) in {UploadState.APPROVED, UploadState.FORWARDING}
    trail = await services.uploads.trail(upload_id)
    assert trail[-1].code == "storage_unavailable"
    assert services.staging.path(upload_id).exists()
    assert s3_server.keys(bucket) == []


async def test_undeliverable_results_are_destroyed_after_the_deadline(
    services: Services,
    tenant: Tenant,
    clock: ManualClock,
    s3_server: S3Server,
    bucket: str,
    hd_clip: Path,
) -> None:
    upload_id = await screened(services, tenant, hd_clip)
    (worker,) = build_delivery_workers(services, 1)
    assert await worker.run_once()  # stored
    s3_server.pause()
    try:
        assert await worker.run_once()  # transcode cannot fetch or deliver: retried
        assert await state_of(services, upload_id) == UploadState.TRANSCODING
        clock.advance(seconds=601)  # past transcode_result_deadline_s
        assert await worker.run_once()
    finally:
        s3_server.resume()
    assert await state_of(services, upload_id) == UploadState.FAILED
    assert not (services.settings.results_dir / upload_id).exists()
    receipt = (await services.stored.view(upload_id))["release_receipt"]
    assert receipt["delivered"] is False
    trail = await services.uploads.trail(upload_id)
    assert trail[-1].code == "transcode_undelivered"


async def test_a_human_approval_reaches_s3_and_a_rejection_never_does(
    services: Services,
    tenant: Tenant,
    s3_server: S3Server,
    bucket: str,
    hd_clip: Path,
    make_tenant: TenantFactory,
) -> None:
    reviewer = await make_tenant(role=Role.REVIEWER)
    principal = Principal(reviewer.tenant_id, reviewer.api_key.split("_")[1], Role.REVIEWER)
    approved, approve_item = await in_review(services, tenant.tenant_id, [PORN], source=hd_clip)
    rejected, reject_item = await in_review(services, tenant.tenant_id, [PORN], source=hd_clip)
    for item_id, choice in ((approve_item, "approve"), (reject_item, "reject")):
        assert item_id is not None
        await services.review.claim(principal, item_id)
        await services.review.decide(principal, item_id, choice, [PORN], "looked at it")
    (worker,) = build_delivery_workers(services, 1)
    while await worker.run_once():  # forward, transcode, release the approved one
        pass
    assert await state_of(services, approved) == UploadState.RELEASED
    keys = s3_server.keys(bucket)
    assert f"tenants/{tenant.tenant_id}/videos/{approved}/source.mp4" in keys
    assert not [k for k in keys if rejected in k]
    assert await state_of(services, rejected) == UploadState.REJECTED


def test_presigned_urls_are_sigv4_and_refuse_tampering(
    s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    """A customer's player gets a time-limited link to its rendition, nothing more."""
    settings = s3_server.settings_for(bucket)
    store = S3ObjectStore(
        bucket=bucket,
        endpoint_url=settings["s3_endpoint_url"],
        region=settings["s3_region"],
        access_key_id=settings["s3_access_key_id"],
        secret_access_key=settings["s3_secret_access_key"],
    )
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="tenants/t1/videos/u1/renditions/480p.mp4", Body=b"mp4")
    url = store.presign_get("tenants/t1/videos/u1/renditions/480p.mp4", expires_s=60)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"mp4"
    tampered = url.replace("480p.mp4", "720p.mp4")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403
    refused.value.close()


async def test_results_are_destroyed_when_the_last_attempt_fails(
    services: Services, tenant: Tenant, clock: ManualClock, s3_server: S3Server, hd_clip: Path
) -> None:
    upload_id = await screened(services, tenant, hd_clip)
    (worker,) = build_delivery_workers(services, 1)
    assert await worker.run_once()  # stored
    # An operator's lower retry limit, so the test need not wait through ten backoffs.
    async with services.engine.begin() as conn:
        await conn.execute(update(jobs).values(max_attempts=2))
    s3_server.pause()
    try:
        assert await worker.run_once()  # attempt 1: retried later
        assert await state_of(services, upload_id) == UploadState.TRANSCODING
        clock.advance(seconds=60)
        assert await worker.run_once()  # attempt 2, the last: destroyed anyway, recorded
    finally:
        s3_server.resume()
    assert await state_of(services, upload_id) == UploadState.FAILED
    assert not (services.settings.results_dir / upload_id).exists()
    receipt = (await services.stored.view(upload_id))["release_receipt"]
    assert receipt["delivered"] is False


async def test_hls_is_delivered_beside_the_mp4_renditions(
    services: Services,
    tenant: Tenant,
    s3_server: S3Server,
    bucket: str,
    hd_clip: Path,
    tmp_path: Path,
) -> None:
    services.settings = services.settings.model_copy(update={"hls": True, "hls_segment_s": 2})
    upload_id = await screened(services, tenant, hd_clip)
    (worker,) = build_delivery_workers(services, 1)
    while await worker.run_once():
        pass
    assert await state_of(services, upload_id) == UploadState.RELEASED
    prefix = f"tenants/{tenant.tenant_id}/videos/{upload_id}/renditions/"
    keys = [k.removeprefix(prefix) for k in s3_server.keys(bucket, prefix)]
    assert {"720p.mp4", "480p.mp4", "hls/master.m3u8", "hls/480p/index.m3u8"} <= set(keys)
    s3 = s3_server.client()
    master = s3.get_object(Bucket=bucket, Key=prefix + "hls/master.m3u8")["Body"].read().decode()
    assert "RESOLUTION=1280x720\n720p/index.m3u8" in master
    assert "RESOLUTION=854x480\n480p/index.m3u8" in master
    local = tmp_path / "480p"
    local.mkdir()
    for key in keys:
        if key.startswith("hls/480p/"):
            body = s3.get_object(Bucket=bucket, Key=prefix + key)["Body"].read()
            (local / key.rsplit("/", 1)[1]).write_bytes(body)
    assert len(list(local.glob("seg_*.ts"))) >= 3  # 6 s in 2 s segments
    probed = ffprobe(local / "index.m3u8")
    video = next(s for s in probed["streams"] if s["codec_type"] == "video")
    assert video["height"] == 480
    assert abs(float(probed["format"]["duration"]) - 6.0) < 0.5
    receipt = (await services.stored.view(upload_id))["release_receipt"]
    assert {r["name"] for r in receipt["results"]} >= {"hls/master.m3u8", "720p", "480p"}
    assert not (services.settings.results_dir / upload_id).exists()
