"""One pass over a file: size, sha256, whole MD5 and per-part MD5s (for S3 multipart ETags)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.domain.ports.storage import FileDigests

READ_BYTES = 1024 * 1024


def file_digests(path: Path, part_size: int) -> FileDigests:
    """Blocking: call in a thread."""
    sha256 = hashlib.sha256()
    whole = hashlib.md5()  # noqa: S324 - the ETag scheme, not security
    parts: list[bytes] = []
    part = hashlib.md5()  # noqa: S324
    in_part = 0
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(min(READ_BYTES, part_size - in_part)):
            sha256.update(chunk)
            whole.update(chunk)
            part.update(chunk)
            in_part += len(chunk)
            size += len(chunk)
            if in_part == part_size:
                parts.append(part.digest())
                part, in_part = hashlib.md5(), 0  # noqa: S324
    if in_part or not parts:
        parts.append(part.digest())
    return FileDigests(size, sha256.hexdigest(), whole.digest(), parts)


def s3_etag(part_md5s: list[bytes], whole_md5: bytes, multipart: bool) -> str:
    """S3's ETag: the MD5 for a single PUT; MD5 of the part MD5s, `-N`, for multipart."""
    if not multipart:
        return whole_md5.hex()
    joined = hashlib.md5(b"".join(part_md5s)).hexdigest()  # noqa: S324
    return f"{joined}-{len(part_md5s)}"
