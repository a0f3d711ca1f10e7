"""The ingest service: tus semantics over the upload repository and the staging store.

The HTTP layer parses headers and hands over a stream of body chunks; this module owns the
rules: licence pre-flight before any byte is stored, one writer per upload, an offset moved
only after its bytes are durable, and bytes that arrived before a disconnect kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from gateway.domain.errors import (
    Conflict,
    GatewayError,
    Gone,
    LicenceRejected,
    OffsetMismatch,
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
from gateway.domain.uploads import UploadRecord
from gateway.services.body_receiver import Body, BodyReceiver, Received, check_room
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
        # Called when an upload's last byte is recorded (wakes in-process screening workers).
        self.on_received: Callable[[], None] = lambda: None

    async def create(
        self, principal: Principal, length: int, metadata: dict[str, str], body: Body | None
    ) -> UploadRecord:
        """Check the licence before any byte is stored, take the creation-with-upload body if
        there is one, and record the upload with its offset in one transaction."""
        now = self._clock.now()
        licence_id = await self._check_licence(principal, metadata, now)
        if self._quotas is not None:
            await self._quotas.admit_creation(principal.tenant_id, length)
        upload_id = uuid.uuid4().hex
        state = await self._staging.create(upload_id)
        failpoint("ingest.staging_created")  # no row yet: an orphan nobody acknowledged
        received = Received(0, None, state)
        if body is not None:
            check_room(0, length, body)
            received = await self._receiver.receive(upload_id, 0, length, body, state=state)
        try:
            upload = await asyncio.shield(
                self._uploads.create(
                    upload_id=upload_id,
                    tenant_id=principal.tenant_id,
                    length=length,
                    offset=received.written,
                    metadata=metadata,
                    licence_id=licence_id,
                    now=now,
                    expires_at=now + self._expiry,
                    actor=principal.actor,
                    staged_on=self._node,
                    staging_state=received.state,
                )
            )
        except Exception:
            # Never acknowledged: its staged bytes would be an orphan nothing sweeps.
            await self._staging.delete(upload_id)
            raise
        self._metrics.uploads_created.inc()
        await self._count_received(upload, received.written)
        logger.info("upload.created", extra={"upload_id": upload_id, "length": length})
        if received.error is not None:
            if isinstance(received.error, GatewayError):
                received.error.headers["Location"] = f"/files/{upload_id}"
            raise received.error
        return upload

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
            check_room(offset, upload.length, body)
            async with self._patch_slot(upload, body):
                return await self._receive(principal, upload, offset, body)

    def _patch_slot(self, upload: UploadRecord, body: Body) -> AbstractAsyncContextManager[None]:
        if self._quotas is None:
            return contextlib.nullcontext()
        return self._quotas.patch_slot(upload.tenant_id, upload.id, body.content_length)

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
