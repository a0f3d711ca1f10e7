"""Request bodies that arrive in several TCP segments, with pauses (a proxy streaming them
unbuffered), are read whole on every route that takes one: never cut at the first segment."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.runtime.screening_wiring import build_bank_service
from gateway.runtime.wiring import Services
from tests.conftest import Tenant, TenantFactory
from tests.segmented import send_in_segments

Client = TestClient[object, object]
SEED = 20_26_12_04


@pytest.fixture(autouse=True)
async def bank_service(services: Services) -> None:
    # As `vodgate serve` does: built off the loop once (its imports load native code).
    services.banks = await asyncio.to_thread(build_bank_service, services)


def _hash_lines(entries: int, frames: int) -> bytes:
    rng = random.Random(SEED)
    lines = []
    for entry in range(entries):
        lines.append(f"entry reference-{entry}")
        lines += [f"{rng.getrandbits(256):064x},100,{t:.3f}" for t in range(frames)]
    return ("\n".join(lines) + "\n").encode()


async def _admin_with_bank(client: Client, make_tenant: TenantFactory) -> Tenant:
    admin = await make_tenant(role=Role.ADMIN)
    resp = await client.post(
        "/v1/admin/banks",
        json={"name": "known", "kind": "prohibited", "clause": "3.1.10.3(4)"},
        headers=admin.auth,
    )
    assert resp.status == 201, await resp.text()
    return admin


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_bank_import_in_segments_imports_every_line(
    client: Client, make_tenant: TenantFactory, chunked: bool
) -> None:
    admin = await _admin_with_bank(client, make_tenant)
    body = _hash_lines(entries=40, frames=80)  # ~240 KiB: far past one socket read
    assert len(body) > 200_000
    cuts = [len(body) // 3, 2 * len(body) // 3]
    status, answer = await send_in_segments(
        client.port, "POST", "/v1/admin/banks/known/import",
        {"Authorization": f"Bearer {admin.api_key}", "Content-Type": "text/plain"},
        body, cuts, chunked=chunked,
    )  # fmt: skip
    assert status == 201, answer
    assert len(answer["entries"]) == 40
    assert {e["frames"] for e in answer["entries"]} == {80}
    listed = await client.get("/v1/admin/banks/known/entries", headers=admin.auth)
    assert len((await listed.json())["entries"]) == 40


async def test_a_body_past_the_cap_is_413_when_counted_not_declared(
    client: Client, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    body = json.dumps({"ids": [1] * 40_000}).encode()  # > 64 KiB, sent chunked (no length)
    status, answer = await send_in_segments(
        client.port, "POST", "/v1/events/ack",
        {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"},
        body, [1000, 30_000, 60_000], chunked=True,
    )  # fmt: skip
    assert status == 413
    assert answer["error"]["code"] == "body_too_large"


Route = tuple[str, str, Callable[[int], dict[str, Any]], Role]


def _routes(other_tenant: str) -> list[Route]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    return [
        ("POST", "/v1/admin/banks",
         lambda n: {"name": f"bank-{n}", "kind": "prohibited", "clause": "3.1.10.3(4)"},
         Role.ADMIN),
        ("POST", f"/v1/admin/tenants/{other_tenant}/arrears", lambda n: {"since": since},
         Role.ADMIN),
        ("POST", "/v1/upload-tokens",
         lambda n: {"max_size": 1000 + n, "metadata": {"title": "片名" * 20}}, Role.UPLOADER),
        ("POST", "/v1/events/ack", lambda n: {"ids": list(range(1, 200))}, Role.UPLOADER),
        ("POST", "/v1/review/items/999999/decision",
         lambda n: {"decision": "approve", "clauses": [], "reason": "理由" * 50}, Role.REVIEWER),
        ("POST", "/v1/uploads/0123456789abcdef0123456789abcdef/appeal",
         lambda n: {"statement": "申诉" * 100}, Role.UPLOADER),
    ]  # fmt: skip


async def test_every_json_route_reads_a_body_split_at_random_positions(
    client: Client, services: Services, make_tenant: TenantFactory
) -> None:
    """Each route answers a body split at random byte positions exactly as it answers the
    same body in one piece (a 2xx, or the 404 of its unknown item: never a 400)."""
    rng = random.Random(SEED)
    keys = {role: (await make_tenant(role=role)).api_key for role in Role}
    other = await make_tenant()
    for method, path, body_of, role in _routes(other.tenant_id):
        headers = {"Authorization": f"Bearer {keys[role]}", "Content-Type": "application/json"}
        whole = json.dumps(body_of(0), ensure_ascii=False).encode()
        expected, answer = await send_in_segments(
            client.port, method, path, headers, whole, [], pause_s=0
        )
        assert expected != 400, (path, answer)
        for attempt in range(1, 7):
            body = json.dumps(body_of(attempt), ensure_ascii=False).encode()
            cuts = rng.sample(range(1, len(body)), k=min(len(body) - 1, rng.randint(1, 4)))
            status, answer = await send_in_segments(
                client.port, method, path, headers, body, cuts, chunked=attempt % 2 == 0
            )
            assert status == expected, (path, cuts, answer)
