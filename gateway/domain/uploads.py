"""An upload as the services see it, and one entry of its audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.domain.quotas import Limits
from gateway.domain.states import UploadState


@dataclass(frozen=True, slots=True)
class Admission:
    """What a new upload is counted against in the very transaction that records it, so
    that racing creations cannot all slip past a limit or spend one token twice."""

    limits: Limits | None = None  # fair use (clause 3.1.3.6); None: unlimited (tools)
    token_id: str | None = None  # the direct-upload token it spends, once


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    tenant_id: str
    state: UploadState
    length: int
    offset: int
    metadata: dict[str, str]
    licence_id: int | None
    error_code: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    completed_at: dt.datetime | None
    # Local staging: the node whose disk holds the bytes (None: any node reaches them).
    staged_on: str | None = None
    # S3 staging: the staging store's own record of where the bytes are (opaque here).
    staging_state: str | None = None


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One row of an upload's audit trail: a move between states, or a note (from == to)."""

    at: dt.datetime
    from_state: str | None
    to_state: str
    code: str | None
    actor: str
