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
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gateway.db.tenants import LicenceRepository
from gateway.db.uploads import UploadRecord, UploadRepository
from gateway.domain.errors import (
    BodyInterrupted,
    ChecksumMismatch,
    Conflict,
    Gone,
    LicenceRejected,
    Locked,
    NotFound,
    PayloadTooLarge,
)
from gateway.domain.keys import Principal
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.ports import Clock, StagedWriter, StagingStore
from gateway.domain.states import TERMINABLE_STATES, UploadState
from gateway.metrics import Metrics

logger = logging.getLogger(__name__)

_GONE_STATES = frozenset({UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED})


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes


class UploadLocks:
    """One writer per upload in this process; a second one is told 423 at once, never queued.

    The scale-out deployment (several processes) needs a database lock instead; until then
    the conditional offset update in the repository still refuses a second writer's commit.
    """

    def __init__(self) -> None:
        self._held: set[str] = set()

    @contextmanager
    def hold(self, upload_id: str) -> Iterator[None]:
        if upload_id in self._held:
            raise Locked("another request is writing to this upload", code="upload_locked")
        self._held.add(upload_id)
        try:
            yield
        finally:
            self._held.discard(upload_id)


class IngestService:
    def __init__(
        self,
        *,
        uploads: UploadRepository,
        licences: LicenceRepository,
        staging: StagingStore,
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
        self._locks = UploadLocks()

    async def create(
        self, principal: Principal, length: int, metadata: dict[str, str]
    ) -> UploadRecord:
        """Check the licence (before any byte is stored) and record a new, empty upload."""
        now = self._clock.now()
        held = await self._licences.held_by(principal.tenant_id)
        try:
            accepted = check_upload_licence(
                self._rules, metadata, [lic for _, lic in held], now.date()
            )
        except LicenceRejected as exc:
            self._metrics.licence_rejections.labels(code=exc.code).inc()
            raise
        licence_id = next(i for i, lic in held if lic is accepted)
        upload_id = uuid.uuid4().hex
        await self._staging.create(upload_id)
        upload = await self._uploads.create(
            upload_id=upload_id,
            tenant_id=principal.tenant_id,
            length=length,
            metadata=metadata,
            licence_id=licence_id,
            now=now,
            expires_at=now + self._expiry,
            actor=principal.actor,
        )
        self._metrics.uploads_created.inc()
        logger.info("upload.created", extra={"upload_id": upload_id, "length": length})
        if length == 0:
            upload = await self._uploads.record_offset(
                upload, 0, now, now + self._expiry, principal.actor
            )
            self._metrics.uploads_completed.inc()
        return upload

    async def get_any_state(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload in whatever state; 404 for unknown and other tenants' ids alike.

        An incomplete upload found past its deadline is expired here, before the sweeper.
        """
        upload = await self._uploads.get(upload_id, principal.tenant_id)
        if upload is None:
            raise NotFound("no such upload", code="upload_not_found")
        if upload.state == UploadState.RECEIVING and self._is_past_deadline(upload):
            await self._expire(upload)
            return await self.get_any_state(principal, upload_id)
        return upload

    async def get(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload as tus sees it: 410 once expired, terminated or purged."""
        upload = await self.get_any_state(principal, upload_id)
        if upload.state in _GONE_STATES:
            raise Gone(f"the upload is {upload.state.value}", code=f"upload_{upload.state.value}")
        return upload

    async def write(
        self,
        principal: Principal,
        upload_id: str,
        offset: int,
        content_length: int | None,
        checksum: Checksum | None,
        body: AsyncIterator[bytes],
    ) -> UploadRecord:
        """Append one PATCH body at `offset`; returns the upload with its new offset."""
        await self.get(principal, upload_id)  # authorise before revealing the lock's state
        with self._locks.hold(upload_id):
            upload = await self.get(principal, upload_id)
            if upload.state != UploadState.RECEIVING:
                raise Conflict("the upload is already complete", code="upload_complete")
            if offset != upload.offset:
                raise Conflict(
                    f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                    code="offset_mismatch",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            if content_length is not None and offset + content_length > upload.length:
                raise PayloadTooLarge(
                    f"the body would end at {offset + content_length}, past Upload-Length "
                    f"{upload.length}",
                    code="upload_length_exceeded",
                )
            return await self._receive(principal, upload, checksum, body)

    async def _receive(
        self,
        principal: Principal,
        upload: UploadRecord,
        checksum: Checksum | None,
        body: AsyncIterator[bytes],
    ) -> UploadRecord:
        writer = await self._staging.open_writer(
            upload.id, upload.offset, None if checksum is None else checksum.algorithm
        )
        self._metrics.active_writes.inc()
        try:
            try:
                interrupted = await self._stream(writer, body, upload.length - upload.offset)
            except asyncio.CancelledError:
                if checksum is None:
                    await asyncio.shield(self._commit(principal, upload, writer))
                raise
            if interrupted is not None and checksum is not None:
                # A partial body cannot be verified against its checksum: keep none of it.
                await writer.rollback()
                raise interrupted
            if checksum is not None and await writer.digest() != checksum.digest:
                await writer.rollback()
                self._metrics.checksum_mismatches.inc()
                raise ChecksumMismatch(
                    f"the body does not match its {checksum.algorithm} checksum; it was "
                    "discarded and the offset is unchanged",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            # Shielded: a cancelled handler (server shutdown) still records what reached disk.
            recorded = await asyncio.shield(self._commit(principal, upload, writer))
            if interrupted is not None:
                raise interrupted
            return recorded
        finally:
            self._metrics.active_writes.dec()
            await writer.close()

    async def _stream(
        self, writer: StagedWriter, body: AsyncIterator[bytes], room: int
    ) -> BodyInterrupted | None:
        """Copy the body to the writer in batches; returns the interruption, if any."""
        batch: list[bytes] = []
        size = 0
        try:
            async for chunk in body:
                if writer.written + size + len(chunk) > room:
                    batch = []
                    await writer.rollback()
                    raise PayloadTooLarge(
                        "the body runs past Upload-Length", code="upload_length_exceeded"
                    )
                batch.append(chunk)
                size += len(chunk)
                if size >= self._batch:
                    await writer.write(batch)
                    batch, size = [], 0
        except BodyInterrupted as exc:
            self._metrics.interrupted_bodies.inc()
            return exc
        finally:
            if batch:
                await asyncio.shield(writer.write(batch))
        return None

    async def _commit(
        self, principal: Principal, upload: UploadRecord, writer: StagedWriter
    ) -> UploadRecord:
        if writer.written == 0:
            return upload
        await writer.commit()
        now = self._clock.now()
        recorded = await self._uploads.record_offset(
            upload, upload.offset + writer.written, now, now + self._expiry, principal.actor
        )
        self._metrics.received_bytes.inc(writer.written)
        if recorded.state == UploadState.RECEIVED:
            self._metrics.uploads_completed.inc()
            logger.info("upload.received", extra={"upload_id": upload.id})
        return recorded

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        upload = await self.get(principal, upload_id)
        with self._locks.hold(upload_id):
            if upload.state not in TERMINABLE_STATES:
                raise Conflict(
                    f"the upload is {upload.state.value}; only the pipeline may release it now",
                    code="upload_not_terminable",
                )
            moved = await self._uploads.transition(
                upload_id,
                upload.state,
                UploadState.TERMINATED,
                self._clock.now(),
                principal.actor,
                "terminated_by_client",
            )
            if not moved:
                raise Conflict("the upload changed while this request ran", code="conflict")
            await self._staging.delete(upload_id)
            self._metrics.uploads_terminated.inc()

    async def sweep_expired(self) -> int:
        """Expire incomplete uploads past their deadline and destroy their staged bytes."""
        expired = await self._uploads.expire_due(self._clock.now())
        for upload_id in expired:
            await self._staging.delete(upload_id)
            logger.info("upload.expired", extra={"upload_id": upload_id})
        self._metrics.uploads_expired.inc(len(expired))
        return len(expired)

    def _is_past_deadline(self, upload: UploadRecord) -> bool:
        return upload.expires_at is not None and upload.expires_at <= self._clock.now()

    async def _expire(self, upload: UploadRecord) -> None:
        if await self._uploads.transition(
            upload.id,
            UploadState.RECEIVING,
            UploadState.EXPIRED,
            self._clock.now(),
            "expiry-check",
            "upload_expired",
        ):
            await self._staging.delete(upload.id)
            self._metrics.uploads_expired.inc()
