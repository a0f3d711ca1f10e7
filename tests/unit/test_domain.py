from __future__ import annotations

from collections import deque

import pytest

from gateway.domain.principals import hash_secret, issue_key, secret_matches, split_key
from gateway.domain.states import (
    ALLOWED_TRANSITIONS,
    InvalidTransition,
    UploadState,
    can_transition,
    check_transition,
)


def test_keys_round_trip_and_refuse_tampering() -> None:
    issued = issue_key()
    parts = split_key(issued.plaintext)
    assert parts is not None
    key_id, secret = parts
    assert key_id == issued.key_id
    assert secret_matches(secret, issued.secret_hash)
    assert not secret_matches(secret + "x", issued.secret_hash)
    assert issued.secret_hash == hash_secret(secret)
    assert secret not in issued.secret_hash
    for bad in ["", "vg_", "vg_short_x", "xx_0123456789abcdef_x", "vg_0123456789abcdef_"]:
        assert split_key(bad) is None


def reachable_from(start: UploadState) -> set[UploadState]:
    """Every state some sequence of allowed moves leads to from `start` (breadth first)."""
    seen = {start}
    queue = deque([start])
    while queue:
        for target in ALLOWED_TRANSITIONS[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_terminal_states_go_nowhere_and_every_state_is_reachable_from_receiving() -> None:
    for state in (UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED):
        assert ALLOWED_TRANSITIONS[state] == frozenset()
    assert reachable_from(UploadState.RECEIVING) == set(UploadState)
    # Released is where delivery ends: from there only an account purge goes on.
    assert reachable_from(UploadState.RELEASED) == {UploadState.RELEASED, UploadState.PURGED}


def test_a_rejection_never_leads_to_storage_without_review() -> None:
    assert not can_transition(UploadState.REJECTED, UploadState.APPROVED)
    assert not can_transition(UploadState.RECEIVING, UploadState.APPROVED)
    # The only way out of a rejection (but a purge) is back to review: the appeal.
    assert ALLOWED_TRANSITIONS[UploadState.REJECTED] == {UploadState.REVIEW, UploadState.PURGED}


def test_check_transition_refuses_moves_the_machine_lacks() -> None:
    check_transition(UploadState.SCREENING, UploadState.REVIEW)
    with pytest.raises(InvalidTransition, match="receiving -> approved"):
        check_transition(UploadState.RECEIVING, UploadState.APPROVED)
