"""Receiving a request body: streamed to the staging store in batches, made durable before
its offset may be acknowledged, and the bytes that arrived before a disconnect kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway.domain.errors import (
    BodyInterrupted,
    ChecksumMismatch,
    PayloadTooLarge,
    UploadLengthExceeded,
)
from gateway.domain.ports.storage import StagedWriter, StagingStore
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


@dataclass(frozen=True, slots=True)
class Received:
    """What one body left behind: bytes made durable, and why it stopped short (if it did)."""

    written: int
    error: BaseException | None


def check_room(offset: int, length: int, body: Body) -> None:
    if body.content_length is not None and offset + body.content_length > length:
        raise UploadLengthExceeded(
            f"the body would end at {offset + body.content_length}, past Upload-Length {length}"
        )


class BodyReceiver:
    """Streams one body into the staging store and makes it durable; never raises for the
    body itself (a partial, oversized or mismatching body comes back in `Received`)."""

    def __init__(self, staging: StagingStore, metrics: Metrics, batch_bytes: int) -> None:
        self._staging = staging
        self._metrics = metrics
        self._batch = batch_bytes

    async def receive(self, upload_id: str, offset: int, length: int, body: Body) -> Received:
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
