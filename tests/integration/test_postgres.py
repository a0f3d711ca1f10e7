"""The same schema, migrations and repositories on PostgreSQL (asyncpg), the scale-out store.

Each test gets a database of its own (tests/postgres.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.domain.errors import Conflict
from gateway.domain.licences import Licence
from gateway.domain.principals import Principal, Role
from gateway.domain.states import UploadState
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services, close_services, open_services
from tests.pipeline_helpers import in_review
from tests.postgres import new_database


@pytest.fixture
async def pg_services(tmp_path: Path) -> AsyncIterator[Services]:
    async with new_database() as url:
        services = await open_services(Settings(data_dir=tmp_path / "var", database_url=url))
        try:
            yield services
        finally:
            await close_services(services)


async def test_repositories_on_postgres(pg_services: Services) -> None:
    services = pg_services
    now = dt.datetime.now(dt.UTC)
    tenant_id, key = await services.tenants.create("pg-tenant", Role.UPLOADER, now)
    record = await services.tenants.find_key(key.key_id)
    assert record is not None
    assert record.tenant_id == tenant_id
    licence = Licence("avsp", "PG-1", "PG Co", now.date(), now.date(), frozenset({"news"}))
    licence_id = await services.licences.add(tenant_id, licence, now)
    assert [(i, lic) for i, lic in await services.licences.held_by(tenant_id)] == [
        (licence_id, licence)
    ]

    upload = await services.uploads.create(
        upload_id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        length=10,
        metadata={"title": "标题"},
        licence_id=licence_id,
        now=now,
        expires_at=now + dt.timedelta(hours=1),
        actor="test",
    )
    upload = await services.uploads.record_offset(upload, 4, now, now, "test")
    assert upload.offset == 4
    done = await services.uploads.record_offset(upload, 10, now, now, "test")
    assert done.state == UploadState.RECEIVED
    assert done.expires_at is None
    assert await services.uploads.get(upload.id, "someone-else") is None
    events = await services.uploads.trail(upload.id)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "receiving"),
        ("receiving", "received"),
    ]
    assert events[0].at.tzinfo is not None

    stale = await services.uploads.create(
        upload_id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        length=10,
        metadata={},
        licence_id=None,
        now=now,
        expires_at=now - dt.timedelta(seconds=1),
        actor="test",
    )
    assert await services.uploads.due_to_expire(now) == [stale.id]


async def test_tus_upload_through_the_app_on_postgres(pg_services: Services) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from gateway.http.app import create_app
    from tests.helpers import PATCH_TYPE, creation_headers, upload_id_of

    services = pg_services
    now = services.clock.now()
    tenant_id, key = await services.tenants.create("pg-app", Role.UPLOADER, now)
    await services.licences.add(
        tenant_id,
        Licence("avsp", "0108-2026-TEST", "PG", now.date(), now.date(), frozenset()),
        now,
    )
    auth = {"Authorization": f"Bearer {key.plaintext}", "Tus-Resumable": "1.0.0"}
    async with TestClient(TestServer(create_app(services))) as client:
        resp = await client.post("/files/", headers={**auth, **creation_headers(6)})
        assert resp.status == 201, await resp.text()
        upload_id = upload_id_of(resp.headers["Location"])
        resp = await client.patch(
            f"/files/{upload_id}",
            headers={**auth, **PATCH_TYPE, "Upload-Offset": "0"},
            data=b"abcdef",
        )
        assert resp.status == 204
        body = await (await client.get(f"/v1/uploads/{upload_id}", headers=auth)).json()
        assert body["state"] == "received"
        await services.accesslog.drain()
    since = now - dt.timedelta(minutes=1)
    logged = [r.method async for r in services.accesslog_repository.since(since)]
    assert logged == ["POST", "PATCH", "GET"]


async def test_job_claims_are_exclusive_on_postgres(pg_services: Services) -> None:
    from tests.integration.test_jobs import make_jobs, race

    services = pg_services
    now = dt.datetime.now(dt.UTC)
    tenant_id, _ = await services.tenants.create("pg-jobs", Role.UPLOADER, now)
    ids = await make_jobs(services, tenant_id, 20)
    claimed = await race(services.jobs, services.clock.now(), workers=10)
    assert sorted(claimed) == sorted(ids)


async def test_review_claims_are_exclusive_on_postgres(pg_services: Services) -> None:
    """Ten reviewers race for twenty items over PostgreSQL's connection pool: every item
    gets exactly one holder, and only that holder's decision counts."""

    from gateway.domain.principals import Principal

    services = pg_services
    now = services.clock.now()
    tenant_id, _ = await services.tenants.create("pg-uploads", Role.UPLOADER, now)
    items = [(await in_review(services, tenant_id, ["3.1.10.3(3)"]))[1] for _ in range(20)]
    reviewers = [Principal("moderators", f"r{i:02d}", Role.REVIEWER) for i in range(10)]
    holders: dict[int, set[str]] = {}

    async def race(who: Principal, item_id: int) -> None:
        try:
            await services.review.claim(who, item_id)
        except Conflict:
            return
        holders.setdefault(item_id, set()).add(who.key_id)

    await asyncio.gather(*(race(r, i) for r in reviewers for i in items if i is not None))
    assert sorted(holders) == sorted(i for i in items if i is not None)
    assert all(len(keys) == 1 for keys in holders.values())
    item_id = items[0]
    assert item_id is not None
    (holder,) = holders[item_id]
    loser = next(r for r in reviewers if r.key_id != holder)
    with pytest.raises(Conflict):
        await services.review.decide(loser, item_id, "approve", [], "not mine")
    winner = next(r for r in reviewers if r.key_id == holder)
    result = await services.review.decide(winner, item_id, "approve", [], "fine")
    assert result["outcome"] == "approved"
    # The log's query of what is still open: each decided upload shows who decided it.
    upload_ids = [(await services.review.reviews.get(i)).upload_id for i in items if i]
    still_open = await services.review.reviews.open_kinds(upload_ids)
    assert len(still_open) == 19
    assert {kind for kinds in still_open.values() for kind in kinds} == {"first"}
    assert [row["decided_by"] for row in await services.review.decision_log(loser)] == [
        winner.actor
    ]


async def test_a_tenants_concurrency_limit_holds_across_racing_workers(
    pg_services: Services,
) -> None:
    """Eight workers claim at once over PostgreSQL (SKIP LOCKED): tenant X, limited to two
    running jobs, gets exactly two; tenant Y's one job is taken too."""
    from gateway.adapters.db.jobs import JobRepository
    from tests.integration.test_jobs import make_jobs

    services = pg_services
    now = services.clock.now()
    x, _ = await services.tenants.create("pg-x", Role.UPLOADER, now)
    y, _ = await services.tenants.create("pg-y", Role.UPLOADER, now)
    x_jobs = await make_jobs(services, x, 10)
    y_jobs = await make_jobs(services, y, 1)
    limited = JobRepository(services.engine, tenant_concurrency=2)
    lease = dt.timedelta(minutes=5)
    now = services.clock.now()  # every job is due
    claims = await asyncio.gather(*(limited.claim(f"w{i}", now, lease) for i in range(8)))
    taken = [job.upload_id for job in claims if job is not None]
    assert len([t for t in taken if t in x_jobs]) == 2
    assert [t for t in taken if t in y_jobs] == list(y_jobs)
