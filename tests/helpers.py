"""Small helpers for driving tus by hand in tests."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

from gateway.domain.tus_headers import encode_metadata

LICENCE_META = {"licence_type": "avsp", "licence_number": "0108-2026-TEST"}
PATCH_TYPE = {"Content-Type": "application/offset+octet-stream"}


def metadata_header(**extra: str) -> str:
    return encode_metadata({"filename": "clip.mp4", **LICENCE_META, **extra})


def creation_headers(length: int, **extra: str) -> dict[str, str]:
    return {"Upload-Length": str(length), "Upload-Metadata": metadata_header(**extra)}


def checksum_header(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def upload_id_of(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


async def chunked(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """A body sent in chunks, as a streaming client does (aiohttp warns on one large bytes
    body)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
