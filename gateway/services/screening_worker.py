"""The screening worker: claims screening jobs under a lease and carries each upload from
`received` through `screening` to `approved | review | rejected` (or `failed`), durably.

A killed worker's job is claimed again once its lease lapses and is re-run from the start
(screening is deterministic, so the verdict is the same). Failures retry with backoff; after
the last attempt the policy's on_error decides (review or block): a failure never passes.
What a tenant sees of a failure is a code; the exception text goes to the log only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.domain.decisions import DecisionRecord, ErrorRecord
from gateway.domain.errors import ClientError, LicenceRejected, MediaRefused
from gateway.domain.jobs import SCREENING, Job
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import (
    Decisions,
    JobQueue,
    LicenceRegistry,
    TenantThresholds,
    UnitOfWork,
    Uploads,
)
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.failpoints import failpoint
from gateway.services.file_digest import sha256_of
from gateway.services.leased_worker import LeasedWorker
from gateway.services.metrics import Metrics
from gateway.services.screener import Screener
from gateway.services.screening_outcomes import ScreeningOutcomes, compare_metadata
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
__all__ = ["ScreeningWorker", "compare_metadata"]

# A screening must finish within this, or it counts as a failed attempt (seconds).
SCREENING_TIMEOUT_S = 3600.0


class ScreeningWorker(LeasedWorker):
    stages = (SCREENING,)
    actor = "screening-worker"

    def __init__(
        self,
        *,
        jobs: JobQueue,
        unit_of_work: UnitOfWork,
        uploads: Uploads,
        licences: LicenceRegistry,
        thresholds: TenantThresholds,
        rules: LicenceRules,
        screener: Screener,
        decisions: Decisions,
        staged: StagedCopies,
        evidence_dir: Path,
        clock: Clock,
        metrics: Metrics,
        lease: dt.timedelta,
        wake: asyncio.Event | None = None,
        poll_interval_s: float = 2.0,
        on_approved: Callable[[], None] | None = None,
        node: str | None = None,
        on_screened: Callable[[str, float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            jobs=jobs, clock=clock, lease=lease, wake=wake, poll_interval_s=poll_interval_s
        )
        self.node = node  # local staging: this node's uploads (and any node's in S3)
        self._uow = unit_of_work
        self._uploads = uploads
        self._licences = licences
        self._thresholds = thresholds
        self._rules = rules
        self._screener = screener
        self._decisions = decisions
        self._staged = staged
        self._outcomes = ScreeningOutcomes(
            jobs=jobs,
            unit_of_work=unit_of_work,
            policy=lambda: screener.policy,
            evidence_dir=evidence_dir,
            clock=clock,
            metrics=metrics,
            actor=self.actor,
            on_approved=on_approved,
            on_screened=on_screened,
        )

    async def handle(self, job: Job) -> None:
        upload = await self._uploads.get_internal(job.upload_id)
        if upload is None or upload.state not in (UploadState.RECEIVED, UploadState.SCREENING):
            if upload is not None and upload.state == UploadState.TERMINATED:
                await self._staged.drop(upload.id)  # a quarantine copy made before the DELETE
            await self._outcomes.finish(job, None, None, None, None)
            return
        if upload.state == UploadState.RECEIVED:
            async with self._uow.begin() as tx:
                await move(
                    tx,
                    upload.id,
                    UploadState.RECEIVED,
                    UploadState.SCREENING,
                    self._clock.now(),
                    self.actor,
                )
        logger.info("screening.started", extra={"upload_id": upload.id, "attempt": job.attempts})
        failpoint("screening.started")
        try:
            await self._recheck_licence(upload)
            # Labels the policy has since dropped are ignored rather than failing the upload.
            labels = self._screener.policy.labels()
            overrides = {
                label: values
                for label, values in (await self._thresholds.for_tenant(upload.tenant_id)).items()
                if label in labels
            }
            async with self.heartbeat(job), self._staged.local_copy(upload.id) as path:
                digest = await sha256_of(path)
                key = await self._screener.key(overrides, upload.tenant_id, upload.metadata)
                earlier = await self._decisions.reusable(digest, key, upload.id)
                result = None
                if earlier is None:
                    result = await asyncio.wait_for(
                        self._screener.screen(
                            path, overrides or None, upload.metadata, upload.tenant_id
                        ),
                        SCREENING_TIMEOUT_S,
                    )
        except LicenceRejected as exc:
            refusal = DecisionRecord.refusal("block", _error_record(exc))
            await self._outcomes.finish(job, upload, UploadState.REJECTED, exc.code, refusal)
        except MediaRefused as exc:
            refusal = DecisionRecord.refusal("error", _error_record(exc))
            await self._outcomes.finish(job, upload, UploadState.FAILED, exc.code, refusal)
        except Exception as exc:
            await self._outcomes.failed_attempt(job, upload, exc)
        else:
            if result is not None:
                await self._outcomes.decided(job, upload, result, digest, key)
            elif earlier is not None:
                await self._outcomes.reused(job, upload, earlier, digest)

    async def _recheck_licence(self, upload: UploadRecord) -> None:
        """The registry may have changed since creation: a licence that lapsed blocks."""
        held = [lic for _, lic in await self._licences.held_by(upload.tenant_id)]
        try:
            check_upload_licence(self._rules, upload.metadata, held, self._clock.now().date())
        except LicenceRejected:
            raise
        except ClientError as exc:  # metadata that was valid at creation; treat as refusal
            raise LicenceRejected(exc.message, code=exc.code, clause=exc.clause) from exc


def _error_record(exc: ClientError) -> ErrorRecord:
    return ErrorRecord(code=exc.code, message=exc.message, clause=exc.clause)
