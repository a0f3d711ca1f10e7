"""The pure rules of human review: what a decision leads to, and which decisions are valid."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.errors import ClientError
from gateway.domain.policy import Policy
from gateway.domain.review_rules import (
    MAX_REASON_CHARS,
    Choice,
    ItemKind,
    Outcome,
    ReviewItem,
    Sight,
    check_decision,
    outcome_of,
    priority_for,
    tenant_reviews,
)

POLICY = Policy.model_validate(
    {
        "id": "p",
        "version": 1,
        "review_threshold": 0.4,
        "default_severity": 2,
        "default_sla_minutes": 240,
        "items": [
            {
                "id": "A",
                "clause": "3.1.10.3",
                "text_zh": "甲",
                "gloss_en": "a",
                "coverage": "reviewers",
                "severity": 5,
                "sla_minutes": 30,
                "second_review": True,
            },
            {
                "id": "B",
                "clause": "3.1.10.3",
                "text_zh": "乙",
                "gloss_en": "b",
                "coverage": "reviewers",
                "severity": 2,
                "sla_minutes": 120,
            },
        ],
    }
)
A, R = Choice.APPROVE, Choice.REJECT


@pytest.mark.parametrize(
    ("kind", "choice", "second", "overturns", "first", "expected"),
    [
        # A first decision is final unless a clause or an overturned block needs 二审.
        (ItemKind.FIRST, A, False, False, None, Outcome.APPROVED),
        (ItemKind.FIRST, R, False, False, None, Outcome.REJECTED),
        (ItemKind.FIRST, R, True, False, None, Outcome.SECOND_REVIEW),
        (ItemKind.FIRST, A, False, True, None, Outcome.SECOND_REVIEW),
        (ItemKind.FIRST, R, False, True, None, Outcome.REJECTED),  # upholding a block
        (ItemKind.APPEAL, A, False, True, None, Outcome.SECOND_REVIEW),
        (ItemKind.APPEAL, R, False, False, None, Outcome.REJECTED),
        # A second review that agrees is final; one that disagrees goes to an admin.
        (ItemKind.SECOND, A, True, False, A, Outcome.APPROVED),
        (ItemKind.SECOND, R, True, False, R, Outcome.REJECTED),
        (ItemKind.SECOND, A, True, False, R, Outcome.ESCALATED),
        (ItemKind.SECOND, R, False, True, A, Outcome.ESCALATED),
        # The admin's word is final, whatever the clauses say.
        (ItemKind.ESCALATION, A, True, True, None, Outcome.APPROVED),
        (ItemKind.ESCALATION, R, True, True, None, Outcome.REJECTED),
    ],
)
def test_outcome_of(
    kind: ItemKind,
    choice: Choice,
    second: bool,
    overturns: bool,
    first: Choice | None,
    expected: Outcome,
) -> None:
    got = outcome_of(
        kind,
        choice,
        needs_second_review=second,
        overturns_machine_block=overturns,
        first_choice=first,
    )
    assert got == expected


def test_a_second_review_without_the_first_decision_is_a_bug() -> None:
    with pytest.raises(ValueError, match="first decision"):
        outcome_of(ItemKind.SECOND, A, needs_second_review=True, overturns_machine_block=False)


def test_check_decision_accepts_a_reasoned_choice() -> None:
    assert check_decision(POLICY, "approve", [], "looks fine") == Choice.APPROVE
    assert check_decision(POLICY, "reject", ["A"], "flag at 0:37") == Choice.REJECT


@pytest.mark.parametrize(
    ("choice", "clauses", "reason", "code"),
    [
        ("maybe", [], "r", "review_decision_invalid"),
        ("reject", ["Z"], "r", "clause_unknown"),
        ("reject", [], "r", "review_decision_invalid"),  # a rejection names its clause
        ("approve", [], "   ", "reason_required"),
        ("approve", [], "x" * (MAX_REASON_CHARS + 1), "review_decision_invalid"),
    ],
)
def test_check_decision_refuses(choice: str, clauses: list[str], reason: str, code: str) -> None:
    with pytest.raises(ClientError) as info:
        check_decision(POLICY, choice, clauses, reason)
    assert (info.value.status, info.value.code) == (400, code)


def test_priority_takes_the_strictest_fired_clause() -> None:
    both = priority_for(POLICY, ["A", "B"], 0.8)
    assert (both.severity, both.sla_minutes, both.second_review) == (5, 30, True)
    only_b = priority_for(POLICY, ["B"], 0.1)
    assert (only_b.severity, only_b.sla_minutes, only_b.second_review) == (2, 120, False)
    none = priority_for(POLICY, [], 0.0)  # a failed screening: the policy's defaults
    assert (none.severity, none.sla_minutes, none.second_review) == (2, 240, False)


def item(item_id: int, kind: ItemKind, by: str | None, parent: int | None = None) -> ReviewItem:
    """An item of one upload; `by` None: still open."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return ReviewItem(
        id=item_id, upload_id="u", tenant_id="t", kind=kind,
        state="open" if by is None else "decided", clauses=["A"], severity=5, score=0.5,
        due_at=now, created_at=now, parent_id=parent, excluded=[], overturns_block=False,
        claimed_by=by, lease_expires_at=None, media_token=None, decided_by=by,
        decision=None if by is None else "reject", decision_clauses=None, reason=None,
        decided_at=None if by is None else now,
    )  # fmt: skip


def test_a_tenant_sees_each_review_with_its_final_decision_only() -> None:
    first = item(1, ItemKind.FIRST, "r1")
    second = item(2, ItemKind.SECOND, None, parent=1)
    assert tenant_reviews([first, second]) == [(first, None)]  # 二审 open: no outcome yet
    second = item(2, ItemKind.SECOND, "r2", parent=1)
    escalation = item(3, ItemKind.ESCALATION, "admin", parent=2)
    appeal = item(4, ItemKind.APPEAL, None)
    assert tenant_reviews([first, second, escalation, appeal]) == [
        (first, escalation),
        (appeal, None),
    ]


def test_while_any_review_is_open_reviewers_see_no_decider_but_themselves() -> None:
    first = item(1, ItemKind.FIRST, "r1")
    blind = Sight.of([first, item(2, ItemKind.SECOND, None, parent=1)], "r2")
    assert (blind.decision(first), blind.decider(first)) == (False, False)
    assert Sight.of([first, item(2, ItemKind.SECOND, None, parent=1)], "r1").decider(first)
    appeal = Sight.of([first, item(2, ItemKind.APPEAL, None)], "r3")
    assert (appeal.decision(first), appeal.decider(first)) == (True, False)
    over = Sight.of([first], "r3")
    assert (over.decision(first), over.decider(first)) == (True, True)
