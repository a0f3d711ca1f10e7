"""Human review: claim, decide, 二审, escalation, appeals, evidence retention.

Every decision is one transaction: the item is marked decided (only by the holder of a live
lease), the audit trail records it, and its outcome happens with it: the upload moves on
(approved: a forwarding job is committed too; rejected), or a second review or an
escalation item is opened.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from gateway.domain.errors import (
    AppealNotRejected,
    NotFound,
    ReviewAdminOnly,
    ReviewItemDecided,
    ReviewUploadMoved,
)
from gateway.domain.jobs import FORWARD
from gateway.domain.policy import Policy
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import (
    Decisions,
    ReviewQueue,
    Transaction,
    UnitOfWork,
    Uploads,
)
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.principals import Principal, Role
from gateway.domain.review_rules import (
    Choice,
    ItemKind,
    Outcome,
    ReviewItem,
    check_appeal_statement,
    check_decision,
    hides_deciders,
    hides_decisions,
    outcome_of,
    priority_for,
)
from gateway.domain.states import UploadState
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics
from gateway.services.review_upkeep import ReviewUpkeep
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
_S = UploadState


def reviewer_id(principal: Principal) -> str:
    """A reviewer is a key: one person, one key (a second review needs another key)."""
    return principal.actor


class ReviewService:
    def __init__(
        self,
        *,
        reviews: ReviewQueue,
        unit_of_work: UnitOfWork,
        uploads: Uploads,
        decisions: Decisions,
        policy: Policy,
        staged: StagedCopies,
        clock: Clock,
        metrics: Metrics,
        lease: dt.timedelta,
        evidence_retention: dt.timedelta,
        alert_tenant_id: str | None,
        on_approved: Callable[[], None] | None = None,
    ) -> None:
        self.reviews = reviews
        self._uow = unit_of_work
        self._uploads = uploads
        self._decisions = decisions
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._lease = lease
        self._on_approved = on_approved
        self.upkeep = ReviewUpkeep(
            reviews=reviews, unit_of_work=unit_of_work, uploads=uploads, staged=staged,
            clock=clock, metrics=metrics, evidence_retention=evidence_retention,
            alert_tenant_id=alert_tenant_id,
        )  # fmt: skip

    async def claim(self, principal: Principal, item_id: int) -> ReviewItem:
        item = await self.reviews.get(item_id)
        if item.kind == ItemKind.ESCALATION and principal.role != Role.ADMIN:
            raise ReviewAdminOnly("an escalated item is decided by an admin")
        claimed = await self.reviews.claim(
            item_id, reviewer_id(principal), self._clock.now(), self._lease
        )
        self._metrics.review_actions.labels(action="claim").inc()
        return claimed

    async def release(self, principal: Principal, item_id: int) -> None:
        await self.reviews.release(item_id, reviewer_id(principal), self._clock.now())
        self._metrics.review_actions.labels(action="release").inc()

    async def decide(
        self, principal: Principal, item_id: int, choice: str, clauses: list[str], reason: str
    ) -> dict[str, Any]:
        policy = self._policy
        chosen = check_decision(policy, choice, clauses, reason)
        reviewer = reviewer_id(principal)
        now = self._clock.now()
        async with self._uow.begin() as tx:
            item = await tx.review.get(item_id)
            if item.state != "open":
                raise ReviewItemDecided("this item has been decided")
            first_choice = None
            if item.kind == ItemKind.SECOND and item.parent_id is not None:
                parent = await tx.review.get(item.parent_id)
                first_choice = Choice(parent.decision or "")
            await tx.review.mark_decided(item, reviewer, chosen, clauses, reason, now)
            fired = [*item.clauses, *clauses]
            outcome = outcome_of(
                item.kind,
                chosen,
                needs_second_review=priority_for(policy, fired, 0).second_review,
                overturns_machine_block=item.overturns_block,
                first_choice=first_choice,
            )
            detail = {"decision": chosen.value, "clauses": clauses, "outcome": outcome.value}
            await tx.review.audit(item.id, item.upload_id, now, reviewer, "decide", detail)
            failpoint("review.mid_decision")  # inside the transaction: nothing commits
            if outcome in (Outcome.APPROVED, Outcome.REJECTED):
                await self._finish_upload(tx, item, outcome, reviewer, now)
            else:
                kind = ItemKind.SECOND if outcome == Outcome.SECOND_REVIEW else ItemKind.ESCALATION
                excluded = [*item.excluded, reviewer]
                if kind == ItemKind.ESCALATION and item.parent_id is not None:
                    parent = await tx.review.get(item.parent_id)
                    excluded.append(parent.decided_by or "")
                priority = priority_for(policy, fired, item.score)
                await tx.review.open_item(
                    upload_id=item.upload_id,
                    tenant_id=item.tenant_id,
                    kind=kind,
                    clauses=fired,
                    priority=priority,
                    now=now,
                    actor=reviewer,
                    parent_id=item.id,
                    excluded=excluded,
                    overturns_block=item.overturns_block,
                )
        failpoint("review.decided_not_answered")
        self._metrics.review_actions.labels(action=f"decide_{outcome.value}").inc()
        if outcome == Outcome.APPROVED and self._on_approved is not None:
            self._on_approved()
        logger.info(
            "review.decided",
            extra={"item_id": item_id, "upload_id": item.upload_id, "outcome": outcome.value},
        )
        return {"item_id": item_id, "decision": chosen.value, "outcome": outcome.value}

    async def _finish_upload(
        self,
        tx: Transaction,
        item: ReviewItem,
        outcome: Outcome,
        reviewer: str,
        now: dt.datetime,
    ) -> None:
        """The upload moves on; the decision event cites the screening's clauses."""
        to = _S.APPROVED if outcome == Outcome.APPROVED else _S.REJECTED
        code = None if to == _S.APPROVED else "review_rejected"
        screening = await tx.decisions.load(item.upload_id)
        moved = await move(
            tx, item.upload_id, _S.REVIEW, to, now, reviewer, code, decision=screening
        )
        if not moved:
            raise ReviewUploadMoved("the upload is no longer in review")
        if to == _S.APPROVED:
            await tx.jobs.enqueue(item.upload_id, FORWARD, now)

    async def decision_log(self, principal: Principal) -> list[dict[str, Any]]:
        """Who decided what, newest first, without the decisions a blind second review or an
        escalation keeps from this viewer, nor who decided while the upload is still in
        review (their own are always shown)."""
        viewer = reviewer_id(principal)
        rows = await self.reviews.log()
        still_open = await self.reviews.open_kinds({row["upload_id"] for row in rows})
        shown = []
        for row in rows:
            kinds = still_open.get(row["upload_id"], set())
            if row["decided_by"] == viewer or not hides_deciders(kinds):
                shown.append(row)
            elif not hides_decisions(kinds):
                shown.append({**row, "decided_by": None})
        return shown

    async def appeal(self, principal: Principal, upload_id: str, statement: str) -> int:
        """The tenant's one appeal against a rejection, for a reviewer new to the upload."""
        check_appeal_statement(statement)
        upload = await self._uploads.get(upload_id, principal.tenant_id)
        if upload is None:
            raise NotFound("no such upload")
        if upload.state != _S.REJECTED:
            raise AppealNotRejected(
                f"only a rejected upload can be appealed; this one is {upload.state.value}"
            )
        decision = await self._decisions.load(upload_id)
        earlier = await self.reviews.for_upload(upload_id)
        deciders = sorted({i.decided_by for i in earlier if i.decided_by})
        last_reject = [i for i in earlier if i.decision == Choice.REJECT]
        clauses = list(last_reject[-1].decision_clauses or []) if last_reject else []
        clauses = clauses or ([] if decision is None else list(decision.clauses))
        machine_block = not last_reject and decision is not None and decision.verdict == "block"
        now = self._clock.now()
        policy = self._policy
        async with self._uow.begin() as tx:
            moved = await move(
                tx, upload_id, _S.REJECTED, _S.REVIEW, now, principal.actor, "appealed"
            )
            if not moved:
                raise AppealNotRejected("the upload changed meanwhile")
            item_id = await tx.review.open_item(
                upload_id=upload_id,
                tenant_id=upload.tenant_id,
                kind=ItemKind.APPEAL,
                clauses=clauses,
                priority=priority_for(policy, clauses, 0.0),
                now=now,
                actor=principal.actor,
                excluded=deciders,
                overturns_block=machine_block,
            )
            await tx.review.add_appeal(upload_id, statement, item_id, now)
            await tx.review.audit(item_id, upload_id, now, principal.actor, "appeal", {})
        self._metrics.review_actions.labels(action="appeal").inc()
        return item_id
