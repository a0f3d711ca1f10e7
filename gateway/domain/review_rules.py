"""The rules of human review (pure): what a reviewer's decision leads to.

first    the item screening sent to the queue
second   二审: a second, different reviewer, who does not see the first decision until
         they have decided; needed when a fired clause says `second_review: true`, and
         for every overturn of a machine block
appeal   a tenant's one appeal against a rejection, for a reviewer who has not decided
         this upload before
escalation  two reviewers disagreed; an admin decides, and that is final
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.errors import (
    AppealStatementRequired,
    AppealStatementTooLong,
    ClauseUnknown,
    ReasonRequired,
    ReviewInputInvalid,
)
from gateway.domain.policy import Policy


class ItemKind(StrEnum):
    FIRST = "first"
    SECOND = "second"
    APPEAL = "appeal"
    ESCALATION = "escalation"


class Choice(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Outcome(StrEnum):
    APPROVED = "approved"  # the upload goes on to forwarding
    REJECTED = "rejected"
    SECOND_REVIEW = "second_review"  # another reviewer must decide too
    ESCALATED = "escalated"  # reviewers disagreed: an admin decides


MAX_REASON_CHARS = 4000
OPEN, DECIDED = "open", "decided"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    upload_id: str
    tenant_id: str
    kind: ItemKind
    state: str
    clauses: list[str]
    severity: int
    score: float
    due_at: dt.datetime
    created_at: dt.datetime
    parent_id: int | None
    excluded: list[str]
    overturns_block: bool
    claimed_by: str | None
    lease_expires_at: dt.datetime | None
    media_token: str | None
    decided_by: str | None
    decision: str | None
    decision_clauses: list[str] | None
    reason: str | None
    decided_at: dt.datetime | None

    def held_by(self, reviewer: str, now: dt.datetime) -> bool:
        """Whether `reviewer` holds a live lease on this open item."""
        return (
            self.state == OPEN
            and self.claimed_by == reviewer
            and self.lease_expires_at is not None
            and self.lease_expires_at >= now
        )


@dataclass(frozen=True, slots=True)
class Priority:
    severity: int  # the highest severity among the fired clauses
    score: float  # the highest detector score (0 when a human or an error sent it)
    sla_minutes: int  # the shortest SLA among the fired clauses
    second_review: bool  # any fired clause needs 二审


def priority_for(policy: Policy, clause_ids: Iterable[str], score: float) -> Priority:
    items = [item for item in policy.items if item.id in set(clause_ids)]
    if not items:  # e.g. a screening that failed: treated as the policy's defaults
        return Priority(policy.default_severity, score, policy.default_sla_minutes, False)
    return Priority(
        max(i.severity for i in items),
        score,
        min(i.sla_minutes for i in items),
        any(i.second_review for i in items),
    )


def check_decision(policy: Policy, choice: str, clauses: Sequence[str], reason: str) -> Choice:
    try:
        chosen = Choice(choice)
    except ValueError as exc:
        raise ReviewInputInvalid("decision must be approve or reject") from exc
    known = {item.id for item in policy.items}
    unknown = [c for c in clauses if c not in known]
    if unknown:
        raise ClauseUnknown(f"unknown clause ids {unknown}; known: {sorted(known)}")
    if chosen == Choice.REJECT and not clauses:
        raise ReviewInputInvalid("a rejection names the clause(s) it rests on")
    if not reason.strip():
        raise ReasonRequired("a reason is required")
    if len(reason) > MAX_REASON_CHARS:
        raise ReviewInputInvalid(f"the reason is longer than {MAX_REASON_CHARS} characters")
    return chosen


def check_appeal_statement(statement: str) -> None:
    """A tenant's appeal says why, within the length a reason may have."""
    if not statement.strip():
        raise AppealStatementRequired("an appeal needs a statement")
    if len(statement) > MAX_REASON_CHARS:
        raise AppealStatementTooLong(f"the statement is longer than {MAX_REASON_CHARS} characters")


def outcome_of(
    kind: ItemKind,
    choice: Choice,
    *,
    needs_second_review: bool,
    overturns_machine_block: bool,
    first_choice: Choice | None = None,
) -> Outcome:
    """What a decision on an item of `kind` leads to."""
    final = Outcome.APPROVED if choice == Choice.APPROVE else Outcome.REJECTED
    if kind == ItemKind.ESCALATION:
        return final
    if kind == ItemKind.SECOND:
        if first_choice is None:
            raise ValueError("a second review needs the first decision")
        return final if choice == first_choice else Outcome.ESCALATED
    if needs_second_review or (choice == Choice.APPROVE and overturns_machine_block):
        return Outcome.SECOND_REVIEW
    return final


# While one of these is open on an upload, its earlier decisions are hidden (blind 二审).
BLINDING_KINDS = frozenset({ItemKind.SECOND, ItemKind.ESCALATION})


def hides_decisions(kinds_open: Collection[ItemKind]) -> bool:
    """Whether an open second review or escalation keeps an upload's decisions hidden."""
    return not BLINDING_KINDS.isdisjoint(kinds_open)


def hides_deciders(kinds_open: Collection[ItemKind]) -> bool:
    """Whether who decided an upload's items is hidden: while any review of it is open (a
    second review, an escalation, an appeal), no reviewer learns who decided before them.
    Once its review is over, the log names every decider."""
    return bool(kinds_open)


@dataclass(frozen=True, slots=True)
class Sight:
    """What one reviewer may see of the decided items of one upload; their own decisions
    they always see."""

    viewer: str
    blinded: bool
    anonymous: bool

    @classmethod
    def of(cls, items: Iterable[ReviewItem], viewer: str) -> Sight:
        kinds_open = {i.kind for i in items if i.state == OPEN}
        return cls(viewer, hides_decisions(kinds_open), hides_deciders(kinds_open))

    def decision(self, item: ReviewItem) -> bool:
        return not self.blinded or item.decided_by == self.viewer

    def decider(self, item: ReviewItem) -> bool:
        return not self.anonymous or item.decided_by == self.viewer


def tenant_reviews(
    items: Sequence[ReviewItem],
) -> list[tuple[ReviewItem, ReviewItem | None]]:
    """What the tenant sees of review: each review screening or its appeal opened, with the
    decision that ended it (None while it is open). A second review or an escalation goes on
    with its parent's review, so a decision that opened one is no outcome and stays hidden
    (the tenant would learn the first decision while the blind second review is open)."""
    ids = {i.id for i in items}
    child = {i.parent_id: i for i in items if i.parent_id is not None}
    reviews: list[tuple[ReviewItem, ReviewItem | None]] = []
    for root in items:
        if root.parent_id in ids:
            continue
        last = root
        while last.id in child:
            last = child[last.id]
        reviews.append((root, last if last.state == DECIDED else None))
    return reviews
