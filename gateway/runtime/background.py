"""The background graph: every loop a `serve` or `worker` process runs, under one
supervisor: screening and delivery workers (each stage picked here), webhooks, sweeps,
retention and the review SLA. Part of the composition root: it names adapters."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

from gateway.adapters.db.workers import SqlWorkerRegistry
from gateway.domain.renditions import rendition_for_height
from gateway.domain.webhook_urls import parse_networks
from gateway.runtime.supervisor import Supervisor
from gateway.runtime.wiring import Services
from gateway.services.delivery.context import DeliveryContext
from gateway.services.fleet import Fleet
from gateway.services.leased_worker import LeasedWorker

if TYPE_CHECKING:  # the screening graph (numpy, onnxruntime) loads only where it runs
    from gateway.services.delivery.worker import DeliveryWorker
    from gateway.services.screening_worker import ScreeningWorker

logger = logging.getLogger(__name__)

# How often retention of the access log is enforced (seconds).
ACCESSLOG_PRUNE_INTERVAL_S = 3600.0
# How often staged bytes without an upload (a crash mid-creation) are looked for (seconds).
ORPHAN_SWEEP_INTERVAL_S = 600.0
# How often rejected uploads past their evidence retention are swept (seconds).
REJECTED_SWEEP_INTERVAL_S = 3600.0


def build_delivery_workers(services: Services, count: int | None = None) -> list[DeliveryWorker]:
    """Forward and transcode everywhere; the quarantine hand-off where staging is s3."""
    from gateway.adapters.media.transcode import FfmpegTranscoder
    from gateway.services.delivery.forward import ForwardStage
    from gateway.services.delivery.quarantine import QuarantineStage
    from gateway.services.delivery.sources import (
        ForwardSource,
        QuarantineSource,
        StagedFileSource,
    )
    from gateway.services.delivery.transcode import TranscodeStage
    from gateway.services.delivery.worker import DeliveryStage, DeliveryWorker

    settings = services.settings
    context = DeliveryContext(
        unit_of_work=services.unit_of_work,
        uploads=services.uploads,
        decisions=services.decisions,
        stored=services.stored,
        clock=services.clock,
        metrics=services.metrics,
    )
    renditions = tuple(rendition_for_height(h) for h in sorted(settings.renditions, reverse=True))
    quarantine = services.quarantine
    source: ForwardSource = (
        StagedFileSource(services.staged)
        if quarantine is None
        else QuarantineSource(services.stored, settings.s3_staging_bucket or "")
    )
    stages: list[DeliveryStage] = [
        ForwardStage(
            context, source, services.destination, services.staged, services.delivery_ready.set
        ),
        TranscodeStage(
            context,
            services.destination,
            services.staged,
            FfmpegTranscoder(),
            renditions,
            settings.results_dir,
            dt.timedelta(seconds=settings.transcode_result_deadline_s),
            settings.hls_segment_s if settings.hls else 0,
        ),
    ]
    if services.sealing is not None:
        stages.insert(0, QuarantineStage(context, services.sealing, services.jobs_ready.set))

    async def prepare_stores() -> None:
        await services.destination.store.prepare()
        await services.staged.prepare()

    return [
        DeliveryWorker(
            jobs=services.jobs,
            context=context,
            stages=stages,
            prepare_stores=prepare_stores,
            lease=dt.timedelta(seconds=settings.job_lease_s),
            wake=services.delivery_ready,
            retry_base_s=settings.delivery_retry_base_s,
            node=settings.node,
        )
        for _ in range(settings.delivery_workers if count is None else count)
    ]


def build_screening_workers(services: Services) -> list[ScreeningWorker]:
    if services.screener is None:
        return []
    from gateway.services.screening_worker import ScreeningWorker

    settings = services.settings
    return [
        ScreeningWorker(
            jobs=services.jobs,
            unit_of_work=services.unit_of_work,
            uploads=services.uploads,
            licences=services.licences,
            thresholds=services.thresholds,
            rules=services.licence_rules,
            screener=services.screener,
            decisions=services.decisions,
            staged=services.staged,
            evidence_dir=settings.evidence_dir,
            clock=services.clock,
            metrics=services.metrics,
            lease=dt.timedelta(seconds=settings.job_lease_s),
            wake=services.jobs_ready,
            on_approved=services.delivery_ready.set,
            node=settings.node,
            on_screened=services.quotas.screened,
        )
        for _ in range(settings.screening_workers)
    ]


def build_background(services: Services) -> Supervisor:
    """Every loop a serve or worker process runs, each sized by settings."""
    from gateway.adapters.net.webhook_destinations import guarded_session
    from gateway.services.webhook_dispatch import WebhookDispatcher

    settings = services.settings
    supervisor = Supervisor()
    writer = services.accesslog
    # Requests have finished by the time it stops: it writes what they logged first.
    supervisor.add("accesslog-writer", writer.run, before_stop=writer.drain)
    supervisor.every(
        "expiry-sweeper", settings.expiry_sweep_interval_s, services.ingest.sweeper.sweep_expired
    )

    async def sweep_orphans() -> int:
        return await services.ingest.sweeper.sweep_orphans(dt.timedelta(minutes=10))

    supervisor.every("orphan-sweeper", ORPHAN_SWEEP_INTERVAL_S, sweep_orphans)

    async def prune_access_log() -> int:
        keep = dt.timedelta(days=settings.accesslog_retention_days)
        return await services.accesslog_repository.prune(services.clock.now() - keep)

    supervisor.every("accesslog-pruner", ACCESSLOG_PRUNE_INTERVAL_S, prune_access_log)
    pipeline: list[LeasedWorker] = [
        *build_screening_workers(services),
        *build_delivery_workers(services),
    ]
    for i, worker in enumerate(pipeline):
        worker.on_hand_back = lambda stage: services.metrics.jobs_handed_back.labels(stage).inc()
        supervisor.add(f"{worker.actor}-{i}", worker.run)
    if pipeline:
        # First of the stops: no new claims, and the jobs in hand get the grace to finish.
        supervisor.before_all_stops(
            "pipeline-drain", lambda: _drain(pipeline, settings.worker_stop_grace_s)
        )
    fleet = Fleet(
        registry=SqlWorkerRegistry(services.engine),
        jobs=services.jobs,
        metrics=services.metrics,
        clock=services.clock,
        node=settings.node,
        stages=sorted({stage for worker in pipeline for stage in worker.stages}),
        interval_s=settings.worker_heartbeat_s,
    )
    supervisor.every("fleet", settings.worker_heartbeat_s, fleet.beat)
    supervisor.before_all_stops("fleet-leave", fleet.leave)
    allowed = parse_networks(settings.webhook_allowed_networks)
    dispatcher = WebhookDispatcher(
        events=services.events,
        clock=services.clock,
        metrics=services.metrics,
        timeout_s=settings.webhook_timeout_s,
        retry_base_s=settings.webhook_retry_base_s,
        retry_window=dt.timedelta(seconds=settings.webhook_retry_window_s),
        open_session=lambda timeout: guarded_session(timeout, allowed),
        allowed_networks=allowed,
    )
    supervisor.add("webhooks", dispatcher.run)
    review = services.review.upkeep
    supervisor.every("review-sla", settings.review_sla_check_s, review.watch_sla)
    supervisor.every("account-upkeep", settings.account_upkeep_interval_s, services.accounts.upkeep)
    supervisor.every(
        "rejected-sweeper", REJECTED_SWEEP_INTERVAL_S, services.review.upkeep.sweep_rejected
    )
    return supervisor


async def _drain(workers: list[LeasedWorker], grace_s: float) -> None:
    """Stop claiming; wait up to `grace_s` for the jobs in hand. What is still running then
    is cancelled by the supervisor and handed back to the queue."""
    for worker in workers:
        worker.stop_claiming()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(w.idle() for w in workers)), grace_s)
    busy = sum(w.busy for w in workers)
    if busy:
        logger.info("pipeline.handing_back", extra={"jobs": busy, "grace_s": grace_s})
