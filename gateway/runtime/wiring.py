"""The composition root: the one place that picks concrete adapters and builds the graph.

open_services       adapters, repositories and the request-path services
screening_wiring    the screener (probe, sampler, detectors), banks, policy coverage
build_background    the supervisor with every loop a serve or worker process runs
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.access_log import AccessLogRepository
from gateway.adapters.db.accounts import SqlAccounts
from gateway.adapters.db.advisory_locker import AdvisoryLocker, lock_engine
from gateway.adapters.db.banks import SqlBankStore
from gateway.adapters.db.decisions import DecisionRepository
from gateway.adapters.db.engine import create_engine
from gateway.adapters.db.jobs import JobRepository
from gateway.adapters.db.migrate import upgrade_to_head
from gateway.adapters.db.outages import is_database_outage
from gateway.adapters.db.outbox import EventRepository, WebhookRepository
from gateway.adapters.db.quotas import SqlQuotas
from gateway.adapters.db.review_items import ReviewRepository
from gateway.adapters.db.stored_objects import StoredObjectRepository
from gateway.adapters.db.tenants import LicenceRepository, TenantRepository, ThresholdRepository
from gateway.adapters.db.transaction import SqlUnitOfWork
from gateway.adapters.db.upload_tokens import SqlTokenUses
from gateway.adapters.db.uploads import UploadRepository
from gateway.adapters.in_process_locker import InProcessLocker
from gateway.adapters.policy_files import (
    PROHIBITED_CONTENT_FILE,
    load_content_policy,
    load_licence_rules,
)
from gateway.adapters.storage.local_staging import LocalStagingStore
from gateway.adapters.storage.staged_copies import LocalStagedCopies, QuarantineCopies
from gateway.adapters.system_clock import SystemClock
from gateway.domain.jobs import QUARANTINE, FirstJob
from gateway.domain.licences import LicenceRules
from gateway.domain.policy import Policy
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.locking import Locker
from gateway.domain.ports.storage import (
    ObjectStore,
    SealableStaging,
    StagedCopies,
    StagingStore,
)
from gateway.domain.quotas import Limits
from gateway.domain.webhook_urls import parse_networks
from gateway.runtime.settings import Settings
from gateway.runtime.store_wiring import build_object_store, prepare_stores, s3_staging, s3_store
from gateway.services import failpoints
from gateway.services.access_log_writer import AccessLogWriter
from gateway.services.accounts import AccountService
from gateway.services.delivery.destination import ApprovedOnlyDestination
from gateway.services.ingest import IngestService
from gateway.services.metrics import Metrics
from gateway.services.playback import PlaybackService
from gateway.services.quotas import QuotaService
from gateway.services.review import ReviewService
from gateway.services.tenant_purge import TenantPurge
from gateway.services.upload_tokens import UploadTokenService
from gateway.services.views import UploadViews

if TYPE_CHECKING:  # the screening graph (numpy, onnxruntime) loads only where it runs
    from gateway.services.banks import BankService
    from gateway.services.screener import Screener


logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    metrics: Metrics
    engine: AsyncEngine
    unit_of_work: SqlUnitOfWork
    tenants: TenantRepository
    licences: LicenceRepository
    uploads: UploadRepository
    decisions: DecisionRepository
    stored: StoredObjectRepository
    accesslog_repository: AccessLogRepository
    staging: StagingStore
    ingest: IngestService
    accesslog: AccessLogWriter
    jobs: JobRepository
    licence_rules: LicenceRules
    thresholds: ThresholdRepository
    # Set when an upload completes here; screening workers in this process wake on it.
    jobs_ready: asyncio.Event
    # Set when an upload is approved here; delivery workers in this process wake on it.
    delivery_ready: asyncio.Event
    objects: ObjectStore
    destination: ApprovedOnlyDestination
    events: EventRepository
    webhooks: WebhookRepository
    policy: Policy
    review: ReviewService
    staged: StagedCopies
    views: UploadViews
    accounts: AccountService
    quotas: QuotaService
    upload_tokens: UploadTokenService
    playback: PlaybackService
    # Built by the serve/worker entry points (models load and are checked before listening).
    screener: Screener | None = None
    # staging = s3: the quarantine bucket the receiving node hands complete uploads to.
    quarantine: ObjectStore | None = None
    # staging = s3: seals a complete upload's multipart upload into the quarantine bucket.
    sealing: SealableStaging | None = None
    # Hash banks: reviewers' "add to bank" (built by serve off the loop: imports load).
    banks: BankService | None = None


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Build every adapter, check the policy files and bring the schema to head."""
    failpoints.arm(settings.failpoints.split(","))
    clock = clock or SystemClock()
    rules = await asyncio.to_thread(load_licence_rules, settings.policies_dir)
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    # A SQLite URL is made absolute on the disk: off the loop.
    engine = await asyncio.to_thread(create_engine, settings.resolved_database_url)
    await upgrade_to_head(engine)
    metrics = Metrics()
    unit_of_work = SqlUnitOfWork(engine)
    quarantined = settings.staging == "s3"
    # boto3 reads its service models from disk when a client is made: off the loop.
    objects = await asyncio.to_thread(build_object_store, settings)
    quarantine = (
        await asyncio.to_thread(s3_store, settings, settings.s3_staging_bucket or "")
        if quarantined
        else None
    )
    local_staging = LocalStagingStore(settings.staging_dir, fsync=settings.fsync)
    await local_staging.prepare()
    # staging = s3: bytes go straight to a multipart upload any instance can append to,
    # sealed into the quarantine bucket when complete; else this node's disk holds them.
    await prepare_stores([objects] if quarantine is None else [objects, quarantine])
    sealing = None if quarantine is None else s3_staging(quarantine)
    staging: StagingStore = local_staging if sealing is None else sealing
    uploads = UploadRepository(
        engine,
        FirstJob(QUARANTINE) if quarantined else FirstJob(),
        # Counted in against the limits, token spent, not committed: nothing acknowledged.
        before_commit=lambda: failpoints.failpoint("ingest.admitted"),
    )
    licences = LicenceRepository(engine, settings.registry_cache_ttl_s)
    accesslog = AccessLogRepository(engine)
    jobs_ready = asyncio.Event()
    delivery_ready = asyncio.Event()
    quotas = QuotaService(
        store=SqlQuotas(engine, settings.registry_cache_ttl_s),
        defaults=default_limits(settings),
        clock=clock,
        metrics=metrics,
        patch_lease=dt.timedelta(seconds=settings.patch_lease_s),
        node=settings.node,
    )
    ingest = IngestService(
        uploads=uploads,
        licences=licences,
        staging=staging,
        locker=await _locker(settings, metrics),
        unit_of_work=unit_of_work,
        rules=rules,
        clock=clock,
        metrics=metrics,
        max_size=settings.tus_max_size,
        expiry=dt.timedelta(seconds=settings.upload_expiry_s),
        write_batch_bytes=settings.write_batch_bytes,
        checkpoint_bytes=settings.checkpoint_bytes,
        checkpoint_s=settings.checkpoint_interval_s,
        node=None if quarantined else settings.node,
        quotas=quotas,
        min_patch_bytes=settings.min_patch_bytes,
    )
    # A completed upload wakes whoever takes it next here: screening, or the quarantine hand-off.
    ingest.appender.on_received = delivery_ready.set if quarantined else jobs_ready.set
    staged: StagedCopies = (
        QuarantineCopies(quarantine, staging, settings.data_dir / "work")
        if quarantine is not None
        else LocalStagedCopies(local_staging)
    )
    policy = await asyncio.to_thread(
        load_content_policy, settings.policies_dir / PROHIBITED_CONTENT_FILE
    )
    decisions = DecisionRepository(engine)
    stored = StoredObjectRepository(engine)
    reviews = ReviewRepository(engine)
    review = ReviewService(
        reviews=reviews,
        unit_of_work=unit_of_work,
        uploads=uploads,
        decisions=decisions,
        policy=policy,
        staged=staged,
        clock=clock,
        metrics=metrics,
        lease=dt.timedelta(seconds=settings.review_lease_s),
        evidence_retention=dt.timedelta(seconds=settings.review_evidence_retention_s),
        alert_tenant_id=settings.review_alert_tenant_id,
        on_approved=delivery_ready.set,
    )
    purge = TenantPurge(
        uploads=uploads,
        unit_of_work=unit_of_work,
        staging=staging,
        staged=staged,
        destination=objects,
        banks=SqlBankStore(engine),
        evidence_dir=settings.evidence_dir,
        results_dir=settings.results_dir,
        clock=clock,
    )
    accounts = AccountService(
        accounts=SqlAccounts(engine),
        uploads=uploads,
        unit_of_work=unit_of_work,
        purge=purge,
        clock=clock,
        upload_expiry=dt.timedelta(seconds=settings.upload_expiry_s),
    )
    tenants = TenantRepository(engine, settings.registry_cache_ttl_s)
    upload_tokens = UploadTokenService(
        keys=tenants,
        uses=SqlTokenUses(engine),
        clock=clock,
        default_ttl=dt.timedelta(seconds=settings.upload_token_ttl_s),
    )
    playback = PlaybackService(
        uploads=uploads,
        stored=stored,
        store=objects,
        clock=clock,
        ttl=dt.timedelta(seconds=settings.playback_link_ttl_s),
        # Signs the links this gateway serves itself (local destination); a restart
        # invalidates them, which their short life allows.
        signing_key=secrets.token_bytes(32),
    )
    views = UploadViews(
        uploads=uploads,
        decisions=decisions,
        stored=stored,
        reviews=reviews,
        evidence_dir=settings.evidence_dir,
    )
    services = Services(
        settings=settings,
        clock=clock,
        metrics=metrics,
        engine=engine,
        unit_of_work=unit_of_work,
        tenants=tenants,
        licences=licences,
        uploads=uploads,
        decisions=decisions,
        stored=stored,
        accesslog_repository=accesslog,
        staging=staging,
        ingest=ingest,
        accesslog=AccessLogWriter(accesslog, metrics),
        jobs=JobRepository(
            engine,
            settings.screening_tenant_concurrency,
            lambda stage: metrics.lease_expiries.labels(stage).inc(),
        ),
        licence_rules=rules,
        thresholds=ThresholdRepository(engine),
        jobs_ready=jobs_ready,
        delivery_ready=delivery_ready,
        objects=objects,
        destination=ApprovedOnlyDestination(objects, uploads),
        events=EventRepository(engine),
        webhooks=WebhookRepository(engine),
        policy=policy,
        review=review,
        staged=staged,
        views=views,
        accounts=accounts,
        quotas=quotas,
        upload_tokens=upload_tokens,
        playback=playback,
        quarantine=quarantine,
        sealing=sealing,
    )
    return services


async def _locker(settings: Settings, metrics: Metrics) -> Locker:
    """PostgreSQL: an advisory lock per upload, held across every instance; SQLite (one
    instance by nature): a lock in this process."""
    url = settings.resolved_database_url
    if not url.startswith("postgresql"):
        return InProcessLocker()
    engine = await asyncio.to_thread(lock_engine, url, settings.upload_lock_pool_size)
    return AdvisoryLocker(
        engine, metrics.lock_refusals.inc, lambda seconds: metrics.lock_wait.observe(seconds)
    )


def default_limits(settings: Settings) -> Limits:
    """Every tenant's fair-use limits unless overridden (clause 3.1.3.6)."""
    return Limits(
        max_file_size=settings.quota_max_file_size or settings.tus_max_size,
        open_uploads=settings.quota_open_uploads,
        concurrent_patches=settings.quota_concurrent_patches,
        bytes_per_day=settings.quota_bytes_per_day,
        uploads_per_minute=settings.quota_uploads_per_minute,
        screening_minutes_per_day=settings.quota_screening_minutes_per_day,
        requests_per_second=settings.quota_requests_per_second,
    )


def is_outage(error: BaseException) -> bool:
    """Whether a failure means a dependency is unreachable (503, retry) rather than a bug."""
    return is_database_outage(error)


@dataclass
class Registry:
    """The tenant registry alone, for `vodgate scan --tenant` (no migration, no stores)."""

    engine: AsyncEngine
    tenants: TenantRepository
    licences: LicenceRepository
    thresholds: ThresholdRepository


async def open_registry(settings: Settings) -> Registry:
    engine = await asyncio.to_thread(create_engine, settings.resolved_database_url)
    return Registry(
        engine, TenantRepository(engine), LicenceRepository(engine), ThresholdRepository(engine)
    )


async def checked_webhook_url(settings: Settings, url: str) -> str:
    """A tenant's webhook URL, refused when its host is (or resolves to) an address signed
    events must never reach."""
    from gateway.adapters.net.webhook_destinations import check_webhook_destination

    return await check_webhook_destination(url, parse_networks(settings.webhook_allowed_networks))


def licence_rules(settings: Settings) -> LicenceRules:
    """The licence rules file (clauses 3.1.10.1, 3.1.3.1); blocking: call in a thread."""
    return load_licence_rules(settings.policies_dir)


async def close_services(services: Services) -> None:
    await services.engine.dispose()


async def open_database(settings: Settings) -> AsyncEngine:
    """The configured database at the schema's head (what `vodgate scan` reads banks from)."""
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    engine = await asyncio.to_thread(create_engine, settings.resolved_database_url)
    await upgrade_to_head(engine)
    return engine
