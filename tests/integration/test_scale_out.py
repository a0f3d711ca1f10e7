"""Two gateway instances on one PostgreSQL, each with its own data directory, as a load
balancer without sticky sessions would use them: an upload's PATCHes land on either.

S3 staging (Ceph RGW) joins them; local staging refuses the misdirected PATCH clearly (the
data-loss bug: it was answered 204 and the video lost)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from gateway.adapters.db import migrate
from gateway.adapters.db.advisory_locker import AdvisoryLocker, lock_engine
from gateway.adapters.db.engine import create_engine
from gateway.adapters.db.migrate import upgrade_to, upgrade_to_head
from gateway.domain.errors import Locked
from gateway.domain.jobs import SCREENING
from gateway.domain.licences import Licence
from gateway.domain.principals import Role
from gateway.http.app import MAX_HEADER_BYTES, create_app
from gateway.runtime.background import build_delivery_workers
from gateway.runtime.settings import MiB, Settings
from gateway.runtime.wiring import Services, close_services, open_services
from tests.conftest import LICENCE_NUMBER, ManualClock, Tenant
from tests.helpers import PATCH_TYPE, checksum_header, chunked, creation_headers, upload_id_of
from tests.postgres import new_database
from tests.s3 import S3Server, new_bucket
from tests.tcp_proxy import TcpProxy


@dataclass
class Instance:
    services: Services
    client: TestClient[Any, Any]

    async def offset(self, tenant: Tenant, upload_id: str) -> int:
        head = await self.client.head(f"/files/{upload_id}", headers=tenant.auth)
        assert head.status == 200, head.status
        return int(head.headers["Upload-Offset"])

    async def patch(
        self, tenant: Tenant, upload_id: str, offset: int, data: Any, **headers: str
    ) -> Any:
        return await self.client.patch(
            f"/files/{upload_id}",
            headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": str(offset), **headers},
            data=chunked(data) if isinstance(data, bytes) else data,
        )


@contextlib.asynccontextmanager
async def instance(settings: Settings, clock: ManualClock) -> AsyncIterator[Instance]:
    services = await open_services(settings, clock=clock)
    server = TestServer(create_app(services))
    await server.start_server(max_field_size=MAX_HEADER_BYTES, max_line_size=MAX_HEADER_BYTES)
    try:
        async with TestClient(server) as client:
            yield Instance(services, client)
    finally:
        await close_services(services)


@contextlib.asynccontextmanager
async def two_instances(tmp_path: Path, **extra: Any) -> AsyncIterator[tuple[Instance, Instance]]:
    clock = ManualClock()
    async with new_database() as url:
        common = {
            "database_url": url,
            "screening_workers": 0,
            "delivery_workers": 0,
            "registry_cache_ttl_s": 0,
            **extra,
        }
        async with (
            instance(Settings(data_dir=tmp_path / "a", **common), clock) as a,
            instance(Settings(data_dir=tmp_path / "b", **common), clock) as b,
        ):
            yield a, b


async def licensed_tenant(services: Services) -> Tenant:
    now = services.clock.now()
    tenant_id, key = await services.tenants.create("scale-out", Role.UPLOADER, now)
    valid = Licence("avsp", LICENCE_NUMBER, "Test Media Co.", now.date(), now.date(), frozenset())
    await services.licences.add(tenant_id, valid, now)
    return Tenant(tenant_id, key.plaintext)


async def create(at: Instance, tenant: Tenant, length: int, body: bytes | None = None) -> str:
    headers = {**tenant.auth, **creation_headers(length)}
    if body is not None:
        headers |= PATCH_TYPE
    created = await at.client.post(
        "/files/", headers=headers, data=None if body is None else chunked(body)
    )
    assert created.status == 201, await created.text()
    return upload_id_of(created.headers["Location"])


def pending_multipart(s3_server: S3Server, bucket: str) -> list[str]:
    listed = s3_server.client().list_multipart_uploads(Bucket=bucket)
    return [u["Key"] for u in listed.get("Uploads", [])]


@pytest.fixture
def s3_extra(s3_server: S3Server) -> dict[str, Any]:
    return {
        "staging": "s3",
        "s3_staging_bucket": new_bucket(),
        "s3_part_size": 5 * MiB,
        **s3_server.settings_for(new_bucket()),
    }


async def test_an_upload_patched_alternately_on_two_instances_is_whole(
    tmp_path: Path, s3_server: S3Server, s3_extra: dict[str, Any]
) -> None:
    staging = s3_extra["s3_staging_bucket"]
    data = await asyncio.to_thread(os.urandom, 23 * MiB + 123)
    async with two_instances(tmp_path, **s3_extra) as (a, b):
        tenant = await licensed_tenant(a.services)
        upload_id = await create(a, tenant, len(data))
        offset, turn = 0, 0
        while offset < len(data):
            here = (a, b)[turn % 2]
            piece = data[offset : offset + 3 * MiB + 17]  # crosses part boundaries unevenly
            if turn == 2:  # a body failing its checksum changes nothing, on either side
                bad = await here.patch(
                    tenant,
                    upload_id,
                    offset,
                    piece,
                    **{"Upload-Checksum": checksum_header("sha256", b"not these bytes")},
                )
                assert bad.status == 460
            sent = await here.patch(tenant, upload_id, offset, piece)
            assert sent.status == 204, await sent.text()
            offset += len(piece)
            assert await a.offset(tenant, upload_id) == offset
            assert await b.offset(tenant, upload_id) == offset
            turn += 1

        (sealer,) = build_delivery_workers(b.services, 1)
        assert await sealer.run_once()  # sealed by a worker of the other instance
        key = f"quarantine/{upload_id}"
        assert s3_server.keys(staging) == [key]  # the tails are gone
        assert pending_multipart(s3_server, staging) == []
        stored = s3_server.client().get_object(Bucket=staging, Key=key)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
        for node in (a, b):  # neither instance kept a byte on its own disk
            assert list(node.services.settings.staging_dir.iterdir()) == []


async def test_termination_and_expiry_leave_nothing_in_the_staging_bucket(
    tmp_path: Path, s3_server: S3Server, s3_extra: dict[str, Any]
) -> None:
    staging = s3_extra["s3_staging_bucket"]
    data = await asyncio.to_thread(os.urandom, 6 * MiB)
    async with two_instances(tmp_path, **s3_extra) as (a, b):
        tenant = await licensed_tenant(a.services)
        # creation-with-upload on B: one 5 MiB part and a 1 MiB tail object
        terminated = await create(b, tenant, 8 * MiB, data)
        assert await a.offset(tenant, terminated) == 6 * MiB
        assert s3_server.keys(staging) == [f"quarantine/{terminated}.tail-{5 * MiB}"]
        deleted = await a.client.delete(f"/files/{terminated}", headers=tenant.auth)
        assert deleted.status == 204

        expiring = await create(a, tenant, 4 * MiB)
        assert (await b.patch(tenant, expiring, 0, data[:MiB])).status == 204
        clock = a.services.clock
        assert isinstance(clock, ManualClock)
        clock.advance(seconds=a.services.settings.upload_expiry_s + 1)
        assert await b.services.ingest.sweeper.sweep_expired() == 1
        assert (await a.client.head(f"/files/{expiring}", headers=tenant.auth)).status == 410

        assert s3_server.keys(staging) == []
        assert pending_multipart(s3_server, staging) == []


async def test_a_creation_body_failing_its_checksum_leaves_the_upload_resumable(
    tmp_path: Path, s3_server: S3Server, s3_extra: dict[str, Any]
) -> None:
    """The 460 body is discarded, including the part and tail it had already sent: the
    recorded state stays at zero bytes, and the right bytes then go in as if it never came."""
    staging = s3_extra["s3_staging_bucket"]
    data = await asyncio.to_thread(os.urandom, 7 * MiB)
    async with two_instances(tmp_path, **s3_extra) as (a, b):
        tenant = await licensed_tenant(a.services)
        headers = {
            **tenant.auth,
            **creation_headers(len(data)),
            **PATCH_TYPE,
            "Upload-Checksum": checksum_header("sha256", b"other bytes"),
        }
        created = await a.client.post("/files/", headers=headers, data=chunked(data))
        assert created.status == 460
        upload_id = upload_id_of(created.headers["Location"])
        assert await b.offset(tenant, upload_id) == 0
        assert (await b.patch(tenant, upload_id, 0, data)).status == 204
        (sealer,) = build_delivery_workers(a.services, 1)
        assert await sealer.run_once()
        stored = s3_server.client().get_object(Bucket=staging, Key=f"quarantine/{upload_id}")
        assert stored["Body"].read() == data


async def test_two_patches_on_two_instances_never_interleave(
    tmp_path: Path, s3_server: S3Server, s3_extra: dict[str, Any]
) -> None:
    staging = s3_extra["s3_staging_bucket"]
    data = await asyncio.to_thread(os.urandom, 7 * MiB)
    first_half_sent = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield data[: 4 * MiB]
        first_half_sent.set()
        await asyncio.sleep(1.5)
        yield data[4 * MiB :]

    async with two_instances(tmp_path, **s3_extra) as (a, b):
        tenant = await licensed_tenant(a.services)
        upload_id = await create(a, tenant, len(data))
        slow = asyncio.create_task(a.patch(tenant, upload_id, 0, slow_body()))
        await first_half_sent.wait()
        await asyncio.sleep(0.3)
        refused = await b.patch(tenant, upload_id, 0, b"x" * MiB)
        assert refused.status == 423
        assert (await refused.json())["error"]["code"] == "upload_locked"
        assert (await slow).status == 204
        assert await b.offset(tenant, upload_id) == len(data)
        (sealer,) = build_delivery_workers(b.services, 1)
        assert await sealer.run_once()
        stored = s3_server.client().get_object(Bucket=staging, Key=f"quarantine/{upload_id}")
        assert stored["Body"].read() == data
        metrics = await (await b.client.get("/metrics")).text()
        assert "vodgate_upload_lock_refusals_total 1.0" in metrics


async def test_local_staging_refuses_a_patch_for_another_instances_upload(
    tmp_path: Path,
) -> None:
    """The embedded default, misconfigured as two instances on one database: the PATCH that
    lands on the instance without the first half is refused (409), never acknowledged; the
    upload then completes through the instance that holds it."""
    data = await asyncio.to_thread(os.urandom, 2 * MiB)
    half = MiB
    async with two_instances(tmp_path) as (a, b):
        tenant = await licensed_tenant(a.services)
        upload_id = await create(a, tenant, len(data))
        assert (await a.patch(tenant, upload_id, 0, data[:half])).status == 204

        misdirected = await b.patch(tenant, upload_id, half, data[half:])
        assert misdirected.status == 409
        error = (await misdirected.json())["error"]
        assert error["code"] == "upload_on_other_instance"
        assert await b.offset(tenant, upload_id) == half  # HEAD anywhere tells the truth
        refused_delete = await b.client.delete(f"/files/{upload_id}", headers=tenant.auth)
        assert refused_delete.status == 409
        assert list(b.services.settings.staging_dir.iterdir()) == []

        assert (await a.patch(tenant, upload_id, half, data[half:])).status == 204
        staged = a.services.settings.staging_dir / f"{upload_id}.bin"
        assert await asyncio.to_thread(staged.read_bytes) == data
        # Its screening can run only where its bytes are.
        now = a.services.clock.now()
        lease = dt.timedelta(minutes=5)
        elsewhere = b.services.settings.node
        assert await b.services.jobs.claim("b", now, lease, (SCREENING,), elsewhere) is None
        here = await a.services.jobs.claim("a", now, lease, (SCREENING,), a.services.settings.node)
        assert here is not None
        assert here.upload_id == upload_id


# The newest migration script's revision (each file starts with its number).
HEAD_REVISION = max(
    p.name[:4] for p in (Path(migrate.__file__).parent / "migrations" / "versions").glob("0*.py")
)


async def test_migrations_run_on_an_empty_database_and_from_the_previous_revision() -> None:
    async with new_database() as empty, new_database() as previous:
        for url, start in ((empty, None), (previous, "0006")):
            engine = await asyncio.to_thread(create_engine, url)
            try:
                if start is not None:
                    await upgrade_to(engine, start)
                await upgrade_to_head(engine)
                async with engine.connect() as conn:
                    revision = (
                        await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar_one()
                    columns = await conn.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = 'uploads'"
                        )
                    )
                    names = {row[0] for row in columns}
            finally:
                await engine.dispose()
            assert revision == HEAD_REVISION
            assert {"staged_on", "staging_state"} <= names


async def test_s3_down_mid_patch_answers_503_and_the_upload_resumes(
    tmp_path: Path, s3_server: S3Server, s3_extra: dict[str, Any]
) -> None:
    staging = s3_extra["s3_staging_bucket"]
    data = await asyncio.to_thread(os.urandom, 12 * MiB)
    async with two_instances(tmp_path, **s3_extra) as (a, b):
        tenant = await licensed_tenant(a.services)
        upload_id = await create(a, tenant, len(data))
        assert (await a.patch(tenant, upload_id, 0, data[: 6 * MiB])).status == 204
        s3_server.pause()
        try:
            failed = await b.patch(tenant, upload_id, 6 * MiB, data[6 * MiB :])
            assert failed.status == 503
            assert (await failed.json())["error"]["code"] == "storage_unavailable"
            assert await a.offset(tenant, upload_id) == 6 * MiB  # unchanged
            ready = await a.client.get("/readyz")
            assert ready.status == 503
            checks = (await ready.json())["checks"]
            assert checks["database"] == "ok"
            assert checks["staging"].startswith("storage_unavailable")
        finally:
            s3_server.resume()
        assert await ready_again(a), "readyz never recovered after S3 came back"
        assert (await b.patch(tenant, upload_id, 6 * MiB, data[6 * MiB :])).status == 204
        (sealer,) = build_delivery_workers(a.services, 1)
        assert await sealer.run_once()
        stored = s3_server.client().get_object(Bucket=staging, Key=f"quarantine/{upload_id}")
        assert stored["Body"].read() == data


async def ready_again(at: Instance, within_s: float = 60.0) -> bool:
    """Polls /readyz until it answers 200 (RGW takes a moment to serve after a restart)."""
    for _ in range(int(within_s * 2)):
        if (await at.client.get("/readyz")).status == 200:
            return True
        await asyncio.sleep(0.5)
    return False


async def test_wrong_s3_credentials_make_the_instance_unready(
    tmp_path: Path, s3_extra: dict[str, Any]
) -> None:
    wrong = {**s3_extra, "s3_secret_access_key": "not-the-secret"}
    async with two_instances(tmp_path, **wrong) as (a, _):
        ready = await a.client.get("/readyz")
        assert ready.status == 503
        body = await ready.json()
        assert body["ready"] is False
        assert body["checks"]["database"] == "ok"
        for store in ("staging", "destination"):
            assert body["checks"][store].startswith("storage_unavailable: object store refused")
            assert "not-the-secret" not in body["checks"][store]
        assert (await a.client.get("/healthz")).status == 200  # alive all the same


async def test_a_lost_database_answers_503_and_work_resumes_after(tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    async with new_database() as url:
        through_proxy = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        settings = Settings(
            data_dir=tmp_path / "a",
            database_url=through_proxy,
            screening_workers=0,
            delivery_workers=0,
            registry_cache_ttl_s=0,
        )
        async with instance(settings, ManualClock()) as a:
            tenant = await licensed_tenant(a.services)
            upload_id = await create(a, tenant, 4)
            await proxy.cut()
            try:
                lost = await a.client.head(f"/files/{upload_id}", headers=tenant.auth)
                assert lost.status == 503
                assert lost.headers["Retry-After"] == "5"
                ready = await (await a.client.get("/readyz")).json()
                assert ready["checks"]["database"] != "ok"
            finally:
                await proxy.restore()
            assert await a.offset(tenant, upload_id) == 0
            assert (await a.patch(tenant, upload_id, 0, b"abcd")).status == 204
            job = await a.services.jobs.claim(
                "w",
                a.services.clock.now(),
                dt.timedelta(minutes=5),
                (SCREENING,),
                a.services.settings.node,
            )
            assert job is not None
            assert job.upload_id == upload_id
    await proxy.cut()


async def test_instances_starting_together_on_an_empty_database_migrate_once(
    tmp_path: Path,
) -> None:
    async with new_database() as url:
        started = await asyncio.gather(
            *(
                open_services(Settings(data_dir=tmp_path / name, database_url=url))
                for name in ("a", "b", "c", "d")
            )
        )
        for services in started:
            await close_services(services)


async def test_a_lock_held_by_a_dead_instance_is_freed() -> None:
    """An instance killed mid-PATCH: its session ends, and with it the upload's lock."""
    async with new_database() as url:
        dying_engine = await asyncio.to_thread(lock_engine, url, 2)
        dying = AdvisoryLocker(dying_engine)
        survivor_engine = await asyncio.to_thread(lock_engine, url, 2)
        survivor = AdvisoryLocker(survivor_engine)
        held = asyncio.Event()
        release = asyncio.Event()

        async def patch_forever() -> None:
            async with dying.hold("t", "u"):
                held.set()
                await release.wait()

        task = asyncio.create_task(patch_forever())
        await held.wait()
        with pytest.raises(Locked):
            async with survivor.hold("t", "u"):
                pass
        # The dying instance's connection goes (as a SIGKILL closes its socket).
        async with survivor_engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                )
            )
        async with survivor.hold("t", "u"):
            pass
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await survivor_engine.dispose()
        await dying_engine.dispose()
