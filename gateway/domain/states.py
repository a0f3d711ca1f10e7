"""Upload states and the transitions between them (DESIGN.md, "Upload states")."""

from __future__ import annotations

from enum import StrEnum


class UploadState(StrEnum):
    RECEIVING = "receiving"
    RECEIVED = "received"
    SCREENING = "screening"
    REVIEW = "review"
    APPROVED = "approved"
    REJECTED = "rejected"
    FORWARDING = "forwarding"
    STORED = "stored"
    TRANSCODING = "transcoding"
    DELIVERED = "delivered"
    RELEASED = "released"
    FAILED = "failed"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    PURGED = "purged"


_S = UploadState

ALLOWED_TRANSITIONS: dict[UploadState, frozenset[UploadState]] = {
    _S.RECEIVING: frozenset({_S.RECEIVED, _S.EXPIRED, _S.TERMINATED, _S.PURGED}),
    _S.RECEIVED: frozenset({_S.SCREENING, _S.TERMINATED, _S.FAILED, _S.PURGED}),
    _S.SCREENING: frozenset({_S.REVIEW, _S.APPROVED, _S.REJECTED, _S.FAILED, _S.PURGED}),
    _S.REVIEW: frozenset({_S.APPROVED, _S.REJECTED, _S.PURGED}),
    _S.APPROVED: frozenset({_S.FORWARDING, _S.PURGED}),
    _S.FORWARDING: frozenset({_S.STORED, _S.FAILED, _S.PURGED}),
    _S.STORED: frozenset({_S.TRANSCODING, _S.PURGED}),
    _S.TRANSCODING: frozenset({_S.DELIVERED, _S.FAILED, _S.PURGED}),
    _S.DELIVERED: frozenset({_S.RELEASED, _S.PURGED}),
    _S.RELEASED: frozenset({_S.PURGED}),
    _S.REJECTED: frozenset({_S.REVIEW, _S.PURGED}),  # review again: the tenant's one appeal
    _S.FAILED: frozenset({_S.PURGED}),
    _S.EXPIRED: frozenset(),
    _S.TERMINATED: frozenset(),
    _S.PURGED: frozenset(),
}

# States in which the client may still write bytes (tus PATCH).
WRITABLE_STATES = frozenset({_S.RECEIVING})
# States in which a tus termination (DELETE) may destroy the customer's bytes: before screening
# starts. Afterwards the bytes are evidence and only the pipeline may release them.
TERMINABLE_STATES = frozenset({_S.RECEIVING, _S.RECEIVED})


class InvalidTransition(ValueError):
    """A move the state machine does not have: a bug in the caller, never a client's error."""


def can_transition(current: UploadState, target: UploadState) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def check_transition(current: UploadState, target: UploadState) -> None:
    if not can_transition(current, target):
        raise InvalidTransition(f"no transition {current.value} -> {target.value}")
