"""Where a tenant's objects live in the destination store. Every segment is checked, so a
tenant or upload id can never climb out of its prefix (`..`, `/`, empty)."""

from __future__ import annotations

import re

from gateway.domain.errors import ObjectKeyInvalid

_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXTENSION = re.compile(r"[a-z0-9]{1,8}")

# ffprobe's format names (allowed demuxers) and the file extension each is stored with.
EXTENSION_BY_FORMAT = {
    "mov,mp4,m4a,3gp,3g2,mj2": "mp4",
    "matroska,webm": "mkv",
    "flv": "flv",
    "mpegts": "ts",
    "avi": "avi",
}


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value):
        raise ObjectKeyInvalid(f"{what} {value!r} cannot be part of an object key")
    return value


def tenant_prefix(tenant_id: str) -> str:
    return f"tenants/{_segment(tenant_id, 'tenant id')}/"


def upload_prefix(tenant_id: str, upload_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}videos/{_segment(upload_id, 'upload id')}/"


def source_key(tenant_id: str, upload_id: str, extension: str) -> str:
    if not _EXTENSION.fullmatch(extension):
        raise ObjectKeyInvalid(f"extension {extension!r} cannot be part of an object key")
    return f"{upload_prefix(tenant_id, upload_id)}source.{extension}"


def rendition_file_key(tenant_id: str, upload_id: str, relative: str) -> str:
    """A file of a multi-file rendition (HLS: `hls/720p/seg_000.ts`), each part checked."""
    parts = relative.split("/")
    if len(parts) > 3 or not all(parts):
        raise ObjectKeyInvalid(f"rendition path {relative!r} cannot be part of an object key")
    *folders, file_name = parts
    for folder in folders:
        _segment(folder, "rendition folder")
    path = "/".join([*folders, _checked_file(file_name)])
    return f"{upload_prefix(tenant_id, upload_id)}renditions/{path}"


def _checked_file(file_name: str) -> str:
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(extension):
        raise ObjectKeyInvalid(f"rendition file {file_name!r} cannot be part of an object key")
    return f"{_segment(stem, 'rendition file')}.{extension}"


def extension_for(format_name: str) -> str:
    return EXTENSION_BY_FORMAT.get(format_name, "bin")


def quarantine_key(upload_id: str) -> str:
    """Where a complete upload waits in the quarantine bucket (staging = s3)."""
    return f"quarantine/{upload_id}"
