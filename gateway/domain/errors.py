"""The gateway's error tree: one place that maps each failure to a code and an HTTP status.

    GatewayError            code, status; the message is safe to show a customer
    ├─ ClientError          4xx: the caller must change the request (`clause` where a term applies)
    └─ DependencyError      5xx: retrying may help (storage_unavailable, ...)
    ConfigError             start-up only; the process exits with code 2

A `block` verdict is a decision, not an error.
"""

from __future__ import annotations


class GatewayError(Exception):
    """A failure with a stable machine-readable code and an HTTP status."""

    code: str = "internal"
    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        clause: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.clause = clause
        self.headers = headers or {}

    def as_body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.clause:
            error["clause"] = self.clause
        return {"error": error}


class ClientError(GatewayError):
    code = "bad_request"
    status = 400


class DependencyError(GatewayError):
    code = "dependency_unavailable"
    status = 503


class StorageUnavailable(DependencyError):
    """The object store cannot be reached or refuses us (credentials, bucket); retry later."""

    code = "storage_unavailable"


class StorageMismatch(DependencyError):
    """What the store holds is not what we sent (size or ETag differs after a write)."""

    code = "storage_verify_failed"


class NotApproved(GatewayError):
    """An attempt to write to the destination for an upload whose verdict is not approved.
    A bug if it ever fires: the one guard on every destination write raises it."""

    code, status = "not_approved", 409


class ConfigError(Exception):
    """Bad configuration found at start-up; the process stops with exit code 2."""


# --- the table of client errors (tusd keeps one table too) -------------------------------


class Unauthorized(ClientError):
    code, status = "unauthorized", 401


class Forbidden(ClientError):
    code, status = "forbidden", 403


class NotFound(ClientError):
    code, status = "not_found", 404


class Conflict(ClientError):
    code, status = "conflict", 409


class Gone(ClientError):
    code, status = "gone", 410


class PreconditionFailed(ClientError):
    code, status = "tus_version_unsupported", 412


class PayloadTooLarge(ClientError):
    code, status = "too_large", 413


class UnsupportedMediaType(ClientError):
    code, status = "unsupported_media_type", 415


class Locked(ClientError):
    code, status = "upload_locked", 423


class ChecksumMismatch(ClientError):
    code, status = "checksum_mismatch", 460


class LicenceRejected(ClientError):
    """Refused under clause 3.1.10.1 / 3.1.3.1; `code` names the reason."""

    status = 403


class MediaRefused(ClientError):
    """The file is not a video the gateway screens; `code` says why (media_invalid,
    media_unsupported, media_no_video, media_too_long)."""

    code, status = "media_invalid", 422


class BodyInterrupted(ClientError):
    """The request body stopped before its end (client killed, connection lost)."""

    code, status = "body_incomplete", 400
