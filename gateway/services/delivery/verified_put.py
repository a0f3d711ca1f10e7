"""One verified write: put a file unless an identical object is there, then prove it by HEAD."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.domain.errors import StorageMismatch
from gateway.domain.ports.storage import ObjectStore
from gateway.domain.stored_copies import StoredCopy
from gateway.services.failpoints import failpoint


async def put_verified(
    store: ObjectStore,
    put: Callable[[], Awaitable[None]],
    key: str,
    path: Path,
    crash_point: str,
) -> StoredCopy:
    """Put `path` under `key` unless an identical object is there; verify size and ETag with
    HEAD. Hashing overlaps the upload in the common case (nothing there yet)."""
    found = await store.head(key)
    hashing = store.digest_file(path)
    if found is None:
        digests, _ = await asyncio.gather(hashing, put())
        failpoint(crash_point)
        found = await store.head(key)
    else:  # a re-run after a crash: keep the object if it is the right one
        digests = await hashing
    expected = store.expected_etag(digests.size, digests.part_md5s, digests.md5)
    if found is not None and (found.size, found.etag) != (digests.size, expected):
        await put()
        failpoint(crash_point)
        found = await store.head(key)
    if found is None or (found.size, found.etag) != (digests.size, expected):
        got = None if found is None else f"{found.size} bytes, ETag {found.etag}"
        raise StorageMismatch(
            f"{key}: expected {digests.size} bytes, ETag {expected}; the store has {got}"
        )
    return StoredCopy(key, digests.size, expected, digests.sha256)
