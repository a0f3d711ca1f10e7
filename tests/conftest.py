"""Shared fixtures: a gateway built on real SQLite files and a real staging directory."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from blockbuster import BlockBuster, blockbuster_ctx

from gateway.domain.licences import Licence
from gateway.domain.principals import Role
from gateway.http.app import MAX_HEADER_BYTES, create_app
from gateway.runtime.settings import PROJECT_ROOT, Settings
from gateway.runtime.wiring import Services, close_services, open_services
from tests.models import TEST_POLICY, build_colour_model
from tests.s3 import S3Server, start_s3_server

# In-process tests append bodies of a few bytes; the minimum PATCH size has its own tests,
# and the gateways the e2e tests start as processes keep the default.
os.environ.setdefault("VODGATE_MIN_PATCH_BYTES", "0")

TUS = {"Tus-Resumable": "1.0.0"}
LICENCE_NUMBER = "0108-2026-TEST"


class ManualClock:
    """A clock the test moves by hand (expiry, retention)."""

    def __init__(self) -> None:
        self.current = dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", **TUS}


TenantFactory = Callable[..., Awaitable[Tenant]]


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fails a test whose gateway code makes a blocking call on the event loop (file IO,
    sleeps, sockets), as aiohttp's own tests do."""
    with blockbuster_ctx("gateway") as detector:
        for function in detector.functions.values():
            # At start-up, before the gateway listens: Alembic reads its scripts, and aiohttp
            # resolves the review page's static folder. Settings are built before any loop
            # runs in the product (some tests build them inside one).
            function.can_block_in("gateway/adapters/db/migrate.py", "_upgrade")
            function.can_block_in("gateway/http/review_routes.py", "add_routes")
            # asyncpg looks for ~/.pgpass and TLS files when it connects (not ours to move).
            function.can_block_in("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args")
            function.can_block_in("gateway/runtime/settings.py", "_absolute")
        yield detector


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", expiry_sweep_interval_s=3600.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    built = await open_services(settings, clock=clock)
    yield built
    await close_services(built)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient[object, object]]:
    server = TestServer(create_app(services))
    # TestServer drops constructor kwargs; start it ourselves with production's header limits.
    await server.start_server(max_field_size=MAX_HEADER_BYTES, max_line_size=MAX_HEADER_BYTES)
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def make_tenant(services: Services) -> TenantFactory:
    counter = iter(range(1_000_000))

    async def make(
        *,
        role: Role = Role.UPLOADER,
        valid_until: dt.date | None = None,
        scopes: frozenset[str] = frozenset(),
    ) -> Tenant:
        now = services.clock.now()
        tenant_id, key = await services.tenants.create(f"tenant-{next(counter)}", role, now)
        await services.licences.add(
            tenant_id,
            Licence(
                licence_type="avsp",
                number=LICENCE_NUMBER,
                holder="Test Media Co.",
                valid_from=now.date() - dt.timedelta(days=365),
                valid_until=valid_until or now.date() + dt.timedelta(days=365),
                scopes=scopes,
            ),
            now,
        )
        return Tenant(tenant_id, key.plaintext)

    return make


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Ceph RGW over HTTP (`scripts/s3-server start`; `make test` starts it first). The
    session's buckets go at its end (the server keeps objects in memory)."""
    server = start_s3_server()
    yield server
    server.purge_test_buckets()


@pytest.fixture(scope="session")
def setup_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("screening")
    models = root / "models"
    build_colour_model(models)
    policies = root / "policies"
    policies.mkdir()
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(TEST_POLICY))
    shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
    return models, policies
