"""Receiving a request body: streamed to the staging store in batches, made durable before
its offset may be acknowledged, and the bytes that arrived before a disconnect kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from gateway.domain.errors import (
    BodyInterrupted,
    ChecksumMismatch,
    PayloadTooLarge,
    QuotaExceeded,
    UploadLengthExceeded,
)
from gateway.domain.ports.storage import StagedWriter, StagingStore
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics


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


# Records the offset of the bytes a checkpoint made durable (bytes written by this body),
# with the staging state that holds them.
Checkpoint = Callable[[int, str | None], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Received:
    """What one body left behind: bytes made durable, why it stopped short (if it did), and
    the staging state to record with the new offset."""

    written: int
    error: BaseException | None
    state: str | None = None


def check_room(offset: int, length: int, body: Body) -> None:
    if body.content_length is not None and offset + body.content_length > length:
        raise UploadLengthExceeded(
            f"the body would end at {offset + body.content_length}, past Upload-Length {length}"
        )


class BodyReceiver:
    """Streams one body into the staging store and makes it durable; never raises for the
    body itself (a partial, oversized or mismatching body comes back in `Received`)."""

    def __init__(
        self,
        staging: StagingStore,
        metrics: Metrics,
        batch_bytes: int,
        checkpoint_bytes: int = 0,
        checkpoint_s: float = 0.0,
    ) -> None:
        self._staging = staging
        self._metrics = metrics
        self._batch = batch_bytes
        # A long body is made durable and its offset recorded every this many bytes or
        # seconds (0: never), so a crash loses at most one interval of it.
        self._checkpoint_bytes = checkpoint_bytes
        self._checkpoint_s = checkpoint_s

    async def receive(
        self,
        upload_id: str,
        offset: int,
        length: int,
        body: Body,
        record: Checkpoint | None = None,
        state: str | None = None,
    ) -> Received:
        """Stream the body to staging and make it durable. Never raises for the body itself:
        a partial, oversized or mismatching body comes back as `Received.error`. With
        `record`, a body without a checksum is checkpointed on the way (a checksum covers
        the whole body: nothing of it may count before all of it is checked)."""
        checksum = body.checksum
        writer = await self._staging.open_writer(
            upload_id, offset, None if checksum is None else checksum.algorithm, state
        )
        self._metrics.active_writes.inc()
        try:
            checkpoints = record if checksum is None else None
            stopped, tail = await self._stream(writer, body.chunks, length - offset, checkpoints)
            if isinstance(stopped, PayloadTooLarge) or (
                stopped is not None and checksum is not None
            ):
                # Too long, or partial and so unverifiable against its checksum: keep none.
                await writer.rollback()
                return Received(0, stopped, writer.state)
            # The last batch is written and synced in one worker-thread hop. A body that
            # then fails its checksum is truncated away before anything acknowledges it.
            await asyncio.shield(writer.commit(tail))
            failpoint("ingest.after_staged")  # durable, not yet recorded nor acknowledged
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
                    writer.state,
                )
            return Received(writer.written, stopped, writer.state)
        finally:
            self._metrics.active_writes.dec()
            await writer.close()

    async def _stream(
        self,
        writer: StagedWriter,
        chunks: AsyncIterator[bytes],
        room: int,
        record: Checkpoint | None,
    ) -> tuple[BaseException | None, list[bytes]]:
        """Copy the chunks to the writer in batches, checkpointing on the way. Returns why
        it stopped early (if it did) and the last batch, not yet written, for the commit."""
        batch: list[bytes] = []
        size = 0
        durable, durable_at = 0, time.monotonic()
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
                    if record is not None and self._due(writer.written - durable, durable_at):
                        await asyncio.shield(self._checkpoint(writer, record))
                        durable, durable_at = writer.written, time.monotonic()
        except (BodyInterrupted, asyncio.CancelledError) as exc:
            # The bytes that arrived are kept; the caller re-raises once they are recorded.
            self._metrics.interrupted_bodies.inc()
            return exc, batch
        except QuotaExceeded as exc:  # a metered body ended at the day's limit: the same
            return exc, batch
        return None, batch

    def _due(self, undurable: int, since: float) -> bool:
        by_size = self._checkpoint_bytes > 0 and undurable >= self._checkpoint_bytes
        by_time = self._checkpoint_s > 0 and time.monotonic() - since >= self._checkpoint_s
        return by_size or by_time

    async def _checkpoint(self, writer: StagedWriter, record: Checkpoint) -> None:
        """Durable first (fdatasync), then recorded: an offset never runs ahead of its bytes."""
        await writer.checkpoint()
        failpoint("ingest.checkpoint_synced")
        await record(writer.written, writer.state)
        failpoint("ingest.checkpoint_recorded")
        self._metrics.body_checkpoints.inc()
