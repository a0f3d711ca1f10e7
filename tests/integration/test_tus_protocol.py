"""tus 1.0 over the real app: SQLite file, staging directory, aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant
from tests.helpers import PATCH_TYPE, checksum_header, creation_headers, upload_id_of

Client = TestClient[object, object]


async def create(client: Client, tenant: Tenant, length: int, **meta: str) -> str:
    resp = await client.post("/files/", headers={**tenant.auth, **creation_headers(length, **meta)})
    assert resp.status == 201, await resp.text()
    assert resp.headers["Upload-Offset"] == "0"
    return upload_id_of(resp.headers["Location"])


async def patch(
    client: Client, tenant: Tenant, upload_id: str, offset: int, body: bytes, **headers: str
) -> tuple[int, dict[str, str], str]:
    resp = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": str(offset), **headers},
        data=body,
    )
    return resp.status, dict(resp.headers), await resp.text()


async def server_offset(client: Client, tenant: Tenant, upload_id: str) -> int:
    resp = await client.head(f"/files/{upload_id}", headers=tenant.auth)
    assert resp.status == 200
    return int(resp.headers["Upload-Offset"])


def staged(services: Services, upload_id: str) -> bytes:
    return services.staging.path(upload_id).read_bytes()


async def test_options_announces_version_extensions_and_limits(client: Client) -> None:
    resp = await client.options("/files/")
    assert resp.status == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    assert set(resp.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    }
    assert resp.headers["Tus-Checksum-Algorithm"] == "sha1,sha256,md5"
    assert int(resp.headers["Tus-Max-Size"]) > 0


async def test_upload_in_chunks_then_head_and_status(
    client: Client, services: Services, tenant: Tenant
) -> None:
    data = os.urandom(300_000)
    upload_id = await create(client, tenant, len(data), title="标题")
    status, headers, _ = await patch(client, tenant, upload_id, 0, data[:100_000])
    assert status == 204
    assert headers["Upload-Offset"] == "100000"
    assert "Upload-Expires" in headers
    status, headers, _ = await patch(client, tenant, upload_id, 100_000, data[100_000:])
    assert status == 204
    assert headers["Upload-Offset"] == str(len(data))
    assert staged(services, upload_id) == data

    head = await client.head(f"/files/{upload_id}", headers=tenant.auth)
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" not in head.headers  # complete uploads do not expire

    resp = await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)
    body = await resp.json()
    assert body["state"] == "received"
    assert body["offset"] == body["length"] == len(data)
    assert body["metadata"]["title"] == "标题"
    assert [(e["from"], e["to"]) for e in body["trail"]] == [
        (None, "receiving"),
        ("receiving", "received"),
    ]


async def test_creation_with_upload(client: Client, services: Services, tenant: Tenant) -> None:
    data = b"x" * 5000
    resp = await client.post(
        "/files/",
        headers={**tenant.auth, **creation_headers(len(data)), **PATCH_TYPE},
        data=data,
    )
    assert resp.status == 201
    assert resp.headers["Upload-Offset"] == "5000"
    upload_id = upload_id_of(resp.headers["Location"])
    assert staged(services, upload_id) == data


async def test_zero_length_upload_completes_at_creation(client: Client, tenant: Tenant) -> None:
    upload_id = await create(client, tenant, 0)
    resp = await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)
    assert (await resp.json())["state"] == "received"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
async def test_checksum_match_accepts_and_mismatch_discards(
    client: Client, services: Services, tenant: Tenant, algorithm: str
) -> None:
    upload_id = await create(client, tenant, 20)
    good = b"0123456789"
    status, _, _ = await patch(
        client, tenant, upload_id, 0, good, **{"Upload-Checksum": checksum_header(algorithm, good)}
    )
    assert status == 204
    status, _headers, text = await patch(
        client,
        tenant,
        upload_id,
        10,
        b"ABCDEFGHIJ",
        **{"Upload-Checksum": checksum_header(algorithm, b"not these bytes")},
    )
    assert status == 460
    assert '"checksum_mismatch"' in text
    assert await server_offset(client, tenant, upload_id) == 10
    assert staged(services, upload_id) == good


async def test_unsupported_checksum_algorithm_is_400(client: Client, tenant: Tenant) -> None:
    upload_id = await create(client, tenant, 10)
    status, _, text = await patch(
        client, tenant, upload_id, 0, b"0123456789", **{"Upload-Checksum": "crc32 AAAA"}
    )
    assert status == 400
    assert "checksum_algorithm_unsupported" in text


async def test_termination_destroys_bytes_and_answers_410_after(
    client: Client, services: Services, tenant: Tenant
) -> None:
    upload_id = await create(client, tenant, 10)
    await patch(client, tenant, upload_id, 0, b"01234")
    resp = await client.delete(f"/files/{upload_id}", headers=tenant.auth)
    assert resp.status == 204
    assert not services.staging.path(upload_id).exists()
    head = await client.head(f"/files/{upload_id}", headers=tenant.auth)
    assert head.status == 410
    status = await (await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)).json()
    assert status["state"] == "terminated"


async def test_expired_upload_answers_410_and_sweeper_destroys_bytes(
    client: Client, services: Services, tenant: Tenant, clock: ManualClock
) -> None:
    upload_id = await create(client, tenant, 10)
    await patch(client, tenant, upload_id, 0, b"01234")
    swept_id = await create(client, tenant, 10)
    clock.advance(seconds=services.settings.upload_expiry_s + 1)

    status, _, text = await patch(client, tenant, upload_id, 5, b"56789")
    assert status == 410
    assert "upload_expired" in text
    assert (await client.head(f"/files/{upload_id}", headers=tenant.auth)).status == 410
    assert not services.staging.path(upload_id).exists()

    assert await services.ingest.sweeper.sweep_expired() == 1
    assert not services.staging.path(swept_id).exists()
    trail = await (await client.get(f"/v1/uploads/{swept_id}", headers=tenant.auth)).json()
    assert trail["state"] == "expired"
    assert trail["trail"][-1]["actor"] == "expiry-sweeper"


async def test_patch_refreshes_the_deadline(
    client: Client, services: Services, tenant: Tenant, clock: ManualClock
) -> None:
    upload_id = await create(client, tenant, 10)
    clock.advance(seconds=services.settings.upload_expiry_s - 10)
    status, _, _ = await patch(client, tenant, upload_id, 0, b"01234")
    assert status == 204
    clock.advance(seconds=100)
    assert await server_offset(client, tenant, upload_id) == 5


async def test_two_patches_at_once_second_is_locked(
    client: Client, services: Services, tenant: Tenant
) -> None:
    upload_id = await create(client, tenant, 200_000)
    first_started = asyncio.Event()
    release_first = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"a" * 50_000
        first_started.set()
        await release_first.wait()
        yield b"a" * 50_000

    first = asyncio.create_task(
        client.patch(
            f"/files/{upload_id}",
            headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0", "Content-Length": "100000"},
            data=slow_body(),
        )
    )
    await first_started.wait()
    await asyncio.sleep(0.05)  # let the server start reading the first body
    status, _, text = await patch(client, tenant, upload_id, 0, b"b" * 100_000)
    assert status == 423, text
    release_first.set()
    assert (await first).status == 204
    assert staged(services, upload_id) == b"a" * 100_000


async def test_sixty_four_concurrent_uploads(
    client: Client, services: Services, tenant: Tenant
) -> None:
    payloads = [os.urandom(64 * 1024 + i) for i in range(64)]

    async def one(data: bytes) -> str:
        upload_id = await create(client, tenant, len(data))
        half = len(data) // 2
        assert (await patch(client, tenant, upload_id, 0, data[:half]))[0] == 204
        assert (await patch(client, tenant, upload_id, half, data[half:]))[0] == 204
        return upload_id

    ids = await asyncio.gather(*(one(p) for p in payloads))
    for upload_id, data in zip(ids, payloads, strict=True):
        assert hashlib.sha256(staged(services, upload_id)).digest() == hashlib.sha256(data).digest()
    assert (await client.get("/healthz")).status == 200


async def test_a_failed_insert_leaves_no_staged_orphan(
    services: Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.domain.principals import Principal, Role
    from gateway.services.body_receiver import Body
    from tests.helpers import LICENCE_META

    async def database_down(**_: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(services.uploads, "create", database_down)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"12345"

    principal = Principal(tenant.tenant_id, "k", Role.UPLOADER)
    with pytest.raises(ConnectionError):
        await services.ingest.create(principal, 5, dict(LICENCE_META), Body(chunks(), 5, None))
    assert list(services.settings.staging_dir.iterdir()) == []


async def test_a_stalled_patch_keeps_its_bytes_and_frees_the_upload(
    client: Client, tenant: Tenant, services: Services
) -> None:
    """The security review's reproduction: Content-Length 100, 20 bytes, then silence with the
    socket open. Every later PATCH and DELETE answered 423 for as long as the socket lived."""
    services.settings = services.settings.model_copy(update={"body_idle_timeout_s": 0.5})
    upload_id = await create(client, tenant, 100)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = [
        f"PATCH /files/{upload_id} HTTP/1.1",
        f"Host: {client.host}:{client.port}",
        "Content-Type: application/offset+octet-stream",
        "Content-Length: 100",
        "Upload-Offset: 0",
        *(f"{k}: {v}" for k, v in tenant.auth.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    for byte in bytes(range(20)):  # 1 byte at a time, then nothing
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.01)
    try:
        offset = 0
        for _ in range(100):  # the idle timeout commits what arrived
            offset = await server_offset(client, tenant, upload_id)
            if offset == 20:
                break
            await asyncio.sleep(0.1)
        assert offset == 20
        assert staged(services, upload_id) == bytes(range(20))
        # The lock is free while the stalled socket is still open: the client resumes.
        status, _, _ = await patch(client, tenant, upload_id, 20, bytes(range(20, 100)))
        assert status == 204
        assert await server_offset(client, tenant, upload_id) == 100
    finally:
        writer.close()
        del reader
