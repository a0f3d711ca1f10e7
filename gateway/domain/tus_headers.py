"""Parsing of tus 1.0 request headers. Pure functions; every malformed value is a ClientError."""

from __future__ import annotations

import base64
import re

from gateway.domain.errors import (
    ChecksumAlgorithmUnsupported,
    HeaderInvalid,
    HeaderMissing,
    MetadataInvalid,
    MetadataTooLarge,
    UploadTooLarge,
)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "termination",
    "checksum",
    "expiration",
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
_DIGEST_SIZES = {"sha1": 20, "sha256": 32, "md5": 16}
# tus: "The key MUST NOT contain spaces and commas and MUST NOT be empty."
_KEY = re.compile(r"^[^\s,]+$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")


def parse_length(header: str, value: str | None, *, max_size: int | None = None) -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset)."""
    if value is None:
        raise HeaderMissing(f"{header} header is required")
    value = value.strip()
    if not _DIGITS.match(value):
        raise HeaderInvalid(f"{header} must be a non-negative integer")
    number = int(value)
    if max_size is not None and number > max_size:
        raise UploadTooLarge(f"{header} {number} exceeds Tus-Max-Size {max_size}")
    return number


def parse_metadata(value: str | None, *, max_bytes: int) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent).

    Values must be UTF-8 text; a duplicate key is refused rather than silently overwritten.
    """
    if value is None or not value.strip():
        return {}
    if len(value) > max_bytes:
        raise MetadataTooLarge(f"Upload-Metadata is {len(value)} bytes; the limit is {max_bytes}")
    result: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not _KEY.match(parts[0]):
            raise MetadataInvalid(f"malformed Upload-Metadata pair {pair[:64]!r}")
        key = parts[0]
        if key in result:
            raise MetadataInvalid(f"duplicate Upload-Metadata key {key!r}")
        result[key] = _decode_value(key, parts[1]) if len(parts) == 2 else ""
    return result


def _decode_value(key: str, encoded: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        raise MetadataInvalid(
            f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8"
        ) from exc


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: `<algorithm> <base64 digest>`; None when absent."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ChecksumAlgorithmUnsupported(
            f"unsupported checksum algorithm {algorithm!r}; supported: "
            + ",".join(CHECKSUM_ALGORITHMS)
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except ValueError as exc:  # binascii.Error or non-ASCII text
        raise HeaderInvalid("Upload-Checksum digest is not base64") from exc
    if len(digest) != _DIGEST_SIZES[algorithm]:
        raise HeaderInvalid(f"Upload-Checksum digest has the wrong size for {algorithm}")
    return algorithm, digest
