"""Tables. Written for both SQLite and PostgreSQL: portable types, UTC timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite without a registered converter
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime):
            raise TypeError(f"not a datetime: {value!r}")
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("standing", String(20), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime(), nullable=False),
    # Clause 7.3.3: the instants the standing's timed moves count from, and the purge.
    Column("arrears_since", UTCDateTime(), nullable=True),
    Column("suspended_at", UTCDateTime(), nullable=True),
    Column("terminated_at", UTCDateTime(), nullable=True),
    Column("purged_at", UTCDateTime(), nullable=True),
    Column("purge_receipt", JSON, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

licences = Table(
    "licences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("licence_type", String(40), nullable=False),
    Column("number", String(200), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "licence_type", "number", name="uq_licences_tenant_type_number"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("state", String(20), nullable=False, index=True),
    Column("length", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("licence_id", Integer, ForeignKey("licences.id"), nullable=True),
    Column("error_code", String(60), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Deadline for an incomplete upload; cleared when the last byte arrives.
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("completed_at", UTCDateTime(), nullable=True),
    # Local staging: the node whose disk holds the bytes; no other node appends or reads.
    Column("staged_on", String(64), nullable=True),
    # S3 staging: the multipart upload, its parts and tail, committed with their offset.
    Column("staging_state", Text, nullable=True),
    Index("ix_uploads_state_expires_at", "state", "expires_at"),
    Index("ix_uploads_tenant_id_created_at", "tenant_id", "created_at"),
)

upload_events = Table(
    "upload_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("code", String(60), nullable=True),
    Column("actor", String(60), nullable=False),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("request_id", String(32), nullable=False),  # ours, unique per request
    Column("client_request_id", String(64), nullable=True),  # the caller's X-Request-Id
    Column("client_ip", String(64), nullable=True),
    Column("tenant_id", String(32), nullable=True),
    Column("host", String(255), nullable=True),
    Column("origin", String(255), nullable=True),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("upload_id", String(32), nullable=True),
    Column("bytes_in", BigInteger, nullable=False),
    Column("bytes_out", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("stage", String(20), nullable=False),
    # Set when only one node can run the job (its bytes are on that node's disk).
    Column("node", String(64), nullable=True),
    # queued -> running (leased) -> done | failed; a lapsed lease makes it claimable again
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("run_after", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_jobs_state_run_after", "state", "run_after"),
)

# Fair use (clause 3.1.3.6): a tenant's own limits (NULL: the settings' default), what it
# used per UTC day, and the PATCH bodies being received now on any instance.
tenant_limits = Table(
    "tenant_limits",
    metadata,
    Column("tenant_id", String(32), ForeignKey("tenants.id"), primary_key=True),
    Column("max_file_size", BigInteger, nullable=True),
    Column("open_uploads", BigInteger, nullable=True),
    Column("concurrent_patches", BigInteger, nullable=True),
    Column("bytes_per_day", BigInteger, nullable=True),
    Column("uploads_per_minute", BigInteger, nullable=True),
    Column("screening_minutes_per_day", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("requests_per_second", BigInteger, nullable=True),
)

tenant_usage = Table(
    "tenant_usage",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("bytes_received", BigInteger, nullable=False),
    Column("screening_seconds", Float, nullable=False),
)

active_patches = Table(
    "active_patches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(32), nullable=False, index=True),
    Column("upload_id", String(32), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    # A short lease, renewed while the body streams: a crashed instance's rows stop
    # counting after it, and are cleared when that node starts again.
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("node", String(200), nullable=True, index=True),
)

# Direct-upload tokens: the one upload each token created (NULL while it is being created).
upload_token_uses = Table(
    "upload_token_uses",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("tenant_id", String(32), nullable=False),
    Column("upload_id", String(32), nullable=True),
    Column("used_at", UTCDateTime(), nullable=False),
)

# Every worker process's heartbeat (workers alive, per stage, on /metrics).
workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("node", String(64), nullable=False),
    Column("stages", String(200), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("seen_at", UTCDateTime(), nullable=False),
)

# When each tenant last had a job claimed, per stage: claims go to the tenant served
# longest ago (round-robin), so one tenant's backlog never starves another's upload.
tenant_turns = Table(
    "tenant_turns",
    metadata,
    Column("tenant_id", String(32), primary_key=True),
    Column("stage", String(20), primary_key=True),
    Column("last_claimed_at", UTCDateTime(), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id"), primary_key=True),
    Column("verdict", String(10), nullable=False),
    Column("policy_id", String(60), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("body", JSON, nullable=False),  # clauses, hits, sampling plan, models, evidence
    Column("created_at", UTCDateTime(), nullable=False),
    # The bytes and what screened them: a later upload of the same bytes under the same
    # key takes this verdict without decoding (Screener.key).
    Column("content_sha256", String(64), nullable=True),
    Column("screened_with", String(64), nullable=True),
    Index("ix_decisions_content_sha256", "content_sha256"),
)

tenant_thresholds = Table(
    "tenant_thresholds",
    metadata,
    Column("tenant_id", String(32), ForeignKey("tenants.id"), primary_key=True),
    Column("label", String(120), primary_key=True),  # "detector:label" from the policy
    Column("review_at", Float, nullable=False),
    Column("block_at", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# What the destination store holds for an upload: its source and each delivered rendition.
stored_objects = Table(
    "stored_objects",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id"), primary_key=True),
    Column("name", String(40), primary_key=True),  # "source" or the rendition name
    Column("key", String(400), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("stored_at", UTCDateTime(), nullable=False),
)

# Clause 4.3: proof that every transcode result was destroyed, and whether it was delivered.
release_receipts = Table(
    "release_receipts",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id"), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("released_at", UTCDateTime(), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("tenant_id", String(32), ForeignKey("tenants.id"), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(128), nullable=False),  # HMAC key: must be readable to sign
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Events, written in the transaction of the state change they announce; delivered to the
# tenant's webhook (if any) and readable through the pull API until acknowledged.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False),
    Column("upload_id", String(32), nullable=True),
    Column("type", String(40), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # webhook delivery: pending until delivered_at, or given_up_at after the retry window
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("given_up_at", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("acked_at", UTCDateTime(), nullable=True),  # pull API
    Index("ix_outbox_tenant_id_id", "tenant_id", "id"),
    Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
)

# Human review: one row per item a reviewer must decide (first review, 二审, appeal,
# escalation). Claimed under a lease; an abandoned lease puts the item back in the queue.
review_items = Table(
    "review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("tenant_id", String(32), nullable=False),
    Column("kind", String(20), nullable=False),  # first | second | appeal | escalation
    Column("state", String(20), nullable=False),  # open | decided
    Column("clauses", JSON, nullable=False),  # the clause ids that fired
    Column("severity", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("parent_id", Integer, nullable=True),  # the item a second review checks
    Column("excluded", JSON, nullable=False),  # reviewers who may not take this item
    Column("overturns_block", Boolean, nullable=False, server_default="0"),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("media_token", String(64), nullable=True),  # lets the lease holder's <video> in
    Column("decided_by", String(64), nullable=True),
    Column("decision", String(10), nullable=True),
    Column("decision_clauses", JSON, nullable=True),
    Column("reason", Text, nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("overdue_alerted_at", UTCDateTime(), nullable=True),
    Index("ix_review_items_open_due", "state", "due_at"),
    # The queue's counts and age read these instead of scanning every item.
    Index("ix_review_items_open_created", "state", "created_at"),
    Index("ix_review_items_lease", "lease_expires_at"),
)

# Append-only: every claim, release, decision, second review and appeal.
review_audit = Table(
    "review_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, nullable=False, index=True),
    Column("upload_id", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(20), nullable=False),
    Column("detail", JSON, nullable=False),
)

appeals = Table(
    "appeals",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id"), primary_key=True),  # one each
    Column("statement", Text, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


banks = Table(
    "banks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("item", String(32), nullable=False),
    Column("owner_tenant", String(32), ForeignKey("tenants.id"), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("max_distance", Integer, nullable=False),
    Column("min_matched_s", Float, nullable=False),
    Column("min_frames", Integer, nullable=False),
    Column("version", Integer, nullable=False),  # bumped by every change of its entries
    Column("created_at", UTCDateTime(), nullable=False),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank", String(64), ForeignKey("banks.name"), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("upload_id", String(32), nullable=True),
    Column("added_by", String(64), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("frames", Integer, nullable=False),
    UniqueConstraint("bank", "sha256", name="uq_bank_entries_bank_sha256"),
)

bank_hashes = Table(
    "bank_hashes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("entry_id", Integer, ForeignKey("bank_entries.id"), nullable=False, index=True),
    Column("t_s", Float, nullable=False),
    Column("pdq", String(64), nullable=False),
    Column("quality", Integer, nullable=False),
)

bank_audio = Table(
    "bank_audio",
    metadata,
    Column("entry_id", Integer, ForeignKey("bank_entries.id"), primary_key=True),
    Column("fingerprint", JSON, nullable=False),  # Chromaprint raw items (32-bit)
)

bank_thumbnails = Table(
    "bank_thumbnails",
    metadata,
    Column("entry_id", Integer, ForeignKey("bank_entries.id"), primary_key=True),
    Column("t_s", Float, primary_key=True),
    Column("jpeg", LargeBinary, nullable=False),  # ~2-3 KB: 128 px, the reference side
)

# Who added or removed what, kept after the entry is gone.
bank_audit = Table(
    "bank_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank", String(64), nullable=False, index=True),
    Column("entry_id", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("detail", JSON, nullable=False),
)
