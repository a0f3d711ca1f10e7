"""S3StagingStore (staging = s3): tus bytes go straight into an S3 multipart upload, as
tusd's s3store does, so any instance can take an upload's next PATCH.

    parts       each exactly `part_size` (>= 5 MiB, S3's minimum for all but the last)
    tail        the bytes after the last part, shorter than a part, kept as an object of
                their own (`<key>.tail-<start>`) until they grow into a part or the upload
                completes; then `seal` sends them as the last part and completes the upload
    state       the multipart upload id, each part's size and ETag, and the tail's length:
                committed with the offset they add up to (StagedWriter.state), so the
                database and the bucket never disagree about what was acknowledged

A writer keeps less than one part in memory (plus the one being sent): a crash loses only
bytes never acknowledged. Parts sent by a body that is then rolled back (checksum mismatch,
too long) are not in the recorded state; the next body sends those part numbers again. A
tail object is never rewritten with different bytes at the same start, so a recorded
(start, length) always names the bytes that were acknowledged."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field

from gateway.adapters.storage.s3_objects import S3ObjectStore
from gateway.domain.errors import StagingUnavailable, StorageMismatch
from gateway.domain.object_keys import quarantine_key
from gateway.domain.ports.storage import StoredObject

logger = logging.getLogger(__name__)

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
READ_BYTES = 1024 * 1024


@dataclass(slots=True)
class MultipartState:
    upload: str  # the S3 multipart upload id
    parts: list[tuple[int, str]] = field(default_factory=list)  # (size, ETag), numbered 1..
    tail: int = 0  # bytes in the tail object

    @property
    def parts_end(self) -> int:
        return sum(size for size, _ in self.parts)

    def dumps(self) -> str:
        return json.dumps({"v": 1, "upload": self.upload, "parts": self.parts, "tail": self.tail})

    @classmethod
    def loads(cls, text: str | None) -> MultipartState:
        if not text:
            raise StagingUnavailable("the upload has no S3 staging record")
        raw = json.loads(text)
        return cls(raw["upload"], [(int(s), str(e)) for s, e in raw["parts"]], int(raw["tail"]))

    def copy(self) -> MultipartState:
        return MultipartState(self.upload, list(self.parts), self.tail)


def tail_key(key: str, start: int) -> str:
    return f"{key}.tail-{start}"


class S3StagingStore:
    def __init__(self, store: S3ObjectStore) -> None:
        self._store = store
        self.part_size = store.part_size

    def key(self, upload_id: str) -> str:
        if not _UPLOAD_ID.match(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return quarantine_key(upload_id)

    async def create(self, upload_id: str) -> str | None:
        store = self._store
        key = self.key(upload_id)
        made = await store.call(
            f"start multipart upload {key}",
            store.client.create_multipart_upload,
            Bucket=store.bucket,
            Key=key,
        )
        return MultipartState(made["UploadId"]).dumps()

    async def open_writer(
        self, upload_id: str, offset: int, checksum_algorithm: str | None, state: str | None
    ) -> S3StagedWriter:
        recorded = MultipartState.loads(state)
        if recorded.parts_end + recorded.tail != offset:
            # Offset and state commit together: a difference is a bug, never a client error.
            raise StagingUnavailable(
                f"staging record covers {recorded.parts_end + recorded.tail} bytes, "
                f"not the offset {offset}"
            )
        hasher = hashlib.new(checksum_algorithm) if checksum_algorithm else None
        writer = S3StagedWriter(self._store, self.key(upload_id), recorded, hasher)
        await writer.drop_stale_tails()
        return writer

    async def delete(self, upload_id: str) -> None:
        """Abort every multipart upload under the key and delete its objects (the tails and,
        once sealed, the whole)."""
        store = self._store
        key = self.key(upload_id)
        listed = await store.call(
            f"list multipart uploads {key}",
            store.client.list_multipart_uploads,
            Bucket=store.bucket,
            Prefix=key,
        )
        for pending in listed.get("Uploads", []):
            if pending["Key"] == key:
                await store.call(
                    f"abort multipart upload {key}",
                    store.client.abort_multipart_upload,
                    Bucket=store.bucket,
                    Key=key,
                    UploadId=pending["UploadId"],
                )
        for found in await store.list_keys(key):
            if found == key or found.startswith(f"{key}.tail-"):
                await store.delete(found)

    async def staged(self) -> list[tuple[str, dt.datetime]]:
        """The multipart uploads in progress under quarantine/ (sealed objects are not
        staged bytes: their uploads have rows)."""
        store = self._store

        def list_all() -> list[tuple[str, dt.datetime]]:
            found = []
            paginator = store.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=store.bucket, Prefix="quarantine/"):
                for pending in page.get("Uploads", []):
                    upload_id = pending["Key"].removeprefix("quarantine/")
                    if _UPLOAD_ID.match(upload_id):
                        found.append((upload_id, pending["Initiated"]))
            return found

        return await store.call("list multipart uploads", list_all)

    async def seal(
        self, upload_id: str, length: int, state: str | None
    ) -> tuple[StoredObject, str]:
        """Complete the multipart upload (the tail as its last part) into one object at the
        upload's quarantine key, verified by size and ETag; returns it with its SHA-256.
        Idempotent: a sealed object already in place is checked and returned."""
        store = self._store
        key = self.key(upload_id)
        found = await store.head(key)
        if found is None or found.size != length:
            found = await self._complete(key, length, MultipartState.loads(state))
        sha256 = await store.call(f"read {key}", _sha256_of, store, key)
        for stale in await store.list_keys(f"{key}.tail-"):
            await store.delete(stale)
        return found, sha256

    async def _complete(self, key: str, length: int, recorded: MultipartState) -> StoredObject:
        store = self._store
        parts = list(recorded.parts)
        tail = await _read_tail(store, key, recorded) if recorded.tail else b""
        if not parts:
            # Shorter than a part: one plain object, as a server-side copy of it will be
            # (the forward step compares ETags), and the multipart upload is dropped.
            await store.call(
                f"put {key}", store.client.put_object, Bucket=store.bucket, Key=key, Body=tail
            )
            await store.call(
                f"abort multipart upload {key}",
                store.client.abort_multipart_upload,
                Bucket=store.bucket,
                Key=key,
                UploadId=recorded.upload,
            )
            expected = hashlib.md5(tail).hexdigest()  # noqa: S324 - the ETag scheme
        else:
            if tail:
                etag = await _send_part(store, key, recorded.upload, len(parts) + 1, tail)
                parts.append((len(tail), etag))
            await store.call(
                f"complete multipart upload {key}",
                store.client.complete_multipart_upload,
                Bucket=store.bucket,
                Key=key,
                UploadId=recorded.upload,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": e} for n, (_, e) in enumerate(parts, 1)]
                },
            )
            expected = multipart_etag([e for _, e in parts])
        found = await store.head(key)
        if found is None or (found.size, found.etag) != (length, expected):
            got = None if found is None else f"{found.size} bytes, ETag {found.etag}"
            raise StorageMismatch(f"{key}: expected {length} bytes, ETag {expected}; got {got}")
        logger.info("staging.sealed", extra={"key": key, "parts": len(parts), "bytes": length})
        return found


class S3StagedWriter:
    def __init__(
        self,
        store: S3ObjectStore,
        key: str,
        recorded: MultipartState,
        hasher: hashlib._Hash | None,
    ) -> None:
        self._store = store
        self._key = key
        self._part_size = store.part_size
        # What a rollback returns to: the state at open or at the last checkpoint.
        self._durable = recorded
        self._durable_written = 0
        # After a commit: the state naming every byte written (a rollback undoes it).
        self._committed: MultipartState | None = None
        self._parts = list(recorded.parts)
        self._buffer = bytearray()  # the tail's bytes, then what this body added
        self._tail_loaded = recorded.tail == 0
        self._hasher = hasher
        self._written = 0

    @property
    def written(self) -> int:
        return self._written

    @property
    def state(self) -> str | None:
        return (self._committed or self._durable).dumps()

    async def drop_stale_tails(self) -> None:
        """Tails of earlier states (a part has since absorbed them): deleted now that the
        state naming their successor is recorded."""
        current = tail_key(self._key, self._durable.parts_end) if self._durable.tail else None
        for found in await self._store.list_keys(f"{self._key}.tail-"):
            if found != current:
                await self._store.delete(found)

    async def write(self, chunks: list[bytes]) -> None:
        await self._load_tail()
        for chunk in chunks:
            if self._hasher is not None:
                self._hasher.update(chunk)
            self._buffer += chunk
            self._written += len(chunk)
        while len(self._buffer) >= self._part_size:
            part = bytes(memoryview(self._buffer)[: self._part_size])
            etag = await _send_part(
                self._store, self._key, self._durable.upload, len(self._parts) + 1, part
            )
            self._parts.append((len(part), etag))
            del self._buffer[: self._part_size]

    async def digest(self) -> bytes | None:
        return None if self._hasher is None else self._hasher.digest()

    async def commit(self, tail: list[bytes]) -> None:
        """Everything written is in the bucket; `state` names it. A rollback (a checksum
        that does not match) still returns to the last checkpoint."""
        if tail:
            await self.write(tail)
        self._committed = await self._flush()

    async def checkpoint(self) -> None:
        self._durable = await self._flush()
        self._durable_written = self._written
        self._committed = None

    async def _flush(self) -> MultipartState:
        """Send the bytes after the last part as the tail object; the state that names it."""
        await self._load_tail()
        start = sum(size for size, _ in self._parts)
        if self._buffer:
            key = tail_key(self._key, start)
            store = self._store
            await store.call(
                f"put {key}",
                store.client.put_object,
                Bucket=store.bucket,
                Key=key,
                Body=bytes(self._buffer),
            )
        return MultipartState(self._durable.upload, list(self._parts), len(self._buffer))

    async def rollback(self) -> None:
        self._committed = None
        self._parts = list(self._durable.parts)
        self._buffer = bytearray()
        self._tail_loaded = self._durable.tail == 0
        self._written = self._durable_written

    async def close(self) -> None:
        self._buffer = bytearray()

    async def _load_tail(self) -> None:
        if not self._tail_loaded:
            self._buffer = bytearray(await _read_tail(self._store, self._key, self._durable))
            self._tail_loaded = True


async def _read_tail(store: S3ObjectStore, key: str, recorded: MultipartState) -> bytes:
    name = tail_key(key, recorded.parts_end)

    def read() -> bytes:
        got = store.client.get_object(
            Bucket=store.bucket, Key=name, Range=f"bytes=0-{recorded.tail - 1}"
        )
        data: bytes = got["Body"].read()
        return data

    data = await store.call(f"get {name}", read)
    if len(data) != recorded.tail:
        raise StorageMismatch(f"{name}: {len(data)} bytes, the record says {recorded.tail}")
    return data


async def _send_part(store: S3ObjectStore, key: str, upload: str, number: int, data: bytes) -> str:
    sent = await store.call(
        f"upload part {number} of {key}",
        store.client.upload_part,
        Bucket=store.bucket,
        Key=key,
        UploadId=upload,
        PartNumber=number,
        Body=data,
    )
    return str(sent["ETag"]).strip('"')


def multipart_etag(part_etags: list[str]) -> str:
    joined = b"".join(bytes.fromhex(e) for e in part_etags)
    return f"{hashlib.md5(joined).hexdigest()}-{len(part_etags)}"  # noqa: S324


def _sha256_of(store: S3ObjectStore, key: str) -> str:
    """Blocking: the object's SHA-256, streamed."""
    digest = hashlib.sha256()
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"]
    while chunk := body.read(READ_BYTES):
        digest.update(chunk)
    return digest.hexdigest()
