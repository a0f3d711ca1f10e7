"""What services read and write in the database, as Protocols.

Reads and single-row writes go through the repositories. Writes that must commit together
(a move with its job, its decision, its review item and its events) go through one
`Transaction` from `UnitOfWork.begin()`: all of it commits, or none of it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from gateway.domain.decisions import DecisionRecord
from gateway.domain.events import OutboxEvent, PendingDelivery
from gateway.domain.jobs import Job
from gateway.domain.licences import Licence
from gateway.domain.review_rules import Choice, ItemKind, Priority, ReviewItem
from gateway.domain.standing import Account
from gateway.domain.states import UploadState
from gateway.domain.stored_copies import StoredCopy
from gateway.domain.uploads import Admission, TrailEntry, UploadRecord

# -- inside one transaction ---------------------------------------------------------------


class UploadWrites(Protocol):
    async def move(
        self,
        upload_id: str,
        from_state: UploadState,
        to_state: UploadState,
        now: dt.datetime,
        actor: str,
        code: str | None,
    ) -> str | None:
        """Conditional on `from_state`, with its trail entry; the tenant id when it moved,
        None when the upload was no longer in `from_state`. Checks nothing else: call
        `services.transitions.move`, which validates the move and writes its events."""
        ...

    async def note(self, upload_id: str, now: dt.datetime, actor: str, code: str) -> None:
        """A trail entry that is not a move (a failed attempt that will be retried)."""
        ...


class JobWrites(Protocol):
    async def enqueue(
        self, upload_id: str, stage: str, now: dt.datetime, node: str | None = None
    ) -> None: ...

    async def finish(self, job: Job, now: dt.datetime) -> None: ...

    async def fail(self, job: Job, now: dt.datetime, error: str) -> None: ...


class DecisionWrites(Protocol):
    async def save(self, upload_id: str, record: DecisionRecord, now: dt.datetime) -> None:
        """Replaces an earlier record (a job re-run after a crash)."""
        ...

    async def load(self, upload_id: str) -> DecisionRecord | None:
        """Read inside the transaction (SQLite has one connection, and the transaction holds it)."""
        ...


class StoredObjectWrites(Protocol):
    async def record(self, upload_id: str, name: str, copy: StoredCopy, now: dt.datetime) -> None:
        """What reached a store under `name` ("source", "quarantine", a rendition)."""
        ...

    async def record_receipt(
        self, upload_id: str, receipt: dict[str, Any], now: dt.datetime
    ) -> None: ...


class ReviewWrites(Protocol):
    async def get(self, item_id: int) -> ReviewItem: ...

    async def open_item(
        self,
        *,
        upload_id: str,
        tenant_id: str,
        kind: ItemKind,
        clauses: Sequence[str],
        priority: Priority,
        now: dt.datetime,
        actor: str,
        parent_id: int | None = None,
        excluded: Sequence[str] = (),
        overturns_block: bool = False,
    ) -> int: ...

    async def audit(
        self,
        item_id: int,
        upload_id: str,
        now: dt.datetime,
        actor: str,
        action: str,
        detail: dict[str, Any],
    ) -> None: ...

    async def mark_decided(
        self,
        item: ReviewItem,
        reviewer: str,
        choice: Choice,
        clauses: Sequence[str],
        reason: str,
        now: dt.datetime,
    ) -> None:
        """Only the holder of a live lease gets a row (Conflict otherwise)."""
        ...

    async def add_appeal(
        self, upload_id: str, statement: str, item_id: int, now: dt.datetime
    ) -> None:
        """Conflict `appeal_exists` when the upload was appealed before."""
        ...

    async def claim_overdue(self, now: dt.datetime, limit: int = 100) -> list[ReviewItem]:
        """Items past due not yet announced, each marked so one process announces it."""
        ...


class Outbox(Protocol):
    async def add(self, events: Iterable[OutboxEvent], now: dt.datetime) -> None: ...


class Transaction(Protocol):
    @property
    def uploads(self) -> UploadWrites: ...

    @property
    def jobs(self) -> JobWrites: ...

    @property
    def decisions(self) -> DecisionWrites: ...

    @property
    def stored(self) -> StoredObjectWrites: ...

    @property
    def review(self) -> ReviewWrites: ...

    @property
    def outbox(self) -> Outbox: ...


class UnitOfWork(Protocol):
    def begin(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        ...


# -- repositories ---------------------------------------------------------------------------


class Uploads(Protocol):
    async def create(
        self,
        *,
        upload_id: str,
        tenant_id: str,
        length: int,
        metadata: dict[str, str],
        licence_id: int | None,
        now: dt.datetime,
        expires_at: dt.datetime,
        actor: str,
        offset: int = 0,
        staged_on: str | None = None,
        staging_state: str | None = None,
        admission: Admission | None = None,
    ) -> UploadRecord:
        """A new upload (with `offset` bytes already staged: tools and tests), admitted
        against `admission` in the transaction that records it (raises its refusal:
        QuotaExceeded, TokenUsed); one whose bytes are all there is complete at once, with
        its first job and `upload.received`."""
        ...

    async def get(self, upload_id: str, tenant_id: str) -> UploadRecord | None:
        """Only when it belongs to `tenant_id` (invariant 4)."""
        ...

    async def get_internal(self, upload_id: str) -> UploadRecord | None:
        """For the pipeline: whatever its tenant."""
        ...

    async def record_offset(
        self,
        upload: UploadRecord,
        new_offset: int,
        now: dt.datetime,
        expires_at: dt.datetime,
        actor: str,
        staging_state: str | None = None,
    ) -> UploadRecord:
        """Move the offset over durable bytes (and the staging state that holds them,
        in the same transaction); at the length the upload is received (with
        its first job and `upload.received`). Conflict when another writer moved it."""
        ...

    async def trail(self, upload_id: str) -> list[TrailEntry]: ...

    async def in_state_before(
        self, state: UploadState, before: dt.datetime, limit: int = 500
    ) -> list[str]: ...

    async def was_approved(self, upload_id: str) -> bool: ...

    async def states_of_tenant(self, tenant_id: str) -> list[tuple[str, UploadState]]:
        """Every upload of the tenant and its state."""
        ...

    async def existing(self, upload_ids: Sequence[str]) -> set[str]:
        """Which of these ids have an upload row."""
        ...

    async def page_of_tenant(
        self,
        tenant_id: str,
        *,
        states: Sequence[UploadState] = (),
        verdict: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before: tuple[dt.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[tuple[UploadRecord, str | None]]:
        """The tenant's uploads newest first, each with its verdict (None: not screened)."""
        ...

    async def extend_deadlines(self, tenant_id: str, expires_at: dt.datetime) -> int:
        """A new deadline for the tenant's incomplete uploads; how many there were."""
        ...

    async def due_to_expire(
        self, now: dt.datetime, node: str | None = None, limit: int = 500
    ) -> list[str]:
        """Incomplete uploads past their deadline, staged where `node` can delete them."""
        ...


class JobQueue(Protocol):
    async def claim(
        self,
        owner: str,
        now: dt.datetime,
        lease: dt.timedelta,
        stages: Sequence[str],
        node: str | None = None,
    ) -> Job | None: ...

    async def renew(self, job: Job, owner: str, now: dt.datetime, lease: dt.timedelta) -> bool: ...

    async def hand_back(self, job: Job, owner: str, now: dt.datetime) -> bool:
        """Queue a held job again at once (a stopping worker), its attempt not counted."""
        ...

    async def queue_stats(self, now: dt.datetime) -> dict[str, tuple[int, float]]:
        """Per stage: jobs waiting or running, and the oldest due one's age in seconds."""
        ...

    async def retry_later(
        self, job: Job, now: dt.datetime, delay: dt.timedelta, error: str
    ) -> None: ...


class WorkerRegistry(Protocol):
    """Every worker process's heartbeat, on the shared database."""

    async def beat(
        self, worker_id: str, node: str, stages: list[str], now: dt.datetime
    ) -> None: ...

    async def leave(self, worker_id: str) -> None: ...

    async def alive(self, since: dt.datetime) -> dict[str, int]:
        """Per stage, the processes seen since `since`."""
        ...


class LicenceRegistry(Protocol):
    async def held_by(self, tenant_id: str) -> list[tuple[int, Licence]]: ...


class TenantThresholds(Protocol):
    async def for_tenant(self, tenant_id: str) -> dict[str, dict[str, float]]: ...


class Decisions(Protocol):
    async def load(self, upload_id: str) -> DecisionRecord | None: ...

    async def reusable(
        self, content_sha256: str, screened_with: str, upload_id: str
    ) -> tuple[str, DecisionRecord] | None:
        """An earlier decision on the same bytes under the same screening key."""
        ...


class StoredObjects(Protocol):
    async def get(self, upload_id: str, name: str) -> StoredCopy | None: ...

    async def view(self, upload_id: str) -> dict[str, Any]:
        """stored_object, renditions and release_receipt, as GET /v1/uploads/{id} shows."""
        ...


class ReviewQueue(Protocol):
    async def get(self, item_id: int) -> ReviewItem: ...

    async def for_upload(self, upload_id: str) -> list[ReviewItem]: ...

    async def queue(
        self,
        now: dt.datetime,
        *,
        clause: str | None = None,
        tenant_id: str | None = None,
        overdue: bool = False,
        limit: int = 50,
    ) -> list[ReviewItem]: ...

    async def counts(self, now: dt.datetime, cap: int | None = None) -> dict[str, Any]: ...

    async def oldest_open(self) -> dt.datetime | None: ...

    async def claim(
        self, item_id: int, reviewer: str, now: dt.datetime, lease: dt.timedelta
    ) -> ReviewItem: ...

    async def release(self, item_id: int, reviewer: str, now: dt.datetime) -> None: ...

    async def log(self, limit: int = 1000) -> list[dict[str, Any]]: ...

    async def open_kinds(self, upload_ids: Collection[str]) -> dict[str, set[ItemKind]]:
        """The kinds of the open items of each of these uploads that has any."""
        ...

    async def appeal_statement(self, upload_id: str) -> str | None: ...


class WebhookOutbox(Protocol):
    async def claim_deliveries(
        self, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[PendingDelivery]: ...

    async def delivered(self, event_id: int, now: dt.datetime) -> None: ...

    async def retry_at(self, event_id: int, at: dt.datetime, error: str) -> None: ...

    async def give_up(self, event_id: int, now: dt.datetime, error: str) -> None: ...


class Accounts(Protocol):
    """Each tenant's standing after arrears (clause 7.3.3) and its purge."""

    async def get(self, tenant_id: str) -> Account:
        """TenantNotFound when there is no such tenant."""
        ...

    async def save(self, tenant_id: str, before: Account, after: Account) -> bool:
        """Write `after` only if the stored account is still `before`."""
        ...

    async def watched(self) -> list[str]:
        """Tenants whose standing may move with time, or whose purge is unfinished."""
        ...

    async def purged(self, tenant_id: str, receipt: dict[str, Any], now: dt.datetime) -> None: ...

    async def receipt(self, tenant_id: str) -> dict[str, Any] | None: ...
