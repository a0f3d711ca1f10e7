"""Where bytes live: the staging store (receiving), staged copies (screening, review) and
the object stores (quarantine, destination)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StagedWriter(Protocol):
    """Appends bytes to one staged upload from a fixed starting offset."""

    @property
    def written(self) -> int:
        """Bytes written since the writer was opened."""
        ...

    @property
    def state(self) -> str | None:
        """Where the durable bytes are, as the store records it (S3 staging: the multipart
        upload's parts and tail object); committed with the offset they add up to, so the
        two never disagree. None: the store needs no record (a local file)."""
        ...

    async def write(self, chunks: list[bytes]) -> None: ...

    async def digest(self) -> bytes | None:
        """Digest over the bytes written so far, when a checksum algorithm was asked for."""
        ...

    async def commit(self, tail: list[bytes]) -> None:
        """Write `tail`, then make every written byte durable; only then may its offset be
        acknowledged."""
        ...

    async def checkpoint(self) -> None:
        """Make every byte written so far durable, mid-body: its offset may then be recorded,
        and a later rollback keeps it."""
        ...

    async def rollback(self) -> None:
        """Discard every byte written through this writer since its last checkpoint."""
        ...

    async def close(self) -> None: ...


class StagingStore(Protocol):
    """Where received bytes wait for screening: this node's directory, or (scale-out) an S3
    multipart upload that any instance can append to."""

    async def create(self, upload_id: str) -> str | None:
        """Make room for a new upload; returns its first staging state."""
        ...

    async def open_writer(
        self, upload_id: str, offset: int, checksum_algorithm: str | None, state: str | None
    ) -> StagedWriter:
        """A writer appending at `offset`, which the recorded `state` must account for (else
        UploadOnOtherInstance: the earlier bytes are not where this store can reach)."""
        ...

    async def delete(self, upload_id: str) -> None:
        """Destroy every staged byte of the upload (idempotent)."""
        ...

    async def staged(self) -> list[tuple[str, dt.datetime]]:
        """Every upload this store holds bytes for, with when it began (orphan sweeps)."""
        ...


class SealableStaging(Protocol):
    """A staging store whose uploads become one object only when sealed (S3 multipart)."""

    async def seal(
        self, upload_id: str, length: int, state: str | None
    ) -> tuple[StoredObject, str]:
        """The complete upload as one object, verified; with its SHA-256. Idempotent."""
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What an object store says it holds under a key (ETag without quotes)."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class FileDigests:
    size: int
    sha256: str
    md5: bytes
    part_md5s: list[bytes]


class ObjectStore(Protocol):
    """Where approved videos and delivered renditions live (a local directory or S3)."""

    name: str

    async def prepare(self) -> None:
        """Create the bucket or directory if it is missing."""
        ...

    async def ready(self) -> None:
        """Raise StorageUnavailable unless the bucket or directory answers (read-only)."""
        ...

    def presign(self, key: str, expires_s: int) -> str | None:
        """A URL anyone may GET the object at for `expires_s` (None: this store has none)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file, for a store on this node's disk (None elsewhere)."""
        ...

    async def put_file(self, key: str, path: Path) -> None: ...

    async def head(self, key: str) -> StoredObject | None: ...

    def expected_etag(self, size: int, part_md5s: list[bytes], whole_md5: bytes) -> str:
        """The ETag this store gives an object with these part (and whole) MD5s."""
        ...

    async def digest_file(self, path: Path) -> FileDigests:
        """Size, SHA-256 and the MD5s (whole, and per part at this store's part size) that
        its ETag is computed from; read in a thread."""
        ...

    @property
    def part_size(self) -> int:
        """Bytes per multipart part (files above this go multipart)."""
        ...

    async def copy_from(self, key: str, source_bucket: str, source_key: str) -> None:
        """Server-side copy from another bucket of the same store."""
        ...

    async def download(self, key: str, path: Path) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list_keys(self, prefix: str) -> list[str]: ...


class StagedCopies(Protocol):
    """Where screening, forwarding and review find a complete upload's bytes: the staged file
    on this node (embedded default) or the quarantine bucket (staging = s3)."""

    def path(self, upload_id: str) -> Path:
        """The receiving node's staged file."""
        ...

    def local_copy(self, upload_id: str) -> AbstractAsyncContextManager[Path]:
        """A file ffmpeg can open for the length of the block (downloaded if need be)."""
        ...

    async def exists(self, upload_id: str) -> bool: ...

    async def drop(self, upload_id: str) -> None: ...

    def presign(self, upload_id: str) -> str | None:
        """A time-limited URL a reviewer's player may fetch, when the bytes are in a bucket."""
        ...

    async def prepare(self) -> None:
        """Create the quarantine bucket if there is one and it is missing."""
        ...
