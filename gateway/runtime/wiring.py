"""The composition root: the one place that picks concrete adapters and builds the graph."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.access_log import AccessLogRepository, AccessLogWriter
from gateway.adapters.db.engine import create_engine
from gateway.adapters.db.jobs import QUARANTINE, FirstJob, JobRepository
from gateway.adapters.db.migrate import upgrade_to_head
from gateway.adapters.db.outbox import EventRepository, WebhookRepository
from gateway.adapters.db.review_items import ReviewRepository
from gateway.adapters.db.tenants import LicenceRepository, TenantRepository, ThresholdRepository
from gateway.adapters.db.uploads import UploadRepository
from gateway.adapters.policy_files import (
    PROHIBITED_CONTENT_FILE,
    load_content_policy,
    load_licence_rules,
)
from gateway.adapters.storage.local_objects import LocalObjectStore
from gateway.adapters.storage.local_staging import LocalStagingStore
from gateway.adapters.storage.staged_copies import LocalStagedCopies, QuarantineCopies, StagedCopies
from gateway.domain.licences import LicenceRules
from gateway.domain.policy import Policy
from gateway.domain.ports import Clock, ObjectStore, SystemClock
from gateway.runtime.settings import Settings
from gateway.services.destination import ApprovedOnlyDestination
from gateway.services.ingest import IngestService
from gateway.services.metrics import Metrics
from gateway.services.review import ReviewService

if TYPE_CHECKING:  # the screening graph (numpy, onnxruntime) loads only where it runs
    from gateway.adapters.storage.s3_objects import S3ObjectStore
    from gateway.services.delivery import DeliveryWorker
    from gateway.services.screener import Screener
    from gateway.services.screening_worker import ScreeningWorker


@dataclass
class Services:
    settings: Settings
    clock: Clock
    metrics: Metrics
    engine: AsyncEngine
    tenants: TenantRepository
    licences: LicenceRepository
    uploads: UploadRepository
    accesslog_repository: AccessLogRepository
    staging: LocalStagingStore
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
    # Built by the serve/worker entry points (models load and are checked before listening).
    screener: Screener | None = None


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Build every adapter, check the policy files and bring the schema to head."""
    clock = clock or SystemClock()
    rules = load_licence_rules(settings.policies_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    await upgrade_to_head(engine)
    metrics = Metrics()
    staging = LocalStagingStore(settings.staging_dir, fsync=settings.fsync)
    await staging.prepare()
    quarantined = settings.staging == "s3"
    uploads = UploadRepository(
        engine, FirstJob(QUARANTINE, settings.node_id) if quarantined else FirstJob()
    )
    licences = LicenceRepository(engine, settings.registry_cache_ttl_s)
    accesslog = AccessLogRepository(engine)
    jobs_ready = asyncio.Event()
    ingest = IngestService(
        uploads=uploads,
        licences=licences,
        staging=staging,
        rules=rules,
        clock=clock,
        metrics=metrics,
        max_size=settings.tus_max_size,
        expiry=dt.timedelta(seconds=settings.upload_expiry_s),
        write_batch_bytes=settings.write_batch_bytes,
    )
    delivery_ready = asyncio.Event()
    # A completed upload wakes whoever takes it next here: screening, or the quarantine hand-off.
    ingest.on_received = delivery_ready.set if quarantined else jobs_ready.set
    objects = build_object_store(settings)
    staged = build_staged_copies(settings, staging)
    policy = load_content_policy(settings.policies_dir / PROHIBITED_CONTENT_FILE)
    review = ReviewService(
        reviews=ReviewRepository(engine),
        uploads=uploads,
        policy=policy,
        staged=staged,
        clock=clock,
        metrics=metrics,
        lease=dt.timedelta(seconds=settings.review_lease_s),
        evidence_retention=dt.timedelta(seconds=settings.review_evidence_retention_s),
        alert_tenant_id=settings.review_alert_tenant_id,
        on_approved=delivery_ready.set,
    )
    return Services(
        staged=staged,
        policy=policy,
        review=review,
        objects=objects,
        destination=ApprovedOnlyDestination(objects, uploads),
        events=EventRepository(engine),
        webhooks=WebhookRepository(engine),
        settings=settings,
        clock=clock,
        metrics=metrics,
        engine=engine,
        tenants=TenantRepository(engine, settings.registry_cache_ttl_s),
        licences=licences,
        uploads=uploads,
        accesslog_repository=accesslog,
        accesslog=AccessLogWriter(accesslog, metrics),
        jobs=JobRepository(engine),
        thresholds=ThresholdRepository(engine),
        jobs_ready=jobs_ready,
        delivery_ready=delivery_ready,
        licence_rules=rules,
        staging=staging,
        ingest=ingest,
    )


def _s3_store(settings: Settings, bucket: str) -> S3ObjectStore:
    from gateway.adapters.storage.s3_objects import S3ObjectStore

    secret = settings.s3_secret_access_key
    return S3ObjectStore(
        bucket=bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=None if secret is None else secret.get_secret_value(),
        part_size=settings.s3_part_size,
    )


def build_object_store(settings: Settings) -> ObjectStore:
    if settings.destination == "s3":
        return _s3_store(settings, settings.s3_destination_bucket or "")
    return LocalObjectStore(settings.objects_dir)


def build_staged_copies(settings: Settings, staging: LocalStagingStore) -> StagedCopies:
    if settings.staging == "s3":
        store = _s3_store(settings, settings.s3_staging_bucket or "")
        return QuarantineCopies(store, staging, settings.data_dir / "work")
    return LocalStagedCopies(staging)


def build_delivery_workers(services: Services, count: int | None = None) -> list[DeliveryWorker]:
    from gateway.adapters.media.transcode import FfmpegTranscoder, rendition_for_height
    from gateway.services.delivery import DeliveryWorker

    settings = services.settings
    renditions = tuple(rendition_for_height(h) for h in sorted(settings.renditions, reverse=True))
    return [
        DeliveryWorker(
            jobs=services.jobs,
            uploads=services.uploads,
            destination=services.destination,
            staged=services.staged,
            results_dir=settings.results_dir,
            transcoder=FfmpegTranscoder(),
            renditions=renditions,
            result_deadline=dt.timedelta(seconds=settings.transcode_result_deadline_s),
            clock=services.clock,
            metrics=services.metrics,
            lease=dt.timedelta(seconds=settings.job_lease_s),
            wake=services.delivery_ready,
            retry_base_s=settings.delivery_retry_base_s,
            hls_segment_s=settings.hls_segment_s if settings.hls else 0,
            node=settings.node_id,
            on_screenable=services.jobs_ready.set,
        )
        for _ in range(settings.delivery_workers if count is None else count)
    ]


def build_workers(services: Services) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """Every background loop a serve or worker process runs, named."""
    from gateway.services.webhook_dispatch import WebhookDispatcher

    settings = services.settings
    loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        (f"screening-{i}", w.run) for i, w in enumerate(build_screening_workers(services))
    ]
    loops += [(f"delivery-{i}", w.run) for i, w in enumerate(build_delivery_workers(services))]
    dispatcher = WebhookDispatcher(
        events=services.events,
        clock=services.clock,
        metrics=services.metrics,
        timeout_s=settings.webhook_timeout_s,
        retry_base_s=settings.webhook_retry_base_s,
        retry_window=dt.timedelta(seconds=settings.webhook_retry_window_s),
    )
    loops.append(("webhooks", dispatcher.run))
    return loops


def build_screening_workers(services: Services) -> list[ScreeningWorker]:
    if services.screener is None:
        return []
    from gateway.services.screening_worker import ScreeningWorker

    settings = services.settings
    return [
        ScreeningWorker(
            jobs=services.jobs,
            uploads=services.uploads,
            licences=services.licences,
            thresholds=services.thresholds,
            rules=services.licence_rules,
            screener=services.screener,
            staged=services.staged,
            evidence_dir=settings.evidence_dir,
            clock=services.clock,
            metrics=services.metrics,
            lease=dt.timedelta(seconds=settings.job_lease_s),
            wake=services.jobs_ready,
            on_approved=services.delivery_ready.set,
        )
        for _ in range(settings.screening_workers)
    ]


async def close_services(services: Services) -> None:
    await services.engine.dispose()


def build_screener(settings: Settings) -> Screener:
    """The screening graph: hardened probe and sampler, every enabled model, the policy.

    Fails (ConfigError) when a model file, its IO, or a policy label does not check out.
    """
    from gateway.adapters.detectors.registry import load_classifiers
    from gateway.adapters.media.probe import FfprobeProber
    from gateway.adapters.media.sampler import FfmpegFrameSampler, SamplingPlan
    from gateway.services.screener import Screener

    policy = load_content_policy(settings.policies_dir / PROHIBITED_CONTENT_FILE)
    plan = SamplingPlan(interval_s=settings.sample_interval_s)
    classifiers = load_classifiers(settings.models_dir, policy, plan.frame_size)
    return Screener(FfprobeProber(), FfmpegFrameSampler(), classifiers, policy, plan)
