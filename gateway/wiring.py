"""The composition root: the one place that picks concrete adapters and builds the graph."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Settings
from gateway.db.accesslog import AccessLogRepository, AccessLogWriter
from gateway.db.engine import create_engine
from gateway.db.jobs import JobRepository
from gateway.db.migrate import upgrade_to_head
from gateway.db.tenants import LicenceRepository, TenantRepository, ThresholdRepository
from gateway.db.uploads import UploadRepository
from gateway.domain.licences import LicenceRules
from gateway.domain.ports import Clock, SystemClock
from gateway.ingest import IngestService
from gateway.metrics import Metrics
from gateway.policies import PROHIBITED_CONTENT_FILE, load_content_policy, load_licence_rules
from gateway.storage.local_staging import LocalStagingStore

if TYPE_CHECKING:  # the screening graph (numpy, onnxruntime) loads only where it runs
    from gateway.pipeline.runner import ScreeningWorker
    from gateway.pipeline.screening import Screener


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
    uploads = UploadRepository(engine)
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
    ingest.on_received = jobs_ready.set
    return Services(
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
        licence_rules=rules,
        staging=staging,
        ingest=ingest,
    )


def build_workers(services: Services) -> list[ScreeningWorker]:
    if services.screener is None:
        return []
    from gateway.pipeline.runner import ScreeningWorker

    settings = services.settings
    return [
        ScreeningWorker(
            jobs=services.jobs,
            uploads=services.uploads,
            licences=services.licences,
            thresholds=services.thresholds,
            rules=services.licence_rules,
            screener=services.screener,
            staging_path=services.staging.path,
            evidence_dir=settings.evidence_dir,
            clock=services.clock,
            metrics=services.metrics,
            lease=dt.timedelta(seconds=settings.job_lease_s),
            wake=services.jobs_ready,
        )
        for _ in range(settings.screening_workers)
    ]


async def close_services(services: Services) -> None:
    await services.engine.dispose()


def build_screener(settings: Settings) -> Screener:
    """The screening graph: hardened probe and sampler, every enabled model, the policy.

    Fails (ConfigError) when a model file, its IO, or a policy label does not check out.
    """
    from gateway.detectors.registry import load_classifiers
    from gateway.media.probe import FfprobeProber
    from gateway.media.sampler import FfmpegFrameSampler, SamplingPlan
    from gateway.pipeline.screening import Screener

    policy = load_content_policy(settings.policies_dir / PROHIBITED_CONTENT_FILE)
    plan = SamplingPlan(interval_s=settings.sample_interval_s)
    classifiers = load_classifiers(settings.models_dir, policy, plan.frame_size)
    return Screener(FfprobeProber(), FfmpegFrameSampler(), classifiers, policy, plan)
