"""The one way an upload changes state: validated by the domain, written with its trail entry
and the events the domain names for it, in the caller's transaction."""

from __future__ import annotations

import datetime as dt

from gateway.domain.decisions import DecisionRecord
from gateway.domain.events import transition_event
from gateway.domain.ports.persistence import Transaction
from gateway.domain.states import UploadState, check_transition


async def move(
    tx: Transaction,
    upload_id: str,
    from_state: UploadState,
    to_state: UploadState,
    now: dt.datetime,
    actor: str,
    code: str | None = None,
    *,
    decision: DecisionRecord | None = None,
) -> bool:
    """Move the upload if it is still in `from_state`; False when it no longer was.

    `decision` is the screening's record, which a decision event cites (its verdict and
    clauses). Raises InvalidTransition for a move the state machine does not have."""
    check_transition(from_state, to_state)
    tenant_id = await tx.uploads.move(upload_id, from_state, to_state, now, actor, code)
    if tenant_id is None:
        return False
    event = transition_event(tenant_id, upload_id, from_state, to_state, code, decision)
    if event is not None:
        await tx.outbox.add([event], now)
    return True
