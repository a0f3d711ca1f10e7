"""Access log (clause 3.1.8): every upload and API request recorded, kept, pruned, exported."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.adapters.db.access_log import AccessRecord
from gateway.cli.main import main
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services
from tests.conftest import TUS, ManualClock, Tenant
from tests.helpers import PATCH_TYPE, creation_headers, upload_id_of

Client = TestClient[object, object]


async def records(services: Services) -> list[AccessRecord]:
    await services.accesslog.drain()
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return [r async for r in services.accesslog_repository.since(since)]


async def test_each_request_is_recorded_with_who_where_what(
    client: Client, services: Services, tenant: Tenant
) -> None:
    resp = await client.post(
        "/files/",
        headers={
            **tenant.auth,
            **creation_headers(6),
            "Origin": "https://app.example.cn",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    upload_id = upload_id_of(resp.headers["Location"])
    await client.patch(
        f"/files/{upload_id}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=b"abcdef",
    )
    await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)
    await client.head(f"/files/{upload_id}", headers=TUS)  # no key: 401, still recorded
    await client.get("/healthz")  # not an upload or API route: not recorded

    rows = await records(services)
    assert [(r.method, r.status) for r in rows] == [
        ("POST", 201),
        ("PATCH", 204),
        ("GET", 200),
        ("HEAD", 401),
    ]
    post, patch, get, anonymous = rows
    assert post.tenant_id == tenant.tenant_id
    assert post.upload_id == upload_id  # known once created, though not in the path
    assert post.origin == "https://app.example.cn"
    assert post.host is not None
    assert post.host.startswith("127.0.0.1:")
    # Not a trusted proxy: the forwarded header is not believed.
    assert post.client_ip == "127.0.0.1"
    assert patch.bytes_in == 6
    assert patch.path == f"/files/{upload_id}"
    assert get.bytes_out > 0
    assert anonymous.tenant_id is None
    assert len({r.request_id for r in rows}) == 4


async def test_forwarded_for_is_believed_from_a_trusted_proxy(
    tmp_path: Path, clock: ManualClock
) -> None:
    from aiohttp.test_utils import TestServer

    from gateway.http.app import create_app
    from gateway.runtime.wiring import close_services, open_services

    services = await open_services(
        Settings(data_dir=tmp_path / "v", trusted_proxies=("127.0.0.1",)), clock=clock
    )
    try:
        async with TestClient(TestServer(create_app(services))) as client:
            await client.get(
                "/v1/uploads/x", headers={"X-Forwarded-For": "198.51.100.7, 127.0.0.1"}
            )
            rows = await records(services)
        assert rows[0].client_ip == "198.51.100.7"
    finally:
        await close_services(services)


async def test_retention_prunes_only_records_older_than_the_setting(
    client: Client, services: Services, clock: ManualClock
) -> None:
    await client.get("/v1/uploads/old")
    clock.advance(days=61)
    await client.get("/v1/uploads/new")
    assert len(await records(services)) == 2
    keep = dt.timedelta(days=services.settings.accesslog_retention_days)
    removed = await services.accesslog_repository.prune(clock.now() - keep)
    assert removed == 1
    assert [r.path for r in await records(services)] == ["/v1/uploads/new"]


def test_retention_below_sixty_days_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="60"):
        Settings(data_dir=tmp_path, accesslog_retention_days=30)


async def test_export_writes_json_lines_since_a_date(
    client: Client, services: Services, settings: Settings, tmp_path: Path
) -> None:
    for _ in range(3):
        await client.get("/v1/uploads/abc")
    await records(services)
    out = tmp_path / "export.jsonl"
    import asyncio

    code = await asyncio.to_thread(
        main,
        [
            "--log-level",
            "WARNING",
            "accesslog",
            "export",
            "--data-dir",
            str(settings.data_dir),
            "--since",
            dt.date.today().isoformat(),
            "--output",
            str(out),
        ],
    )
    assert code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3
    assert {line["path"] for line in lines} == {"/v1/uploads/abc"}
    assert {"at", "client_ip", "tenant_id", "host", "method", "status", "bytes_in"} <= set(lines[0])


async def test_a_callers_request_id_is_kept_beside_a_unique_one_of_ours(
    client: Client, services: Services, tenant: Tenant
) -> None:
    """Security review, finding 9: a caller's X-Request-Id was stored as the request id, so
    two requests could share one (and a caller could pick the ids in our logs)."""
    answers = [
        await client.get("/v1/uploads", headers={**tenant.auth, "X-Request-Id": "order-42"})
        for _ in range(2)
    ]
    ours = [a.headers["X-Request-Id"] for a in answers]
    assert "order-42" not in ours
    assert ours[0] != ours[1]
    assert all(a.headers["X-Client-Request-Id"] == "order-42" for a in answers)
    rows = await records(services)
    assert [(r.request_id, r.client_request_id) for r in rows] == [
        (ours[0], "order-42"),
        (ours[1], "order-42"),
    ]
    odd_id = 'a"b\\c' + "x" * 40
    odd = await client.get("/v1/uploads", headers={**tenant.auth, "X-Request-Id": odd_id})
    assert "X-Client-Request-Id" not in odd.headers  # only short, plain ids are kept
    assert odd.headers["X-Request-Id"] != odd_id
