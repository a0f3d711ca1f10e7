"""Events: written with the state change, pushed to the tenant's webhook with an HMAC
signature and retried with backoff, readable and acknowledgeable through the pull API."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import standardwebhooks
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.domain.webhook_urls import parse_networks
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services, close_services, open_services
from gateway.services.webhook_dispatch import SIGNATURE_HEADER, WebhookDispatcher
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.pipeline_helpers import received

SECRET = "whsec_test_secret"


@dataclass
class Receiver:
    """A customer's webhook endpoint: checks every signature, fails the first `fail` calls."""

    fail: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp, _, mac = request.headers[SIGNATURE_HEADER].partition(",v1=")
        t = timestamp.removeprefix("t=")
        expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        self.calls.append(
            {
                "valid": hmac.compare_digest(mac, expected) and _standard_ok(request, body),
                "event": json.loads(body),
            }
        )
        if len(self.calls) <= self.fail:
            return web.Response(status=503)
        return web.json_response({"ok": True})


def _standard_ok(request: web.Request, body: bytes) -> bool:
    """The same delivery checked as the Standard Webhooks libraries do (the PyPI package),
    with the tenant's secret as given (the time window left to the library's verify)."""
    headers = request.headers
    webhook = standardwebhooks.Webhook(SECRET)
    at = dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), dt.UTC)
    expected = webhook.sign(headers["webhook-id"], at, body.decode())
    return headers["webhook-signature"] == expected


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(fail=3)
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    server = TestServer(app)
    await server.start_server()
    found.url = str(server.make_url("/hook"))
    yield found
    await server.close()


# The receivers here listen on loopback: the operator's setting that allows it.
LOOPBACK = parse_networks(["127.0.0.0/8", "::1/128"])


def dispatcher(services: Services) -> WebhookDispatcher:
    return WebhookDispatcher(
        events=services.events,
        clock=services.clock,
        metrics=services.metrics,
        timeout_s=5,
        retry_base_s=5,
        retry_window=dt.timedelta(hours=48),
        allowed_networks=LOOPBACK,
    )


async def test_a_failing_receiver_gets_the_event_once_it_recovers(
    services: Services, tenant: Tenant, clock: ManualClock, receiver: Receiver
) -> None:
    await services.webhooks.set(tenant.tenant_id, receiver.url, SECRET, clock.now())
    upload_id = await received(services, tenant.tenant_id)
    sender = dispatcher(services)
    async with aiohttp.ClientSession() as session:
        for attempt in range(4):
            assert await sender.run_once(session) == 1, attempt
            assert await sender.run_once(session) == 0  # backing off: not due yet
            clock.advance(seconds=5 * 2**attempt)
        clock.advance(hours=2)
        assert await sender.run_once(session) == 0  # delivered: never sent again
    assert len(receiver.calls) == 4
    assert all(call["valid"] for call in receiver.calls)
    event = receiver.calls[-1]["event"]
    assert {call["event"]["id"] for call in receiver.calls} == {event["id"]}
    assert event["type"] == "upload.received"
    assert event["data"]["upload_id"] == upload_id
    assert services.metrics.webhook_deliveries.labels(outcome="retry")._value.get() == 3


async def test_events_survive_a_restart_and_are_sent_after_it(
    settings: Settings, clock: ManualClock, make_tenant: TenantFactory, receiver: Receiver
) -> None:
    receiver.fail = 0
    first = await open_services(settings, clock=clock)
    try:
        tenant = await _tenant_in(first)
        await first.webhooks.set(tenant.tenant_id, receiver.url, SECRET, clock.now())
        ids = [await received(first, tenant.tenant_id) for _ in range(3)]
    finally:
        await close_services(first)  # "stopped" before any event was sent
    second = await open_services(settings, clock=clock)
    try:
        async with aiohttp.ClientSession() as session:
            assert await dispatcher(second).run_once(session) == 3
    finally:
        await close_services(second)
    assert sorted(c["event"]["data"]["upload_id"] for c in receiver.calls) == sorted(ids)


async def _tenant_in(services: Services) -> Tenant:
    from gateway.domain.principals import Role

    tenant_id, key = await services.tenants.create("restart", Role.UPLOADER, services.clock.now())
    return Tenant(tenant_id, key.plaintext)


async def test_the_pull_api_lists_and_acknowledges_events(
    services: Services,
    client: TestClient[object, object],
    make_tenant: TenantFactory,
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    ids = [await received(services, tenant.tenant_id) for _ in range(3)]
    await received(services, other.tenant_id)

    listed = await (await client.get("/v1/events", headers=tenant.auth)).json()
    assert [e["data"]["upload_id"] for e in listed["events"]] == ids
    cursor = listed["events"][0]["id"]
    page = await (
        await client.get(f"/v1/events?after={cursor}&limit=1", headers=tenant.auth)
    ).json()
    assert [e["data"]["upload_id"] for e in page["events"]] == ids[1:2]
    assert page["next"] == page["events"][0]["id"]

    acked = await client.post(
        "/v1/events/ack",
        json={"ids": [cursor, *[e["id"] for e in listed["events"][1:2]]]},
        headers=tenant.auth,
    )
    assert (await acked.json()) == {"acked": 2}
    rest = await (await client.get("/v1/events", headers=tenant.auth)).json()
    assert [e["data"]["upload_id"] for e in rest["events"]] == ids[2:]
    # another tenant can neither see nor acknowledge these
    theirs = await (await client.get("/v1/events", headers=other.auth)).json()
    assert len(theirs["events"]) == 1
    denied = await client.post("/v1/events/ack", json={"ids": [cursor]}, headers=other.auth)
    assert (await denied.json()) == {"acked": 0}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/events?after=-1", None, 400, "query_invalid"),
        ("GET", "/v1/events?after=abc", None, 400, "query_invalid"),
        ("GET", "/v1/events?limit=99999999999999999999", None, 400, "query_invalid"),
        ("POST", "/v1/events/ack", b"not json", 400, "body_invalid"),
        ("POST", "/v1/events/ack", b'{"ids": []}', 400, "body_invalid"),
        ("POST", "/v1/events/ack", b'{"ids": ["x"]}', 400, "body_invalid"),
        ("POST", "/v1/events/ack", b'{"ids": [1], "more": 1}', 400, "body_invalid"),
        ("POST", "/v1/events/ack", b"[" * 70_000, 413, "body_too_large"),
    ],
)
async def test_bad_event_requests_get_clear_errors(
    client: TestClient[object, object],
    tenant: Tenant,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
    code: str,
) -> None:
    response = await client.request(method, path, data=body, headers=tenant.auth)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code
    assert (await client.get("/v1/events")).status == 401


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "https://user:pw@example.com/",
        "example.com/hook",
        "http://example.com:99999/",
        # Into the operator's own network (the security review's list):
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://127.1/hook",
        "http://0x7f000001/hook",
        "http://0.0.0.0/hook",
        "http://10.0.0.5/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::ffff:127.0.0.1]/hook",
        # IPv4 inside IPv6 (security review, issue 20, item 13): 6to4, Teredo, NAT64.
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    ],
)
def test_a_webhook_url_that_is_not_a_public_http_endpoint_is_refused(
    tmp_path: Path, url: str
) -> None:
    data_dir = tmp_path / "var"
    base = [sys.executable, "-m", "gateway", "--log-level", "WARNING", "tenant"]
    created = subprocess.run(
        [*base, "create", "hooked", "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    tenant_id = json.loads(created.stdout)["tenant_id"]
    done = subprocess.run(
        [*base, "webhook", "set", tenant_id, "--url", url, "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert json.loads(done.stderr)["error"]["code"] == "webhook_url_invalid"


@dataclass
class Redirecting:
    """An endpoint that answers with a redirect; the target records whatever reaches it."""

    status: int
    target_calls: int = 0


@pytest.fixture
async def redirecting() -> AsyncIterator[tuple[Redirecting, str]]:
    found = Redirecting(307)

    async def hook(_request: web.Request) -> web.Response:
        return web.Response(status=found.status, headers={"Location": "/elsewhere"})

    async def elsewhere(_request: web.Request) -> web.Response:
        found.target_calls += 1
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_route("*", "/elsewhere", elsewhere)
    server = TestServer(app)
    await server.start_server()
    yield found, str(server.make_url("/hook"))
    await server.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    services: Services, tenant: Tenant, clock: ManualClock,
    redirecting: tuple[Redirecting, str], status: int,
) -> None:  # fmt: skip
    endpoint, url = redirecting
    endpoint.status = status
    await services.webhooks.set(tenant.tenant_id, url, SECRET, clock.now())
    await received(services, tenant.tenant_id)
    async with aiohttp.ClientSession() as session:
        assert await dispatcher(services).run_once(session) == 1
    assert endpoint.target_calls == 0  # neither the signed body nor a GET went elsewhere
    assert services.metrics.webhook_deliveries.labels(outcome="retry")._value.get() == 1
    assert services.metrics.webhook_deliveries.labels(outcome="delivered")._value.get() == 0


async def test_the_guard_refuses_at_connect_time_unless_the_network_is_allowed(
    services: Services, tenant: Tenant, clock: ManualClock, receiver: Receiver
) -> None:
    """A name that resolves to loopback (as after DNS rebinding) is refused when the
    dispatcher connects; an operator's allowed network is delivered to."""
    from gateway.adapters.net.webhook_destinations import guarded_session

    receiver.fail = 0
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    await services.webhooks.set(
        tenant.tenant_id, f"http://localhost:{port}/hook", SECRET, clock.now()
    )
    await received(services, tenant.tenant_id)
    timeout = aiohttp.ClientTimeout(total=5)
    async with guarded_session(timeout, ()) as session:
        assert await dispatcher(services).run_once(session) == 1
    assert receiver.calls == []
    clock.advance(hours=1)
    allowed = parse_networks(["127.0.0.0/8", "::1/128"])
    async with guarded_session(timeout, allowed) as session:
        assert await dispatcher(services).run_once(session) == 1
    assert len(receiver.calls) == 1
