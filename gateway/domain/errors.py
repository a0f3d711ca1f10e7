"""The gateway's error table: every failure a caller can see, as a class with a stable code
and an HTTP status. Raise sites name a class; none spells a code.

    GatewayError            code, status; the message is safe to show a customer
    ├─ ClientError          4xx: the caller must change the request (`clause` where a term applies)
    │  ├─ Unauthorized 401, Forbidden 403, NotFound 404, Conflict 409, Gone 410,
    │  │  PreconditionFailed 412, PayloadTooLarge 413, UnsupportedMediaType 415,
    │  │  Locked 423, ChecksumMismatch 460 (tus)
    │  ├─ LicenceRejected 403 (clauses 3.1.10.1, 3.1.3.1)
    │  ├─ MediaRefused 422 (the file is not a video we screen)
    │  └─ ReviewInputInvalid 400
    ├─ DependencyError      5xx: retrying may help (storage_unavailable, ...)
    └─ NotApproved          a destination write for an unapproved upload: a bug if it fires
    ConfigError             start-up only; the process exits with code 2

Messages are written for the customer: they never carry exception text, paths or another
tenant's data. Operators find the detail in the logs. A `block` verdict is a decision, not an
error.
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
        if code is not None:  # only to carry a code from one error to another
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


class ConfigError(Exception):
    """Bad configuration found at start-up; the process stops with exit code 2."""


# --- 4xx: the caller must change the request ----------------------------------------------


class ClientError(GatewayError):
    code, status = "bad_request", 400


class Unauthorized(ClientError):
    code, status = "unauthorized", 401


class TokenInvalid(ClientError):
    """A direct-upload token that is tampered with, malformed, expired, used for a second
    upload or for another upload than its own."""

    code, status = "token_invalid", 401


class TokenExpired(TokenInvalid):
    code = "token_expired"


class TokenUsed(TokenInvalid):
    """The token has created its one upload already."""

    code, status = "token_used", 403


class TokenMetadataMismatch(TokenInvalid):
    """The client sent another value for metadata the token fixes."""

    code, status = "token_metadata_mismatch", 403


class TokenRequestInvalid(ClientError):
    code = "token_request_invalid"


class Forbidden(ClientError):
    code, status = "forbidden", 403


class NotFound(ClientError):
    code, status = "not_found", 404


class Conflict(ClientError):
    code, status = "conflict", 409


class KeyNotFound(NotFound):
    code = "key_not_found"


class QuotaExceeded(ClientError):
    """A fair-use limit (clause 3.1.3.6): 429 with Retry-After. The body names the limit, its
    value and the tenant's usage."""

    code, status = "quota_exceeded", 429
    limit: str = ""
    allowed: int = 0
    used: float = 0

    def as_body(self) -> dict[str, dict[str, str]]:
        body = super().as_body()
        body["error"] |= {"limit": self.limit, "allowed": self.allowed, "usage": self.used}  # type: ignore[dict-item]
        return body


class PlaybackRefused(Forbidden):
    """No playback link: the upload is not (or no longer) approved, or the link is bad."""

    code = "playback_refused"


class QuotaFileTooLarge(QuotaExceeded):
    """Larger than the tenant's max_file_size (413)."""

    code, status = "quota_file_too_large", 413


# Account standing after arrears (clause 7.3.3).
class AccountSuspended(Forbidden):
    code = "account_suspended"


class AccountTerminated(Forbidden):
    code = "account_terminated"


class StandingChangeRefused(Conflict):
    """A standing change the terms do not allow (paid after termination, future arrears)."""

    code = "standing_change_refused"


class UploadOnOtherInstance(Conflict):
    """Local staging: the upload's earlier bytes are on another instance's disk, so this one
    could never join new bytes to them (and must not acknowledge them)."""

    code = "upload_on_other_instance"


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


class BodyInterrupted(ClientError):
    """The request body stopped before its end (client killed, connection lost)."""

    code = "body_incomplete"


# Requests: headers, bodies, queries.
class HeaderMissing(ClientError):
    code = "header_missing"


class HeaderInvalid(ClientError):
    code = "header_invalid"


class ChecksumAlgorithmUnsupported(ClientError):
    code = "checksum_algorithm_unsupported"


class MetadataInvalid(ClientError):
    code = "metadata_invalid"


class MetadataTooLarge(ClientError):
    code = "metadata_too_large"


class QueryInvalid(ClientError):
    code = "query_invalid"


class BodyInvalid(ClientError):
    code = "body_invalid"


class BodyTooLarge(ClientError):
    code, status = "body_too_large", 413


class ObjectKeyInvalid(ClientError):
    code = "object_key_invalid"


class WebhookUrlInvalid(ClientError):
    code = "webhook_url_invalid"


# Uploads (tus).
class UploadNotFound(NotFound):
    code = "upload_not_found"


class UploadComplete(Conflict):
    code = "upload_complete"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"


class UploadNotTerminable(Conflict):
    code = "upload_not_terminable"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"


class TokenSizeExceeded(PayloadTooLarge):
    """Larger than the upload token's max_size."""

    code = "token_size_exceeded"


class UploadLengthExceeded(PayloadTooLarge):
    code = "upload_length_exceeded"


class PatchTooSmall(ClientError):
    """A PATCH that does not end its upload declared fewer bytes than the minimum (OPTIONS
    says it: `Upload-Limit: min-append-size=N`)."""

    code = "patch_too_small"


# Tenants and their licences (clauses 3.1.10.1, 3.1.3.1).
class TenantNotFound(NotFound):
    code = "tenant_not_found"


class TenantExists(Conflict):
    code = "tenant_exists"


class LicenceExists(Conflict):
    code = "licence_exists"


class BankNotFound(NotFound):
    code = "bank_not_found"


class BankExists(Conflict):
    code = "bank_exists"


class BankEntryNotFound(NotFound):
    code = "bank_entry_not_found"


class BankInputInvalid(ClientError):
    """A bank definition, a file to add or an import that cannot be used (not media, bad
    hex): the message says which and where."""

    code = "bank_input_invalid"


class ContentCategoryUnknown(ClientError):
    code = "content_category_unknown"


class LicenceRejected(ClientError):
    """Refused under clause 3.1.10.1 / 3.1.3.1; the subclass names the reason."""

    code, status = "licence_rejected", 403


class LicenceMissing(LicenceRejected):
    code = "licence_missing"


class LicenceUnknown(LicenceRejected):
    code = "licence_unknown"


class LicenceExpired(LicenceRejected):
    code = "licence_expired"


class LicenceOutOfScope(LicenceRejected):
    code = "licence_out_of_scope"


class RightsExpired(LicenceRejected):
    code = "rights_expired"


# Media (the hardened probe).
class MediaRefused(ClientError):
    """The file is not a video the gateway screens; the subclass says why."""

    code, status = "media_invalid", 422


class MediaUnsupported(MediaRefused):
    code = "media_unsupported"


class MediaNoVideo(MediaRefused):
    code = "media_no_video"


class MediaTooLong(MediaRefused):
    code = "media_too_long"


# Human review.
class ReviewInputInvalid(ClientError):
    code = "review_decision_invalid"


class ClauseUnknown(ReviewInputInvalid):
    code = "clause_unknown"


class ReasonRequired(ReviewInputInvalid):
    code = "reason_required"


class ReviewItemNotFound(NotFound):
    code = "review_item_not_found"


class ReviewVideoGone(NotFound):
    code = "review_video_gone"


class ReviewAdminOnly(Forbidden):
    code = "review_admin_only"


class ReviewReviewerExcluded(Forbidden):
    code = "review_reviewer_excluded"


class ReviewItemClaimed(Conflict):
    code = "review_item_claimed"


class ReviewItemDecided(Conflict):
    code = "review_item_decided"


class ReviewLeaseNotHeld(Conflict):
    code = "review_lease_not_held"


class ReviewUploadMoved(Conflict):
    code = "review_upload_moved"


class AppealStatementRequired(ClientError):
    code = "appeal_statement_required"


class AppealStatementTooLong(ClientError):
    code = "appeal_statement_too_long"


class AppealNotRejected(Conflict):
    code = "appeal_not_rejected"


class AppealExists(Conflict):
    code = "appeal_exists"


# --- 5xx: retrying may help -----------------------------------------------------------------


class DependencyError(GatewayError):
    code, status = "dependency_unavailable", 503


class DatabaseUnavailable(DependencyError):
    """The database cannot be reached (restarting, failing over, the network); retry later."""

    code = "database_unavailable"


class StorageUnavailable(DependencyError):
    """The object store cannot be reached or refuses us (credentials, bucket); retry later."""

    code = "storage_unavailable"


class StorageMismatch(DependencyError):
    """What the store holds is not what we sent (size or ETag differs after a write)."""

    code = "storage_verify_failed"


class StagingUnavailable(DependencyError):
    """The staging directory could not be written (disk full, permissions)."""

    code = "staging_unavailable"


class NotApproved(GatewayError):
    """An attempt to write to the destination for an upload whose verdict is not approved.
    A bug if it ever fires: the one guard on every destination write raises it."""

    code, status = "not_approved", 409


# --- what a failed background job records (never an HTTP answer) ------------------------------


class ScreeningFailed(GatewayError):
    """Screening could not finish after its last attempt; the policy's on_error decided."""

    code = "screening_failed"


def error_table() -> dict[str, type[GatewayError]]:
    """Every error class by its code (one class per code; tests hold this true)."""
    table: dict[str, type[GatewayError]] = {}
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop()
        table.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return table
