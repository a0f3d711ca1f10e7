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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from gateway.domain.errors import (
    BodyInterrupted,
    ChecksumMismatch,
    Conflict,
    GatewayError,
    Gone,
    LicenceRejected,
    OffsetMismatch,
    PayloadTooLarge,
    UploadComplete,
    UploadLengthExceeded,
    UploadNotFound,
    UploadNotTerminable,
)
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.locking import Locker
from gateway.domain.ports.persistence import LicenceRegistry, UnitOfWork, Uploads
from gateway.domain.ports.storage import StagedWriter, StagingStore
from gateway.domain.principals import Principal
from gateway.domain.states import TERMINABLE_STATES, UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.metrics import Metrics
from gateway.services.transitions import move

logger = logging.getLogger(__name__)

_GONE_STATES = frozenset({UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED})


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class Body:
    """A request body on its way in: its chunks, declared length and checksum."""

    chunks: AsyncIterator[bytes]
    content_length: int | None
    checksum: Checksum | None


@dataclass(frozen=True, slots=True)
class Received:
    """What one body left behind: bytes made durable, and why it stopped short (if it did)."""

    written: int
    error: BaseException | None


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
    ) -> None:
        self._uploads = uploads
        self._licences = licences
        self._staging = staging
        self._rules = rules
        self._clock = clock
        self._metrics = metrics
        self.max_size = max_size
        self._expiry = expiry
        self._batch = write_batch_bytes
        self._locker = locker
        self._uow = unit_of_work
        # Called when an upload's last byte is recorded (wakes in-process screening workers).
        self.on_received: Callable[[], None] = lambda: None

    async def create(
        self, principal: Principal, length: int, metadata: dict[str, str], body: Body | None
    ) -> UploadRecord:
        """Check the licence before any byte is stored, take the creation-with-upload body if
        there is one, and record the upload with its offset in one transaction."""
        now = self._clock.now()
        licence_id = await self._check_licence(principal, metadata, now)
        upload_id = uuid.uuid4().hex
        received = Received(0, None)
        if body is not None:
            self._check_room(0, length, body)
            received = await self._receive(upload_id, 0, length, body)
        else:
            await self._staging.create(upload_id)
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
                )
            )
        except Exception:
            # Never acknowledged: its staged bytes would be an orphan nothing sweeps.
            await self._staging.delete(upload_id)
            raise
        self._metrics.uploads_created.inc()
        self._count_received(upload, received.written)
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
            if offset != upload.offset:
                raise OffsetMismatch(
                    f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            self._check_room(offset, upload.length, body)
            received = await self._receive(upload.id, offset, upload.length, body)
            if received.written:
                # Shielded: a cancelled handler (shutdown) still records what reached disk.
                now = self._clock.now()
                upload = await asyncio.shield(
                    self._uploads.record_offset(
                        upload,
                        offset + received.written,
                        now,
                        now + self._expiry,
                        principal.actor,
                    )
                )
                self._count_received(upload, received.written)
            if received.error is not None:
                raise received.error
            return upload

    @staticmethod
    def _check_room(offset: int, length: int, body: Body) -> None:
        if body.content_length is not None and offset + body.content_length > length:
            raise UploadLengthExceeded(
                f"the body would end at {offset + body.content_length}, past Upload-Length {length}"
            )

    async def _receive(self, upload_id: str, offset: int, length: int, body: Body) -> Received:
        """Stream the body to staging and make it durable. Never raises for the body itself:
        a partial, oversized or mismatching body comes back as `Received.error`."""
        checksum = body.checksum
        writer = await self._staging.open_writer(
            upload_id, offset, None if checksum is None else checksum.algorithm
        )
        self._metrics.active_writes.inc()
        try:
            stopped, tail = await self._stream(writer, body.chunks, length - offset)
            if isinstance(stopped, PayloadTooLarge) or (
                stopped is not None and checksum is not None
            ):
                # Too long, or partial and so unverifiable against its checksum: keep none.
                await writer.rollback()
                return Received(0, stopped)
            # The last batch is written and synced in one worker-thread hop. A body that
            # then fails its checksum is truncated away before anything acknowledges it.
            await asyncio.shield(writer.commit(tail))
            if checksum is not None and await writer.digest() != checksum.digest:
                await writer.rollback()
                self._metrics.checksum_mismatches.inc()
                return Received(
                    0,
                    ChecksumMismatch(
                        f"the body does not match its {checksum.algorithm} checksum; it was "
                        "discarded and the offset is unchanged",
                        headers={"Upload-Offset": str(offset)},
                    ),
                )
            return Received(writer.written, stopped)
        finally:
            self._metrics.active_writes.dec()
            await writer.close()

    async def _stream(
        self, writer: StagedWriter, chunks: AsyncIterator[bytes], room: int
    ) -> tuple[BaseException | None, list[bytes]]:
        """Copy the chunks to the writer in batches. Returns why it stopped early (if it did)
        and the last batch, not yet written, for the commit to write."""
        batch: list[bytes] = []
        size = 0
        try:
            async for chunk in chunks:
                if writer.written + size + len(chunk) > room:
                    too_large = UploadLengthExceeded("the body runs past Upload-Length")
                    return too_large, []
                batch.append(chunk)
                size += len(chunk)
                if size >= self._batch:
                    await writer.write(batch)
                    batch, size = [], 0
        except (BodyInterrupted, asyncio.CancelledError) as exc:
            # The bytes that arrived are kept; the caller re-raises once they are recorded.
            self._metrics.interrupted_bodies.inc()
            return exc, batch
        return None, batch

    def _count_received(self, upload: UploadRecord, written: int) -> None:
        self._metrics.received_bytes.inc(written)
        if upload.state == UploadState.RECEIVED:
            self._metrics.uploads_completed.inc()
            logger.info("upload.received", extra={"upload_id": upload.id})
            self.on_received()

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        async with self._locker.hold(principal.tenant_id, upload_id):
            upload = await self.get(principal, upload_id)
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

    async def sweep_expired(self) -> int:
        """Expire incomplete uploads past their deadline and destroy their staged bytes."""
        expired = 0
        for upload_id in await self._uploads.due_to_expire(self._clock.now()):
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
