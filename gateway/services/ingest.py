"""The ingest service: tus semantics over the upload repository and the staging store.

The HTTP layer parses headers and hands over a stream of body chunks; this module owns the
rules: licence pre-flight before any byte is stored, one writer per upload, an offset moved
only after its bytes are durable, and bytes that arrived before a disconnect kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from gateway.domain.errors import (
    Conflict,
    GatewayError,
    Gone,
    LicenceRejected,
    OffsetMismatch,
    PatchTooSmall,
    QuotaExceeded,
    UploadComplete,
    UploadNotFound,
    UploadNotTerminable,
    UploadOnOtherInstance,
)
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.locking import Locker
from gateway.domain.ports.persistence import LicenceRegistry, UnitOfWork, Uploads
from gateway.domain.ports.storage import StagingStore
from gateway.domain.principals import Principal
from gateway.domain.states import TERMINABLE_STATES, UploadState
from gateway.domain.uploads import Admission, UploadRecord
from gateway.services.body_receiver import Body, BodyReceiver, check_room
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics
from gateway.services.quotas import QuotaService
from gateway.services.transitions import move

logger = logging.getLogger(__name__)

_GONE_STATES = frozenset({UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED})


class IngestService:
    def __init__(
        self,
        *,
        uploads: Uploads,
        licences: LicenceRegistry,
        staging: StagingStore,
        locker: Locker,
        unit_of_work: UnitOfWork,
        rules: LicenceRules,
        clock: Clock,
        metrics: Metrics,
        max_size: int,
        expiry: dt.timedelta,
        write_batch_bytes: int,
        checkpoint_bytes: int = 0,
        checkpoint_s: float = 0.0,
        node: str | None = None,
        quotas: QuotaService | None = None,
        min_patch_bytes: int = 0,
    ) -> None:
        self._uploads = uploads
        self._licences = licences
        self._staging = staging
        self._rules = rules
        self._clock = clock
        self._metrics = metrics
        self.max_size = max_size
        self._expiry = expiry
        self._receiver = BodyReceiver(
            staging, metrics, write_batch_bytes, checkpoint_bytes, checkpoint_s
        )
        self._locker = locker
        self._uow = unit_of_work
        # Local staging: this node's name, recorded on each upload it stages (None: the
        # staging store is reachable from every node).
        self._node = node
        self._quotas = quotas  # fair use (clause 3.1.3.6); None: unlimited (tools, tests)
        self.min_patch_bytes = min_patch_bytes
        # Called when an upload's last byte is recorded (wakes in-process screening workers).
        self.on_received: Callable[[], None] = lambda: None

    async def create(
        self,
        principal: Principal,
        length: int,
        metadata: dict[str, str],
        body: Body | None,
        token_id: str | None = None,
    ) -> UploadRecord:
        """Check the licence before any byte is stored, record the upload counted in against
        the tenant's limits (and spending its token) in one transaction, then take the
        creation-with-upload body as a PATCH at offset 0 is taken."""
        now = self._clock.now()
        licence_id = await self._check_licence(principal, metadata, now)
        limits = None if self._quotas is None else await self._quotas.limits(principal.tenant_id)
        upload_id = uuid.uuid4().hex
        state = await self._staging.create(upload_id)
        failpoint("ingest.staging_created")  # no row yet: an orphan nobody acknowledged
        try:
            upload = await asyncio.shield(
                self._uploads.create(
                    upload_id=upload_id,
                    tenant_id=principal.tenant_id,
                    length=length,
                    metadata=metadata,
                    licence_id=licence_id,
                    now=now,
                    expires_at=now + self._expiry,
                    actor=principal.actor,
                    staged_on=self._node,
                    staging_state=state,
                    admission=Admission(limits, token_id),
                )
            )
        except Exception as exc:
            # Never acknowledged: its staged bytes would be an orphan nothing sweeps.
            await self._staging.delete(upload_id)
            if isinstance(exc, QuotaExceeded) and self._quotas is not None:
                self._quotas.note_refusal(exc)
            raise
        failpoint("ingest.created_not_answered")
        self._metrics.uploads_created.inc()
        logger.info("upload.created", extra={"upload_id": upload_id, "length": length})
        if upload.state == UploadState.RECEIVED:
            await self._count_received(upload, 0)
        if body is None:
            return upload
        try:
            return await self._append(principal, upload, 0, body)
        except QuotaExceeded:
            # Created, its body refused or ended at a limit: 201 with the offset kept, and
            # the client's next PATCH hears the 429 and its Retry-After (an error here would
            # make a tus client create the upload again, leaving this one open).
            return await self.get(principal, upload_id)
        except GatewayError as exc:
            exc.headers["Location"] = f"/files/{upload_id}"  # created; the body stopped short
            raise

    async def _check_licence(
        self, principal: Principal, metadata: dict[str, str], now: dt.datetime
    ) -> int:
        held = await self._licences.held_by(principal.tenant_id)
        try:
            accepted = check_upload_licence(
                self._rules, metadata, [lic for _, lic in held], now.date()
            )
        except LicenceRejected as exc:
            self._metrics.licence_rejections.labels(code=exc.code).inc()
            raise
        return next(i for i, lic in held if lic is accepted)

    async def get_any_state(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload in whatever state; 404 for unknown and other tenants' ids alike.

        An incomplete upload found past its deadline is expired here, before the sweeper.
        """
        upload = await self._uploads.get(upload_id, principal.tenant_id)
        if upload is None:
            raise UploadNotFound("no such upload")
        if upload.state == UploadState.RECEIVING and self._is_past_deadline(upload):
            await self._expire(upload.id, "expiry-check")
            return await self.get_any_state(principal, upload_id)
        return upload

    async def get(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload as tus sees it: 410 once expired, terminated or purged."""
        upload = await self.get_any_state(principal, upload_id)
        if upload.state in _GONE_STATES:
            raise Gone(f"the upload is {upload.state.value}", code=f"upload_{upload.state.value}")
        return upload

    async def write(
        self, principal: Principal, upload_id: str, offset: int, body: Body
    ) -> UploadRecord:
        """Append one PATCH body at `offset`; returns the upload with its new offset."""
        async with self._locker.hold(principal.tenant_id, upload_id):
            upload = await self.get(principal, upload_id)
            if upload.state != UploadState.RECEIVING:
                raise UploadComplete("the upload is already complete")
            self._check_staged_here(upload)
            if offset != upload.offset:
                raise OffsetMismatch(
                    f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            return await self._append(principal, upload, offset, body)

    async def _append(
        self, principal: Principal, upload: UploadRecord, offset: int, body: Body
    ) -> UploadRecord:
        """One body at `offset`, in a fair-use slot (counted, metered) when quotas apply."""
        check_room(offset, upload.length, body)
        self._check_patch_size(upload, offset, body)
        if self._quotas is None:
            return await self._receive(principal, upload, offset, body)
        async with self._quotas.patch_slot(upload.tenant_id, upload.id, body) as metered:
            return await self._receive(principal, upload, offset, metered)

    def _check_patch_size(self, upload: UploadRecord, offset: int, body: Body) -> None:
        """Tiny appends that do not end the upload are refused before a byte is read: each
        costs a writer round trip (one tenant's 1-byte PATCHes would slow every other)."""
        declared = body.content_length
        if declared is None or declared >= self.min_patch_bytes:
            return
        if offset + declared < upload.length:
            raise PatchTooSmall(
                f"a PATCH that does not end the upload must bring at least "
                f"{self.min_patch_bytes} bytes (this one declares {declared})"
            )

    async def _receive(
        self, principal: Principal, upload: UploadRecord, offset: int, body: Body
    ) -> UploadRecord:
        """Stream the body in, recording the offset at checkpoints and at the end."""
        recorded = upload

        async def record(written: int, state: str | None) -> None:
            """Record `offset + written` (durable already) with the staging state that
            holds it; checkpoints and the end."""
            nonlocal recorded
            before = recorded.offset
            now = self._clock.now()
            recorded = await self._uploads.record_offset(
                recorded, offset + written, now, now + self._expiry, principal.actor, state
            )
            await self._count_received(recorded, recorded.offset - before)

        received = await self._receiver.receive(
            upload.id, offset, upload.length, body, record, upload.staging_state
        )
        if offset + received.written > recorded.offset:
            # Shielded: a cancelled handler (shutdown) still records what reached disk.
            await asyncio.shield(record(received.written, received.state))
            failpoint("ingest.recorded_not_answered")
        upload = recorded
        if received.error is not None:
            raise received.error
        return upload

    def _check_staged_here(self, upload: UploadRecord) -> None:
        """Local staging: refuse, before a byte is read, an upload whose bytes another
        instance's disk holds; this one could never join new bytes to them."""
        if upload.staged_on is not None and upload.staged_on != self._node:
            self._metrics.misdirected_writes.inc()
            raise UploadOnOtherInstance(
                "this upload's earlier bytes are staged on another gateway instance: resume "
                "it there (a deployment with VODGATE_STAGING=s3 takes any instance)"
            )

    async def _count_received(self, upload: UploadRecord, written: int) -> None:
        self._metrics.received_bytes.inc(written)
        if self._quotas is not None:
            await self._quotas.received(upload.tenant_id, written)
        if upload.state == UploadState.RECEIVED:
            self._metrics.uploads_completed.inc()
            logger.info("upload.received", extra={"upload_id": upload.id})
            self.on_received()

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        async with self._locker.hold(principal.tenant_id, upload_id):
            upload = await self.get(principal, upload_id)
            if upload.state == UploadState.RECEIVING:
                self._check_staged_here(upload)  # its staged bytes are deleted here
            if upload.state not in TERMINABLE_STATES:
                raise UploadNotTerminable(
                    f"the upload is {upload.state.value}; only the pipeline may release it now"
                )
            async with self._uow.begin() as tx:
                moved = await move(
                    tx,
                    upload_id,
                    upload.state,
                    UploadState.TERMINATED,
                    self._clock.now(),
                    principal.actor,
                    "terminated_by_client",
                )
            if not moved:
                raise Conflict("the upload changed while this request ran")
            await self._staging.delete(upload_id)
            self._metrics.uploads_terminated.inc()

    async def sweep_orphans(self, min_age: dt.timedelta) -> int:
        """Staged bytes no upload row names (a crash between making room for a new upload
        and recording it: never acknowledged), older than `min_age`, are destroyed."""
        now = self._clock.now()
        staged = [
            upload_id for upload_id, at in await self._staging.staged() if at <= now - min_age
        ]
        known = await self._uploads.existing(staged)
        orphans = [upload_id for upload_id in staged if upload_id not in known]
        for upload_id in orphans:
            await self._staging.delete(upload_id)
            logger.info("staging.orphan_deleted", extra={"upload_id": upload_id})
        return len(orphans)

    async def sweep_expired(self) -> int:
        """Expire incomplete uploads past their deadline and destroy their staged bytes."""
        expired = 0
        for upload_id in await self._uploads.due_to_expire(self._clock.now(), self._node):
            if await self._expire(upload_id, "expiry-sweeper"):
                expired += 1
        return expired

    def _is_past_deadline(self, upload: UploadRecord) -> bool:
        return upload.expires_at is not None and upload.expires_at <= self._clock.now()

    async def _expire(self, upload_id: str, actor: str) -> bool:
        """Expire an incomplete upload past its deadline and destroy its staged bytes."""
        async with self._uow.begin() as tx:
            moved = await move(
                tx,
                upload_id,
                UploadState.RECEIVING,
                UploadState.EXPIRED,
                self._clock.now(),
                actor,
                "upload_expired",
            )
        if moved:
            await self._staging.delete(upload_id)
            self._metrics.uploads_expired.inc()
            logger.info("upload.expired", extra={"upload_id": upload_id})
        return moved
