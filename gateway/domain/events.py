"""Events: which transition announces what (webhooks and the pull API read the outbox).

The rule lives here; services write what it returns through the outbox port, in the
transaction of the state change, so no event announces a change that did not happen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.decisions import DecisionRecord
from gateway.domain.states import UploadState

_S = UploadState
EVENT_BY_STATE = {
    _S.RECEIVED: "upload.received",
    _S.APPROVED: "upload.decided",
    _S.REVIEW: "upload.decided",
    _S.REJECTED: "upload.decided",
    _S.STORED: "upload.stored",
    _S.DELIVERED: "transcode.delivered",
    _S.RELEASED: "transcode.released",
    _S.FAILED: "upload.failed",
}
REVIEW_OVERDUE = "review.overdue"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    tenant_id: str
    upload_id: str | None
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """An event due at a tenant's webhook, leased to one dispatcher."""

    id: int
    tenant_id: str
    type: str
    body: dict[str, Any]
    created_at: dt.datetime
    attempts: int
    url: str
    secret: str


def transition_event(
    tenant_id: str,
    upload_id: str,
    from_state: UploadState | None,
    to_state: UploadState,
    code: str | None,
    decision: DecisionRecord | None = None,
) -> OutboxEvent | None:
    """The event a move announces, if any. A decision says who decided: screening (its
    verdict), or a reviewer (pass or block); `decision` is the screening's record."""
    # A rejection reopened for review is the tenant's appeal, not a decision.
    appealed = from_state == _S.REJECTED and to_state == _S.REVIEW
    event_type = "upload.appealed" if appealed else EVENT_BY_STATE.get(to_state)
    if event_type is None:
        return None
    data: dict[str, Any] = {
        "upload_id": upload_id,
        "state": to_state.value,
        "from": None if from_state is None else from_state.value,
    }
    if code:
        data["code"] = code
    if event_type == "upload.decided":
        human = from_state == _S.REVIEW
        data["decided_by"] = "reviewer" if human else "screening"
        if human:
            data["verdict"] = "pass" if to_state == _S.APPROVED else "block"
        else:
            data["verdict"] = None if decision is None else decision.verdict
        data["clauses"] = [] if decision is None else list(decision.clauses)
    return OutboxEvent(tenant_id, upload_id, event_type, data)


def event_json(
    event_id: int, event_type: str, body: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    """An event as webhooks and the pull API show it."""
    return {"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": body}
