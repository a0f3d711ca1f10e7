"""Security review, finding 12: blind 二审 leaked. The second reviewer saw who had claimed
(and so decided) the first item, and the tenant's `GET /v1/uploads/{id}` showed the first
decision while the second review was open. Reviewers never learn who decided an upload
before them while its review is open; a tenant sees a review's outcome once it is final."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.principals import Role
from gateway.runtime.wiring import Services
from tests.conftest import Tenant, TenantFactory
from tests.integration.test_review import POLITICAL, PORN, decide, get, post
from tests.pipeline_helpers import in_review

Client = TestClient[object, object]


def actor(who: Tenant) -> str:
    return f"key:{who.api_key.split('_')[1]}"


@pytest.fixture
async def reviewers(make_tenant: TenantFactory) -> list[Tenant]:
    return [await make_tenant(role=Role.REVIEWER) for _ in range(3)]


async def everything_a_reviewer_sees(client: Client, who: Tenant, items: list[int]) -> str:
    """The queue, each item's view, the log and its CSV, as one text."""
    seen = [await get(client, "/v1/review/queue", who)]
    seen += [await get(client, f"/v1/review/items/{i}", who) for i in items]
    seen.append(await get(client, "/v1/review/log", who))
    csv = await client.get("/v1/review/log?format=csv", headers=who.auth)
    return str(seen) + await csv.text()


async def reviews_of(client: Client, tenant: Tenant, upload_id: str) -> list[tuple[str, ...]]:
    status, view = await get(client, f"/v1/uploads/{upload_id}", tenant)
    assert status == 200, view
    return [(r["kind"], r["state"], r["decision"]) for r in view["review"]]


async def test_the_second_reviewer_never_learns_who_decided_first(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    first, second, third = reviewers
    upload_id, item = await in_review(services, tenant.tenant_id, [POLITICAL])
    assert item is not None
    assert (await decide(client, item, first, "reject", [POLITICAL]))[1]["outcome"] == (
        "second_review"
    )
    _, queue = await get(client, "/v1/review/queue", second)
    (two,) = [i["id"] for i in queue["items"] if i["upload_id"] == upload_id]
    for viewer in (second, third):  # before and after claiming the second item
        assert actor(first) not in await everything_a_reviewer_sees(client, viewer, [item, two])
        _, view = await get(client, f"/v1/review/items/{item}", viewer)
        assert view["item"]["claimed_by"] is None
    assert (await post(client, f"/v1/review/items/{two}/claim", second))[0] == 200
    assert actor(first) not in await everything_a_reviewer_sees(client, second, [item, two])
    _, view = await get(client, f"/v1/review/items/{two}", third)
    assert view["item"]["claimed_by"] == actor(second)  # an open item shows its holder

    assert (await decide(client, two, second, "reject", [POLITICAL]))[1]["outcome"] == ("rejected")
    # The review is over: the log names who decided, for the moderation team's record.
    _, log = await get(client, "/v1/review/log", third)
    deciders = {r["decided_by"] for r in log["decisions"] if r["upload_id"] == upload_id}
    assert deciders == {actor(first), actor(second)}


async def test_an_appeal_reviewer_sees_the_rejection_but_not_who_made_it(
    services: Services, tenant: Tenant, client: Client, reviewers: list[Tenant]
) -> None:
    first, second, _ = reviewers
    upload_id, item = await in_review(services, tenant.tenant_id, [PORN])
    assert item is not None
    await decide(client, item, first, "reject", [PORN])
    _, body = await post(
        client, f"/v1/uploads/{upload_id}/appeal", tenant, {"statement": "a medical film"}
    )
    appeal = body["appeal_item_id"]
    assert actor(first) not in await everything_a_reviewer_sees(client, second, [item, appeal])
    _, view = await get(client, f"/v1/review/items/{appeal}", second)
    (earlier,) = view["earlier_decisions"]
    assert (earlier["decision"], earlier["decided_by"]) == ("reject", None)
    _, own = await get(client, f"/v1/review/items/{item}", first)
    assert own["item"]["decided_by"] == actor(first)  # its author still sees it


async def test_the_tenant_sees_a_review_outcome_only_when_it_is_final(
    services: Services,
    tenant: Tenant,
    client: Client,
    reviewers: list[Tenant],
    make_tenant: TenantFactory,
) -> None:
    first, second, _ = reviewers
    upload_id, item = await in_review(services, tenant.tenant_id, [POLITICAL])
    assert item is not None
    assert await reviews_of(client, tenant, upload_id) == [("first", "open", None)]
    await decide(client, item, first, "approve")  # a second review opens
    assert await reviews_of(client, tenant, upload_id) == [("first", "open", None)]
    _, queue = await get(client, "/v1/review/queue", second)
    (two,) = [i["id"] for i in queue["items"] if i["upload_id"] == upload_id]
    assert (await decide(client, two, second, "reject", [POLITICAL]))[1]["outcome"] == ("escalated")
    assert await reviews_of(client, tenant, upload_id) == [("first", "open", None)]
    _, queue = await get(client, "/v1/review/queue", second)
    (escalation,) = [i["id"] for i in queue["items"] if i["upload_id"] == upload_id]
    admin = await make_tenant(role=Role.ADMIN)
    await decide(client, escalation, admin, "reject", [POLITICAL])
    _, view = await get(client, f"/v1/uploads/{upload_id}", tenant)
    (review,) = view["review"]  # the outcome, not the disagreement behind it
    assert (review["kind"], review["state"], review["decision"]) == ("first", "decided", "reject")
    assert (review["clauses"], review["reason"]) == ([POLITICAL], "reject by test")
    assert "key:" not in str(view)
