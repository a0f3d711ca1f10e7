"""The review queue through the HTTP API: exclusive claims under a lease, decisions by the
lease holder only, blind 二审 by a different reviewer, escalation, appeals, roles, the
evidence and video for the lease holder, SLA alerts and the append-only audit trail."""

from __future__ import annotations

import asyncio
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.domain.states import UploadState
from gateway.runtime.background import build_screening_workers
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.wiring import Services
from tests.conftest import ManualClock, Tenant, TenantFactory
from tests.media import colour_clip
from tests.models import DARK, PINK
from tests.pipeline_helpers import in_review, received

Client = TestClient[object, object]
PORN = "3.1.10.3(3)"  # severity 4, one reviewer
POLITICAL = "3.1.10.3(1)"  # severity 5, 二审


async def post(client: Client, path: str, who: Tenant, body: Any = None) -> tuple[int, Any]:
    data = io.BytesIO(json.dumps(body).encode())  # a 10 MB body must not block the loop
    headers = {**who.auth, "Content-Type": "application/json"}
    response = await client.post(path, data=data, headers=headers)
    return response.status, await response.json()


async def get(client: Client, path: str, who: Tenant) -> tuple[int, Any]:
    response = await client.get(path, headers=who.auth)
    return response.status, await response.json()


async def decide(
    client: Client, item_id: int, who: Tenant, decision: str, clauses: list[str] | None = None
) -> tuple[int, Any]:
    status, body = await post(client, f"/v1/review/items/{item_id}/claim", who)
    assert status == 200, body
    return await post(
        client,
        f"/v1/review/items/{item_id}/decision",
        who,
        {"decision": decision, "clauses": clauses or [], "reason": f"{decision} by test"},
    )


async def state_of(services: Services, upload_id: str) -> UploadState:
    upload = await services.uploads.get_internal(upload_id)
    assert upload is not None
    return upload.state


@pytest.fixture
async def reviewers(make_tenant: TenantFactory) -> list[Tenant]:
    return [await make_tenant(role=Role.REVIEWER) for _ in range(3)]


async def test_screening_sends_a_review_verdict_to_the_queue(
    services: Services,
    tenant: Tenant,
    client: Client,
    reviewers: list[Tenant],
    setup_dirs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    models, policies = setup_dirs
    settings = services.settings.model_copy(update={"models_dir": models, "policies_dir": policies})
    services.screener = await asyncio.to_thread(build_screener, settings)
    clip = colour_clip(tmp_path / "pink.mp4", 20, base=DARK, segments=((5, 8, PINK),))
    upload_id = await received(services, tenant.tenant_id, clip)
    (worker,) = build_screening_workers(services)
    assert await worker.run_once()
    assert await state_of(services, upload_id) == UploadState.REVIEW
    status, queue = await get(client, "/v1/review/queue", reviewers[0])
    assert status == 200
    (item,) = queue["items"]
    assert (item["upload_id"], item["clauses"], item["kind"]) == (upload_id, [PORN], "first")
    assert 0.6 <= item["score"] < 0.92
    assert queue["counts"] == {"open": 1, "claimed": 0, "overdue": 0}


async def test_100_concurrent_claims_on_20_items_give_each_to_one_reviewer(
    services: Services, tenant: Tenant, client: Client, make_tenant: TenantFactory
) -> None:
    items = [(await in_review(services, tenant.tenant_id, [PORN]))[1] for _ in range(20)]
    crowd = [await make_tenant(role=Role.REVIEWER) for _ in range(10)]
    rng = random.Random(7)
    attempts = [(rng.choice(crowd), rng.choice(items)) for _ in range(100)]
    results = await asyncio.gather(
        *(post(client, f"/v1/review/items/{item}/claim", who) for who, item in attempts)
    )
    holders: dict[int, set[str]] = {}
    for (who, item), (status, body) in zip(attempts, results, strict=True):
        assert status in (200, 409), body
        if status == 200:
            holders.setdefault(item, set()).add(who.api_key)
        else:
            assert body["error"]["code"] == "review_item_claimed"
    assert all(len(keys) == 1 for keys in holders.values()), holders
    assert set(holders) == {i for _, i in attempts}


async def test_a_lapsed_lease_returns_the_item_and_the_old_holder_cannot_decide(
    services: Services,
    tenant: Tenant,
    client: Client,
    clock: ManualClock,
    reviewers: list[Tenant],
) -> None:
    first, second, _ = reviewers
    _, item = await in_review(services, tenant.tenant_id, [PORN])
    assert (await post(client, f"/v1/review/items/{item}/claim", first))[0] == 200
    assert (await post(client, f"/v1/review/items/{item}/claim", second))[0] == 409
    clock.advance(minutes=11)  # the 10-minute lease lapsed
    assert (await post(client, f"/v1/review/items/{item}/claim", second))[0] == 200
    status, body = await post(
        client,
        f"/v1/review/items/{item}/decision",
        first,
        {"decision": "approve", "reason": "too late"},
    )
    assert (status, body["error"]["code"]) == (409, "review_lease_not_held")


async def test_approve_moves_on_to_forwarding_and_reject_keeps_then_destroys_the_video(
    services: Services,
    tenant: Tenant,
    client: Client,
    clock: ManualClock,
    reviewers: list[Tenant],
) -> None:
    approved, item_a = await in_review(services, tenant.tenant_id, [PORN])
    rejected, item_r = await in_review(services, tenant.tenant_id, [PORN])
    assert (await decide(client, item_a, reviewers[0], "approve"))[1]["outcome"] == "approved"
    status, body = await decide(client, item_r, reviewers[0], "reject", [PORN])
    assert (status, body["outcome"]) == (200, "rejected")
    assert await state_of(services, approved) in {
        UploadState.APPROVED,
        UploadState.FORWARDING,
        UploadState.STORED,
        UploadState.TRANSCODING,
        UploadState.FAILED,  # the test's 4 KB "video" cannot be transcoded
    }
    assert await services.uploads.was_approved(approved)
    assert await state_of(services, rejected) == UploadState.REJECTED
    staged = services.staging.path(rejected)
    assert staged.exists()  # kept as evidence
    assert await services.review.upkeep.sweep_rejected() == 0
    clock.advance(days=31)
    assert await services.review.upkeep.sweep_rejected() == 1
    assert not staged.exists()
    trail = await services.uploads.trail(rejected)
    assert trail[-1].code == "evidence_destroyed"


async def test_second_review_is_blind_by_a_different_reviewer_and_disagreement_escalates(
    services: Services,
    tenant: Tenant,
    client: Client,
    reviewers: list[Tenant],
    make_tenant: TenantFactory,
) -> None:
    first, second, third = reviewers
    agreed, item = await in_review(services, tenant.tenant_id, [POLITICAL])
    status, body = await decide(client, item, first, "approve")
    assert (status, body["outcome"]) == (200, "second_review")
    assert await state_of(services, agreed) == UploadState.REVIEW
    _, queue = await get(client, "/v1/review/queue", second)
    (two,) = [i for i in queue["items"] if i["upload_id"] == agreed]
    assert two["kind"] == "second"
    status, body = await post(client, f"/v1/review/items/{two['id']}/claim", first)
    assert (status, body["error"]["code"]) == (403, "review_reviewer_excluded")
    assert (await post(client, f"/v1/review/items/{two['id']}/claim", second))[0] == 200
    _, view = await get(client, f"/v1/review/items/{two['id']}", second)
    assert view["blind"] is True
    assert view["earlier_decisions"] == []  # the first decision stays hidden
    assert (await decide(client, two["id"], second, "approve"))[1]["outcome"] == "approved"
    _, view = await get(client, f"/v1/review/items/{two['id']}", second)
    assert [d["decision"] for d in view["earlier_decisions"]] == ["approve"]  # now visible

    disputed, item = await in_review(services, tenant.tenant_id, [POLITICAL])
    assert (await decide(client, item, first, "approve"))[1]["outcome"] == "second_review"
    _, queue = await get(client, "/v1/review/queue", second)
    (two,) = [i for i in queue["items"] if i["upload_id"] == disputed]
    status, body = await decide(client, two["id"], second, "reject", [POLITICAL])
    assert body["outcome"] == "escalated"
    _, queue = await get(client, "/v1/review/queue", third)
    (esc,) = [i for i in queue["items"] if i["upload_id"] == disputed]
    status, body = await post(client, f"/v1/review/items/{esc['id']}/claim", third)
    assert (status, body["error"]["code"]) == (403, "review_admin_only")
    admin = await make_tenant(role=Role.ADMIN)
    assert (await decide(client, esc["id"], admin, "reject", [POLITICAL]))[1]["outcome"] == (
        "rejected"
    )
    assert await state_of(services, disputed) == UploadState.REJECTED


async def test_an_appeal_goes_once_to_a_reviewer_who_did_not_decide_before(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    first, second, _ = reviewers
    upload_id, item = await in_review(services, tenant.tenant_id, [PORN])
    await decide(client, item, first, "reject", [PORN])
    path = f"/v1/uploads/{upload_id}/appeal"
    assert (await post(client, path, tenant, {"statement": ""}))[1]["error"]["code"] == (
        "appeal_statement_required"
    )
    status, body = await post(client, path, tenant, {"statement": "this is a medical film"})
    assert status == 201
    appeal_item = body["appeal_item_id"]
    assert (await post(client, path, tenant, {"statement": "again"}))[0] == 409
    assert await state_of(services, upload_id) == UploadState.REVIEW
    status, body = await post(client, f"/v1/review/items/{appeal_item}/claim", first)
    assert (status, body["error"]["code"]) == (403, "review_reviewer_excluded")
    _, view = await get(client, f"/v1/review/items/{appeal_item}", second)
    assert view["appeal"] == "this is a medical film"
    assert (await decide(client, appeal_item, second, "approve"))[1]["outcome"] == "approved"
    _, view = await get(client, f"/v1/uploads/{upload_id}", tenant)
    assert [(r["kind"], r["decision"]) for r in view["review"]] == [
        ("first", "reject"),
        ("appeal", "approve"),
    ]
    assert "key:" not in str(view["review"])  # reviewers stay anonymous to the tenant
    reviewer_keys = {f"key:{r.api_key.split('_')[1]}" for r in (first, second)}
    shown = [(e["from"], e["to"], e["actor"]) for e in view["trail"]]
    assert not reviewer_keys & {actor for _, _, actor in shown}
    assert ("review", "rejected", "reviewer") in shown
    assert ("review", "approved", "reviewer") in shown
    events = await services.events.after(tenant.tenant_id, None, 50)
    mine = [e for e in events if e["data"]["upload_id"] == upload_id]
    assert [(e["type"], e["data"].get("verdict"), e["data"].get("decided_by")) for e in mine] == [
        ("upload.received", None, None),
        ("upload.decided", "review", "screening"),
        ("upload.decided", "block", "reviewer"),
        ("upload.appealed", None, None),
        ("upload.decided", "pass", "reviewer"),
    ]

    # Overturning a machine block on appeal needs a second reviewer.
    blocked, _ = await in_review(services, tenant.tenant_id, [PORN], verdict="block")
    status, body = await post(client, f"/v1/uploads/{blocked}/appeal", tenant, {"statement": "x"})
    assert status == 201
    outcome = (await decide(client, body["appeal_item_id"], second, "approve"))[1]["outcome"]
    assert outcome == "second_review"
    trail = await services.review.reviews.audit_trail(upload_id)
    actions = [(e["action"], e["actor"]) for e in trail]
    assert ("appeal", f"key:{tenant.api_key.split('_')[1]}") in actions
    assert [a for a, _ in actions] == [
        "queued", "claim", "decide", "queued", "appeal", "claim", "decide",
    ]  # fmt: skip


async def test_only_reviewers_reach_review_routes(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    upload_id, item = await in_review(services, tenant.tenant_id, [PORN])
    routes = [
        ("GET", "/v1/review/queue"),
        ("GET", "/v1/review/log"),
        ("GET", f"/v1/review/items/{item}"),
        ("POST", f"/v1/review/items/{item}/claim"),
        ("POST", f"/v1/review/items/{item}/release"),
        ("POST", f"/v1/review/items/{item}/decision"),
        ("GET", f"/v1/review/items/{item}/video"),
        ("GET", f"/v1/review/items/{item}/evidence/00-0001.000.jpg"),
    ]
    for method, path in routes:
        anonymous = await client.request(method, path)
        assert anonymous.status == 401, path
        uploader = await client.request(method, path, headers=tenant.auth)
        assert uploader.status == 403, path
        assert (await uploader.json())["error"]["code"] == "forbidden"
    _, view = await get(client, f"/v1/review/items/{item}", reviewers[0])
    secret = tenant.api_key.split("_", 2)[2]  # the secret may itself contain "_"
    assert secret not in str(view)  # no tenant's key material
    status, _ = await post(
        client, f"/v1/uploads/{upload_id}/appeal", reviewers[0], {"statement": "x"}
    )
    assert status == 403


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"decision": "approve", "reason": "ok"}, 409, "review_lease_not_held"),
        ({"decision": "maybe", "reason": "ok"}, 400, "review_decision_invalid"),
        ({"decision": "reject", "clauses": ["9.9.9"], "reason": "x"}, 400, "clause_unknown"),
        ({"decision": "reject", "clauses": [], "reason": "x"}, 400, "review_decision_invalid"),
        ({"decision": "approve", "reason": "   "}, 400, "reason_required"),
        ({"decision": "approve", "reason": "x" * 10_000_000}, 413, "body_too_large"),
        ({"decision": "approve"}, 400, "reason_required"),
        ({"nonsense": 1}, 400, "body_invalid"),
    ],
)
async def test_bad_decisions_are_refused(
    services: Services,
    tenant: Tenant,
    client: Client,
    reviewers: list[Tenant],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    _, item = await in_review(services, tenant.tenant_id, [PORN])
    who = reviewers[0]
    if code != "review_lease_not_held":
        assert (await post(client, f"/v1/review/items/{item}/claim", who))[0] == 200
    got, answer = await post(client, f"/v1/review/items/{item}/decision", who, body)
    assert (got, answer["error"]["code"]) == (status, code)


async def test_a_decided_item_cannot_be_decided_again(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    _, item = await in_review(services, tenant.tenant_id, [PORN])
    await decide(client, item, reviewers[0], "approve")
    status, body = await post(client, f"/v1/review/items/{item}/claim", reviewers[1])
    assert (status, body["error"]["code"]) == (409, "review_item_decided")
    assert (await get(client, "/v1/review/items/999999", reviewers[0]))[0] == 404
    assert (await get(client, "/v1/review/items/abc", reviewers[0]))[0] == 404


async def test_the_lease_holder_streams_the_video_with_range_requests(
    services: Services,
    tenant: Tenant,
    client: Client,
    reviewers: list[Tenant],
    tmp_path: Path,
) -> None:
    clip = colour_clip(tmp_path / "v.mp4", 5, base=DARK)
    _, item = await in_review(services, tenant.tenant_id, [PORN], source=clip)
    holder, other, _ = reviewers
    _, claimed = await post(client, f"/v1/review/items/{item}/claim", holder)
    ranged = await client.get(claimed["video_url"], headers={"Range": "bytes=100-199"})
    assert ranged.status == 206
    assert await ranged.read() == clip.read_bytes()[100:200]
    by_key = await client.get(f"/v1/review/items/{item}/video", headers=holder.auth)
    assert by_key.status == 200
    assert (await client.get(f"/v1/review/items/{item}/video", headers=other.auth)).status == 409
    forged = await client.get(f"/v1/review/items/{item}/video?token=forged")
    assert forged.status == 401


async def test_a_media_token_that_is_not_ascii_is_a_401_not_a_500(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    """Security review (issue 20, item 9): the token is compared as bytes (compare_digest
    raises TypeError on non-ASCII text), so a live claim's video answers the usual 401."""
    _, item = await in_review(services, tenant.tenant_id, [PORN])
    assert (await post(client, f"/v1/review/items/{item}/claim", reviewers[0]))[0] == 200
    for token in ("%C3%A9" * 16, "%E2%80%8B"):
        resp = await client.get(f"/v1/review/items/{item}/video?token={token}")
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_overdue_items_are_counted_and_announced(
    services: Services,
    tenant: Tenant,
    clock: ManualClock,
    make_tenant: TenantFactory,
) -> None:
    operators = await make_tenant(role=Role.ADMIN)
    services.review.upkeep.alert_tenant_id = operators.tenant_id
    await in_review(services, tenant.tenant_id, [POLITICAL])  # SLA 60 min
    await in_review(services, tenant.tenant_id, [PORN])  # SLA 120 min
    assert await services.review.upkeep.watch_sla() == 0
    clock.advance(minutes=61)
    assert await services.review.upkeep.watch_sla() == 1
    assert await services.review.upkeep.watch_sla() == 0  # announced once
    metrics = services.metrics
    assert metrics.review_queue_depth._value.get() == 2
    assert metrics.review_overdue._value.get() == 1
    assert metrics.review_age._value.get() == pytest.approx(61 * 60, abs=5)
    events = await services.events.after(operators.tenant_id, None, 10)
    assert [e["type"] for e in events] == ["review.overdue"]
    assert events[0]["data"]["clauses"] == [POLITICAL]


async def test_the_queue_filters_by_clause_tenant_and_overdue(
    services: Services,
    client: Client,
    clock: ManualClock,
    make_tenant: TenantFactory,
    reviewers: list[Tenant],
) -> None:
    one, two = await make_tenant(), await make_tenant()
    await in_review(services, one.tenant_id, [PORN])
    await in_review(services, one.tenant_id, [POLITICAL])
    await in_review(services, two.tenant_id, [PORN])
    who = reviewers[0]

    async def listed(query: str) -> list[tuple[str, list[str]]]:
        status, body = await get(client, f"/v1/review/queue{query}", who)
        assert status == 200, body
        return [(i["tenant_id"], i["clauses"]) for i in body["items"]]

    all_items = await listed("")
    assert all_items[0][1] == [POLITICAL]  # shortest SLA: due first
    assert len(all_items) == 3
    assert sorted(await listed(f"?clause={PORN}")) == sorted(
        [(one.tenant_id, [PORN]), (two.tenant_id, [PORN])]
    )
    assert len(await listed(f"?tenant={two.tenant_id}")) == 1
    assert await listed("?overdue=true") == []
    clock.advance(minutes=61)
    assert await listed("?overdue=true") == [(one.tenant_id, [POLITICAL])]
    assert len(await listed("?limit=1")) == 1
    status, body = await get(client, "/v1/review/queue?limit=many", who)
    assert (status, body["error"]["code"]) == (400, "query_invalid")
    assert await listed("?clause=%22%3B%20DROP%20TABLE%20review_items%3B--") == []


async def test_numbers_are_ascii_digits_only(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    """`str.isdigit()` takes "²" (int() then raised: a 500) and "٣" (read as 3: another item
    than the one named). Only 0-9 are numbers in a path or a query."""
    items = [(await in_review(services, tenant.tenant_id, [PORN]))[1] for _ in range(3)]
    assert 3 in items
    who = reviewers[0]
    for path in (
        "/v1/review/items/%C2%B2",
        "/v1/review/items/%D9%A3",  # Arabic-Indic 3: not item 3
        "/v1/review/items/%EF%BC%93",  # full-width 3
    ):
        status, body = await get(client, path, who)
        assert (status, body["error"]["code"]) == (404, "review_item_not_found"), path
    status, body = await post(client, "/v1/review/items/1%C2%B2/claim", who)
    assert (status, body["error"]["code"]) == (404, "review_item_not_found")
    status, body = await get(client, "/v1/review/queue?limit=%C2%B2", who)
    assert (status, body["error"]["code"]) == (400, "query_invalid")
    status, body = await get(client, "/v1/events?after=%C2%B2", tenant)
    assert (status, body["error"]["code"]) == (400, "query_invalid")
    status, body = await get(client, "/v1/review/items/3", who)  # ASCII 3 still is item 3
    assert (status, body["item"]["id"]) == (200, 3)


async def test_a_blind_second_review_hides_the_first_decision_on_every_route(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    """The security review's reproduction: reviewer 2 saw reviewer 1's decision through the
    first item, the decision log and its CSV while the second review was open."""
    first, second, third = reviewers
    upload_id, item = await in_review(services, tenant.tenant_id, [POLITICAL])
    assert (await decide(client, item, first, "reject", [POLITICAL]))[1]["outcome"] == (
        "second_review"
    )
    _, queue = await get(client, "/v1/review/queue", second)
    (two,) = [i for i in queue["items"] if i["upload_id"] == upload_id]

    for viewer in (second, third):
        _, view = await get(client, f"/v1/review/items/{item}", viewer)
        assert view["blind"] is True
        assert not {"decided_by", "decision", "reason"} & set(view["item"])
        _, view = await get(client, f"/v1/review/items/{two['id']}", viewer)
        assert view["earlier_decisions"] == []
        _, log = await get(client, "/v1/review/log", viewer)
        assert all(row["upload_id"] != upload_id for row in log["decisions"])
        csv = await client.get("/v1/review/log?format=csv", headers=viewer.auth)
        assert upload_id not in await csv.text()
    # Its author still sees it.
    _, own = await get(client, f"/v1/review/items/{item}", first)
    assert own["item"]["decision"] == "reject"
    _, log = await get(client, "/v1/review/log", first)
    assert [row["decision"] for row in log["decisions"] if row["upload_id"] == upload_id] == [
        "reject"
    ]

    # Once the second review is decided, every reviewer sees both.
    assert (await decide(client, two["id"], second, "reject", [POLITICAL]))[1]["outcome"] == (
        "rejected"
    )
    _, log = await get(client, "/v1/review/log", third)
    assert sorted(r["decision"] for r in log["decisions"] if r["upload_id"] == upload_id) == [
        "reject",
        "reject",
    ]
    _, view = await get(client, f"/v1/review/items/{item}", third)
    assert view["item"]["decision"] == "reject"


async def test_a_percent_in_the_clause_filter_is_a_percent(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    await in_review(services, tenant.tenant_id, [PORN])
    for wildcard in ("%25", "_", "3.1.10.3%25"):  # LIKE wildcards, unescaped, matched all
        status, body = await get(client, f"/v1/review/queue?clause={wildcard}", reviewers[0])
        assert (status, body["items"]) == (200, []), wildcard


async def test_the_review_page_forbids_framing_sniffing_and_foreign_scripts(
    client: Client,
) -> None:
    for path in ("/review", "/review/static/review.js"):
        response = await client.get(path)
        assert response.status == 200
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    health = await client.get("/healthz")
    assert health.headers["Server"] == "vodgate"  # no Python or aiohttp version


async def test_an_appeal_no_reviewer_may_take_goes_to_an_admin(
    services: Services, tenant: Tenant, client: Client, make_tenant: TenantFactory
) -> None:
    """Security review, finding 9: once every reviewer had decided the upload, its appeal
    could be claimed by no one, and nobody was told."""
    only = await make_tenant(role=Role.REVIEWER)
    upload_id, item = await in_review(services, tenant.tenant_id, [PORN])
    await decide(client, item, only, "reject", [PORN])
    _, body = await post(
        client, f"/v1/uploads/{upload_id}/appeal", tenant, {"statement": "a medical film"}
    )
    appeal_item = body["appeal_item_id"]
    status, refused = await post(client, f"/v1/review/items/{appeal_item}/claim", only)
    assert (status, refused["error"]["code"]) == (403, "review_reviewer_excluded")
    admin = await make_tenant(role=Role.ADMIN)
    _, queue = await get(client, "/v1/review/queue", admin)
    (listed,) = [i for i in queue["items"] if i["id"] == appeal_item]
    assert listed["needs_admin"] is True  # said so: every reviewer has decided it
    assert (await decide(client, appeal_item, admin, "approve"))[1]["outcome"] == "approved"
    assert await state_of(services, upload_id) == UploadState.APPROVED
