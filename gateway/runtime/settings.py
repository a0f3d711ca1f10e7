"""One typed settings object. Precedence: constructor > VODGATE_* environment > TOML > defaults.

Only this module reads the environment. Tests build `Settings(...)` directly.
"""

from __future__ import annotations

import hashlib
import socket
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.domain.errors import ConfigError
from gateway.domain.webhook_urls import parse_networks

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MiB = 1024**2
GiB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VODGATE_", extra="forbid", frozen=True)

    data_dir: Path = Path("./var")  # everything the embedded default keeps; created on start
    database_url: str | None = None  # default: sqlite+aiosqlite:///<data_dir>/vodgate.db
    # Where complete uploads wait for screening: this node's disk, or (scale-out) a quarantine
    # bucket that the receiving node hands each complete upload to, read by any worker.
    staging: Literal["local", "s3"] = "local"
    # This node's name, for bytes only it holds (local staging). Default: the host name and
    # a digest of the data directory, so two instances on one host never share a name.
    node_id: str | None = Field(default=None, max_length=64)
    destination: Literal["local", "s3"] = "local"
    host: str = "127.0.0.1"
    port: int = 8080
    policies_dir: Path = PROJECT_ROOT / "policies"
    models_dir: Path = PROJECT_ROOT / "models"  # one folder per model, each with manifest.yaml
    sample_interval_s: float = 2.0  # seconds; the guaranteed maximum gap between sampled frames
    # Text screening: OCR of frames (PP-OCRv4), QR codes, subtitle tracks, declared titles,
    # matched against policies/keywords/*.txt and policies/domains/*.txt.
    ocr: bool = True  # off: no OCR (keyword lists still read subtitles, titles and QR codes)
    ocr_threads: int = Field(default=2, ge=1, le=64)
    # Every frame sampled at this step goes through text detection (the image models still
    # see one per VODGATE_SAMPLE_INTERVAL_S); distinct text regions are recognised once each,
    # at most this many per minute of video (past it: coverage partial, the policy's
    # on_overload decides); detection runs with the frame's short side at this many pixels
    # (the full text frame where small text must be found).
    ocr_text_step_s: float = Field(default=1.0, gt=0, le=1.0)
    ocr_regions_per_minute: int = Field(default=120, ge=1)
    ocr_det_side: int = Field(default=256, ge=96, le=1080)
    text_frame_side: int = Field(default=960, ge=256, le=1920)  # long side of frames OCR reads
    screening_workers: int = Field(default=1, ge=0)  # in-process screening workers (0: none)
    # Cores one screening may use: decoders at once, OCR and model threads (0: this machine's
    # all). A fleet of worker processes gives each one core, so N workers use N cores.
    screening_cores: int = Field(default=0, ge=0)
    job_lease_s: float = 900.0  # seconds a claimed job is held before another worker may take it
    # Jobs of one stage one tenant may have running at once across every worker (0: no
    # limit); with round-robin claims, one tenant's backlog never starves another's upload.
    screening_tenant_concurrency: int = Field(default=0, ge=0)
    # Seconds a stopping worker (SIGTERM) lets its running jobs finish before handing them
    # back to the queue for another worker.
    worker_stop_grace_s: float = Field(default=20.0, ge=0)
    worker_heartbeat_s: float = Field(default=10.0, gt=0)  # seconds between "alive" marks
    # PostgreSQL: connections kept for upload locks, one per PATCH in flight on this instance.
    upload_lock_pool_size: int = Field(default=64, ge=1)

    tus_max_size: int = 20 * GiB  # bytes; Tus-Max-Size, larger Upload-Length answers 413
    # Fair use (clause 3.1.3.6): each tenant's default limits (`vodgate tenant limits`
    # overrides them per tenant). Admission at creation, enforcement per PATCH; 429 with
    # Retry-After (413 for the size).
    quota_max_file_size: int | None = Field(default=None, gt=0)  # default: tus_max_size
    quota_open_uploads: int = Field(default=1000, gt=0)  # incomplete uploads at once
    quota_concurrent_patches: int = Field(default=100, gt=0)  # PATCH bodies at once
    quota_bytes_per_day: int = Field(default=10 * 1024 * GiB, gt=0)  # received per UTC day
    quota_uploads_per_minute: int = Field(default=600, gt=0)  # creations in any 60 s
    quota_screening_minutes_per_day: int = Field(default=100_000, gt=0)
    # Requests of every kind per tenant and second, on each instance (bursts of 2 s worth):
    # one tenant's flood cannot take the database writer from the others.
    quota_requests_per_second: int = Field(default=200, gt=0)
    # A PATCH that does not end the upload must bring at least this many bytes (declared in
    # Content-Length; tiny appends cost a writer round trip each). OPTIONS says it.
    min_patch_bytes: int = Field(default=64 * 1024, ge=0)
    # Seconds a PATCH in flight counts against concurrent_patches if its instance dies; the
    # lease is renewed while the body streams, and a restarted node clears its own.
    patch_lease_s: float = Field(default=30.0, gt=0)
    upload_expiry_s: int = 24 * 3600  # seconds an incomplete upload lives after its last PATCH
    expiry_sweep_interval_s: float = 60.0  # seconds between sweeps of expired uploads
    # Seconds a direct-upload token lives, and what each refresh gives it (at most 1 h).
    upload_token_ttl_s: int = Field(default=900, gt=0, le=3600)
    # Seconds a playback link works (an S3 presigned GET keeps working that long even after
    # a later block or a suspension; the gateway's own links are checked at each fetch).
    playback_link_ttl_s: int = Field(default=300, gt=0, le=3600)
    metadata_max_bytes: int = 16 * 1024  # bytes of Upload-Metadata header accepted
    # Bytes gathered before one write(2) in a worker thread: larger means fewer thread hops.
    write_batch_bytes: int = 256 * 1024
    fsync: bool = True  # fdatasync staged bytes before acknowledging an offset
    # Seconds a request body may stay silent before the PATCH ends: what arrived is kept and
    # its offset committed, and the upload's lock is freed (a vanished client can resume).
    body_idle_timeout_s: float = Field(default=30.0, gt=0)
    # A long PATCH body is made durable and its offset recorded every this many bytes or
    # seconds, whichever comes first, so a crash loses at most one interval (0: off).
    checkpoint_bytes: int = Field(default=64 * MiB, ge=0)
    checkpoint_interval_s: float = Field(default=10.0, ge=0)
    accesslog_retention_days: int = Field(default=60, ge=60)  # clause 3.1.8: at least 60 days
    accesslog_flush_interval_s: float = 0.05  # seconds; the writer batches rows per transaction
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For is believed
    # When set, GET /metrics answers only `Authorization: Bearer <this>` (default: open).
    metrics_token: SecretStr | None = None
    # Browser origins (scheme://host[:port]) allowed to call /files/ and the token refresh
    # (tus-js-client, Uppy); default none; ["*"] allows any. Keys and tokens go in the
    # Authorization header, never cookies, so no credentialed CORS is needed.
    cors_origins: tuple[str, ...] = ()
    # Seconds API keys and licence registries are cached per process; a change made by the
    # CLI or another process is seen after at most this long. 0 reads the database each time.
    registry_cache_ttl_s: float = 5.0

    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_staging_bucket: str | None = None
    s3_destination_bucket: str | None = None
    s3_part_size: int = Field(default=16 * MiB, ge=5 * MiB)  # bytes; larger files go multipart

    delivery_workers: int = Field(default=1, ge=0)  # in-process forwarding/transcode workers
    delivery_retry_base_s: float = 5.0  # seconds; backoff doubles per failed attempt, max 5 min
    # Rendition heights (H.264/AAC MP4); taller than the source are skipped (never upscale).
    renditions: tuple[int, ...] = (720, 480)
    hls: bool = False  # also deliver HLS (segments per rendition and a master playlist)
    # Seconds per HLS segment; renditions have a keyframe every 2 s, so use a multiple of 2.
    hls_segment_s: int = Field(default=6, ge=2, le=60, multiple_of=2)
    # Seconds transcode results may wait for delivery; afterwards they are destroyed anyway
    # and recorded as undelivered (clause 4.3).
    transcode_result_deadline_s: float = 24 * 3600.0
    # Seconds between checks of account standing (clause 7.3.3: suspension 24 h after
    # arrears, termination and purge 15 days later), applied on time even if nobody calls.
    account_upkeep_interval_s: float = Field(default=60.0, gt=0)
    review_lease_s: float = 600.0  # seconds a reviewer holds a claimed item (renewable)
    # Seconds the staged file of a rejected upload is kept as evidence, then destroyed.
    review_evidence_retention_s: float = 30 * 24 * 3600.0
    review_sla_check_s: float = 30.0  # seconds between SLA checks (gauges, overdue alerts)
    # The tenant (the operators' own) whose webhook and event feed get review.overdue.
    review_alert_tenant_id: str | None = None
    webhook_timeout_s: float = 10.0  # seconds for one delivery attempt
    webhook_retry_base_s: float = 5.0  # seconds; doubles per attempt, capped at 1 h
    webhook_retry_window_s: float = 48 * 3600.0  # seconds an event is retried before giving up
    # CIDRs webhooks may be delivered to although they are loopback, private or link-local
    # (an operator's own receivers; the tests' loopback one). Default: none.
    webhook_allowed_networks: tuple[str, ...] = ()
    # Comma-separated crash points for the crash-recovery tests (services/failpoints.py);
    # empty in production.
    failpoints: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = init_settings.init_kwargs.pop("_config_file", None)  # type: ignore[attr-defined]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _cidrs(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(cidrs)  # a ValueError names the bad one
        return cidrs

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        return normalise_origins(origins)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, data_dir: Path) -> Path:
        # Resolved once here, so no path below it touches the disk on the event loop.
        return data_dir.resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'vodgate.db'}"

    @property
    def node(self) -> str:
        if self.node_id:
            return self.node_id
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:8]
        return f"{socket.gethostname()[:50]}-{digest}"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @model_validator(mode="after")
    def _s3_destination_named(self) -> Settings:
        if self.destination == "s3" and not self.s3_destination_bucket:
            raise ValueError("destination = s3 needs s3_destination_bucket")
        if self.staging == "s3" and not (self.s3_staging_bucket and self.destination == "s3"):
            raise ValueError("staging = s3 needs s3_staging_bucket and destination = s3")
        return self

    @property
    def objects_dir(self) -> Path:
        """The destination store of the embedded default (`destination = "local"`)."""
        return self.data_dir / "objects"

    @property
    def results_dir(self) -> Path:
        """Transcode results, destroyed once delivered (clause 4.3)."""
        return self.data_dir / "results"

    @property
    def evidence_dir(self) -> Path:
        """Evidence thumbnails, one folder per upload."""
        return self.data_dir / "evidence"


def normalise_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """Origins as browsers send them (lower case, no default port, no path), or a lone "*".
    Never "null": the opaque origin of every sandboxed page and local file."""
    if "*" in origins:
        if len(origins) > 1:
            raise ValueError("cors_origins: '*' allows every origin; list it alone")
        return origins
    normalised = []
    for origin in origins:
        parts = urlsplit(origin.lower())
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            port_ok = False
        bare = not (parts.path or parts.query or parts.fragment or "@" in parts.netloc)
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or not bare:
            raise ValueError(f"cors_origins: {origin!r} is not an origin (scheme://host[:port])")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        default = {"http": 80, "https": 443}[parts.scheme]
        port = "" if parts.port in (None, default) else f":{parts.port}"
        normalised.append(f"{parts.scheme}://{host}{port}")
    return tuple(normalised)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (optional), the environment and explicit overrides."""
    if config_file is not None:
        try:
            tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        overrides["_config_file"] = config_file
    try:
        return Settings(**overrides)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


class ClientSettings(BaseSettings):
    """Where `vodgate upload` keeps what it needs to resume (the XDG cache directory)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    xdg_cache_home: Path | None = None  # XDG_CACHE_HOME; default ~/.cache

    @property
    def resume_store(self) -> Path:
        base = self.xdg_cache_home or Path.home() / ".cache"
        return base / "vodgate" / "resume.json"
