"""Every bad input from the issue gets a clear JSON error and the gateway stays up."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from gateway.runtime.wiring import Services
from tests.conftest import TUS, Tenant, TenantFactory
from tests.helpers import PATCH_TYPE, creation_headers, metadata_header, upload_id_of

Client = TestClient[object, object]


async def expect_error(resp: object, status: int, code: str) -> dict[str, str]:
    from aiohttp import ClientResponse

    assert isinstance(resp, ClientResponse)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error: dict[str, str] = (await resp.json())["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
async def upload_id(client: Client, tenant: Tenant) -> str:
    resp = await client.post("/files/", headers={**tenant.auth, **creation_headers(100)})
    assert resp.status == 201
    return upload_id_of(resp.headers["Location"])


@pytest.fixture(autouse=True)
async def gateway_stays_up(client: Client) -> object:
    yield
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("version", [None, "0.2.2", "garbage"])
async def test_missing_or_wrong_tus_resumable_is_412(
    client: Client, tenant: Tenant, version: str | None
) -> None:
    headers = {"Authorization": f"Bearer {tenant.api_key}", **creation_headers(10)}
    if version is not None:
        headers["Tus-Resumable"] = version
    resp = await client.post("/files/", headers=headers)
    await expect_error(resp, 412, "tus_version_unsupported")
    assert resp.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
async def test_wrong_content_type_on_patch_is_415(
    client: Client, tenant: Tenant, upload_id: str, content_type: str | None
) -> None:
    headers = {**tenant.auth, "Upload-Offset": "0"}
    if content_type:
        headers["Content-Type"] = content_type
    resp = await client.patch(f"/files/{upload_id}", headers=headers, data=b"abc")
    await expect_error(resp, 415, "unsupported_media_type")


async def test_offset_mismatch_is_409_and_tells_the_offset(
    client: Client, tenant: Tenant, upload_id: str
) -> None:
    resp = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "7"},
        data=b"abc",
    )
    await expect_error(resp, 409, "offset_mismatch")
    assert resp.headers["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        ("-1", 400, "header_invalid"),
        ("ten", 400, "header_invalid"),
        ("1e3", 400, "header_invalid"),
        ("", 400, "header_invalid"),
        ("99999999999999999999999", 400, "header_invalid"),
        (str(10**15), 413, "upload_too_large"),
    ],
)
async def test_bad_upload_length(
    client: Client, tenant: Tenant, services: Services, length: str, status: int, code: str
) -> None:
    resp = await client.post(
        "/files/",
        headers={**tenant.auth, "Upload-Length": length, "Upload-Metadata": metadata_header()},
    )
    await expect_error(resp, status, code)
    assert list(services.settings.staging_dir.iterdir()) == []


async def test_missing_upload_length_is_400(client: Client, tenant: Tenant) -> None:
    resp = await client.post(
        "/files/", headers={**tenant.auth, "Upload-Metadata": metadata_header()}
    )
    await expect_error(resp, 400, "header_missing")


async def test_patch_past_the_length_is_413_and_keeps_nothing(
    client: Client, tenant: Tenant, upload_id: str, services: Services
) -> None:
    resp = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"x" * 101,
    )
    await expect_error(resp, 413, "upload_length_exceeded")

    async def chunked() -> object:  # no Content-Length: the overrun is seen while streaming
        for _ in range(3):
            yield b"y" * 60

    resp = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=chunked(),
    )
    await expect_error(resp, 413, "upload_length_exceeded")
    head = await client.head(f"/files/{upload_id}", headers=tenant.auth)
    assert head.headers["Upload-Offset"] == "0"
    assert services.staging.path(upload_id).stat().st_size == 0


@pytest.mark.parametrize(
    "metadata",
    [
        "filename not-base64!!",
        "filename " + base64.b64encode(b"\xff\xfe").decode(),  # not UTF-8
        "filename YQ==,filename Yg==",  # duplicate key
        "filename YQ== extra",
        ",",
        "a YQ==,,b Yg==",
    ],
)
async def test_malformed_metadata_is_400(client: Client, tenant: Tenant, metadata: str) -> None:
    resp = await client.post(
        "/files/", headers={**tenant.auth, "Upload-Length": "10", "Upload-Metadata": metadata}
    )
    await expect_error(resp, 400, "metadata_invalid")


async def test_one_megabyte_metadata_header_is_a_json_400(client: Client, tenant: Tenant) -> None:
    huge = "title " + base64.b64encode(b"x" * 786_000).decode()
    assert len(huge) > 1_000_000
    resp = await client.post(
        "/files/", headers={**tenant.auth, "Upload-Length": "10", "Upload-Metadata": huge}
    )
    await expect_error(resp, 400, "metadata_too_large")


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
async def test_unknown_and_foreign_upload_ids_are_404(
    client: Client, tenant: Tenant, make_tenant: TenantFactory, upload_id: str, method: str
) -> None:
    other = await make_tenant()
    for target, who in [("0" * 32, tenant), (upload_id, other), ("../../etc/passwd", tenant)]:
        path = f"/v1/uploads/{target}" if method == "GET" else f"/files/{target}"
        headers = {**who.auth, **PATCH_TYPE, "Upload-Offset": "0"}
        resp = await client.request(method, path, headers=headers, data=b"abc")
        assert resp.status == 404, (method, target, await resp.text())
        if method != "HEAD":
            assert (await resp.json())["error"]["code"] in {"upload_not_found", "not_found"}
    # The owner still sees it, untouched.
    head = await client.head(f"/files/{upload_id}", headers=tenant.auth)
    assert head.status == 200
    assert head.headers["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Bearer vg_0123456789abcdef_wrongsecret", "Basic dXNlcjpwYXNz", ""],
)
async def test_no_or_wrong_api_key_is_401(
    client: Client, upload_id: str, authorization: str | None
) -> None:
    headers = {**TUS, **creation_headers(10)}
    if authorization is not None:
        headers["Authorization"] = authorization
    for method, path in [
        ("POST", "/files/"),
        ("PATCH", f"/files/{upload_id}"),
        ("DELETE", f"/files/{upload_id}"),
        ("GET", f"/v1/uploads/{upload_id}"),
    ]:
        resp = await client.request(method, path, headers=headers)
        await expect_error(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_right_key_id_with_wrong_secret_is_401(client: Client, tenant: Tenant) -> None:
    forged = tenant.api_key.rsplit("_", 1)[0] + "_" + "A" * 43
    resp = await client.post(
        "/files/", headers={**TUS, **creation_headers(10), "Authorization": f"Bearer {forged}"}
    )
    await expect_error(resp, 401, "unauthorized")


async def test_unknown_route_and_method_are_json(client: Client, tenant: Tenant) -> None:
    await expect_error(await client.get("/nope", headers=tenant.auth), 404, "not_found")
    await expect_error(await client.put("/files/", headers=tenant.auth), 405, "method_not_allowed")


async def test_patch_on_a_complete_upload_is_409(client: Client, tenant: Tenant) -> None:
    resp = await client.post(
        "/files/", headers={**tenant.auth, **creation_headers(3), **PATCH_TYPE}, data=b"abc"
    )
    upload_id = upload_id_of(resp.headers["Location"])
    resp = await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "3"},
        data=b"d",
    )
    assert resp.status in (409, 413)


async def test_terminating_twice_is_410(client: Client, tenant: Tenant, upload_id: str) -> None:
    assert (await client.delete(f"/files/{upload_id}", headers=tenant.auth)).status == 204
    await expect_error(
        await client.delete(f"/files/{upload_id}", headers=tenant.auth), 410, "upload_terminated"
    )


async def test_many_bad_requests_at_once_leave_good_uploads_intact(
    client: Client, tenant: Tenant, upload_id: str, services: Services
) -> None:
    good = client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"g" * 100,
    )
    bad = [
        client.post("/files/", headers={**tenant.auth, "Upload-Length": "x"}),
        client.patch(f"/files/{upload_id}", headers={**tenant.auth, "Upload-Offset": "0"}),
        client.head(f"/files/{'f' * 32}", headers=tenant.auth),
    ] * 10
    results = await asyncio.gather(good, *bad)
    assert results[0].status == 204
    assert all(r.status >= 400 for r in results[1:])
    assert services.staging.path(upload_id).read_bytes() == b"g" * 100


async def test_dependency_failures_show_a_code_never_their_detail(services: Services) -> None:
    """A 5xx from a dependency (here an S3 refusal as the adapter words it) reaches the
    caller as its code and a request id; the driver's text stays in the operators' log."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from gateway.domain.errors import StorageUnavailable
    from gateway.http.app import create_app

    async def failing(_request: web.Request) -> web.Response:
        raise StorageUnavailable("object store refused head tenants/x: InvalidAccessKeyId AKIA1")

    app = create_app(services)
    app.router.add_get("/dependency-failure", failing)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/dependency-failure")
        error = await expect_error(resp, 503, "storage_unavailable")
    assert "AKIA" not in error["message"]
    assert "tenants/x" not in error["message"]
    assert "request id" in error["message"]


@pytest.mark.parametrize("bad", [b"\x01", b"\x00", b"\rX", b"\x7f"])
async def test_a_malformed_header_never_writes_the_key_to_the_log(
    client: Client, caplog: pytest.LogCaptureFixture, bad: bytes
) -> None:
    """aiohttp's parser refused the request and logged, at ERROR with a traceback, the raw
    header line: the API key with it (security review, finding 5)."""
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer vg_0123456789abcdef_TOPSECRETKEY" + bad + b"\r\n\r\n"
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # the server closes after it
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", head
    # The answer is JSON like every other error (it was aiohttp's plain text).
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_malformed"
    assert b"TOPSECRETKEY" not in answer
    await asyncio.sleep(0.1)  # the server logs after answering
    logged = "\n".join(caplog.text.splitlines())
    assert "TOPSECRETKEY" not in logged
    server_records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert all(r.levelno < logging.ERROR for r in server_records)


async def test_metrics_can_require_a_scrape_token(services: Services, client: Client) -> None:
    """Open by default; with `metrics_token` set, only the scraper that holds it reads it."""
    assert (await client.get("/metrics")).status == 200
    token = SecretStr("scrape-me")
    services.settings = services.settings.model_copy(update={"metrics_token": token})
    await expect_error(await client.get("/metrics"), 401, "unauthorized")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    await expect_error(wrong, 401, "unauthorized")
    right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert right.status == 200
    assert "vodgate_" in await right.text()


async def test_event_ids_beyond_a_bigint_are_a_400_not_a_500(
    client: Client, tenant: Tenant
) -> None:
    """Found by schemathesis against /openapi.json: ids past 2**63 reached SQLite and broke
    there (500)."""
    resp = await client.post(
        "/v1/events/ack", headers=tenant.auth, json={"ids": [-1, 10**20, 36877913]}
    )
    await expect_error(resp, 400, "body_invalid")


@pytest.mark.parametrize("sig", ["%C3%A9" * 32, "%E2%80%8B", "a%00"])
async def test_a_playback_signature_that_is_not_ascii_is_a_403_not_a_500(
    client: Client, sig: str
) -> None:
    """Security review (issue 20, item 9): compare_digest refuses non-ASCII text with a
    TypeError, so the signature is compared as bytes."""
    resp = await client.get(f"/v1/playback/{'0' * 32}/source?expires=9999999999&sig={sig}")
    await expect_error(resp, 403, "playback_refused")


async def raw_get(client: Client, path: str, authorization: bytes) -> tuple[int, bytes]:
    """A GET whose Authorization holds bytes no client library would send (not UTF-8)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    request = b"GET %s HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n" % (
        path.encode(),
        authorization,
    )
    writer.write(request + b"Connection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_credentials_that_are_not_ascii_are_a_401_not_a_500(
    services: Services, client: Client, tenant: Tenant
) -> None:
    """Security review (issue 20, item 9), the same for keys and the metrics token: header
    bytes that are not UTF-8 reach the gateway as lone surrogates, which cannot be encoded."""
    key_id = tenant.api_key.split("_")[1]
    for credential in (f"vg_{key_id}_".encode() + b"\xff\xfe", tenant.api_key.encode() + b"\xff"):
        status, body = await raw_get(client, "/v1/uploads", credential)
        assert (status, json.loads(body)["error"]["code"]) == (401, "unauthorized")
    token = SecretStr("scrape-me")
    services.settings = services.settings.model_copy(update={"metrics_token": token})
    status, body = await raw_get(client, "/metrics", b"scrape-me\xff")
    assert (status, json.loads(body)["error"]["code"]) == (401, "unauthorized")
