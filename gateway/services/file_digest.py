"""The sha256 of a local file, read in a thread (a staged upload, a file added to a bank)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

BLOCK_BYTES = 1024 * 1024


async def sha256_of(path: Path) -> str:
    """Raises OSError when the file cannot be read."""

    def digest() -> str:
        sha = hashlib.sha256()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(BLOCK_BYTES), b""):
                sha.update(block)
        return sha.hexdigest()

    return await asyncio.to_thread(digest)
