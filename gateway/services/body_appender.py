"""Appending one body to an upload: the minimum size of a PATCH that does not end it, a
fair-use slot (counted against concurrent_patches, metered against the day's bytes), the
bytes streamed to staging with checkpoints, and each new offset recorded and counted."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from gateway.domain.errors import PatchTooSmall
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import Uploads
from gateway.domain.ports.storage import StagingStore
from gateway.domain.principals import Principal
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.body_receiver import Body, BodyReceiver, check_room
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics
from gateway.services.quotas import QuotaService

logger = logging.getLogger(__name__)


class BodyAppender:
    def __init__(
        self,
        *,
        uploads: Uploads,
        staging: StagingStore,
        clock: Clock,
        metrics: Metrics,
        expiry: dt.timedelta,
        write_batch_bytes: int,
        checkpoint_bytes: int,
        checkpoint_s: float,
        quotas: QuotaService | None,
        min_patch_bytes: int,
    ) -> None:
        self._uploads = uploads
        self._clock = clock
        self._metrics = metrics
        self._expiry = expiry
        self._receiver = BodyReceiver(
            staging, metrics, write_batch_bytes, checkpoint_bytes, checkpoint_s
        )
        self._quotas = quotas  # fair use (clause 3.1.3.6); None: unlimited (tools, tests)
        self.min_patch_bytes = min_patch_bytes
        # Called when an upload's last byte is recorded (wakes in-process screening workers).
        self.on_received: Callable[[], None] = lambda: None

    async def append(
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
            await self.count_received(recorded, recorded.offset - before)

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

    async def count_received(self, upload: UploadRecord, written: int) -> None:
        self._metrics.received_bytes.inc(written)
        if self._quotas is not None:
            await self._quotas.received(upload.tenant_id, written)
        if upload.state == UploadState.RECEIVED:
            self._metrics.uploads_completed.inc()
            logger.info("upload.received", extra={"upload_id": upload.id})
            self.on_received()
