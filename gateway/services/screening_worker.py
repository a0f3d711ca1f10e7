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

from gateway.domain.decisions import DecisionRecord, ErrorRecord, EvidenceFrame, MetadataCheck
from gateway.domain.errors import ClientError, LicenceRejected, MediaRefused, ScreeningFailed
from gateway.domain.jobs import FORWARD, SCREENING, Job, retry_delay
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.policy import Verdict
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import (
    Decisions,
    JobQueue,
    LicenceRegistry,
    TenantThresholds,
    Transaction,
    UnitOfWork,
    Uploads,
)
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.review_rules import ItemKind, priority_for
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.failpoints import failpoint
from gateway.services.file_digest import sha256_of
from gateway.services.leased_worker import LeasedWorker
from gateway.services.metrics import Metrics
from gateway.services.screener import Screener, ScreeningResult, decision_record
from gateway.services.transitions import move

logger = logging.getLogger(__name__)

STATE_BY_VERDICT = {
    Verdict.PASS: UploadState.APPROVED,
    Verdict.REVIEW: UploadState.REVIEW,
    Verdict.BLOCK: UploadState.REJECTED,
}
# A screening must finish within this, or it counts as a failed attempt (seconds).
SCREENING_TIMEOUT_S = 3600.0
SCREENING_FAILED = ErrorRecord(
    code=ScreeningFailed.code,
    message="screening could not finish; the policy's on_error decided instead",
)


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
        # Counts the minutes of video a tenant had screened (fair use, clause 3.1.3.6).
        self._on_screened = on_screened
        self._uow = unit_of_work
        self._uploads = uploads
        self._licences = licences
        self._thresholds = thresholds
        self._rules = rules
        self._screener = screener
        self._decisions = decisions
        self._staged = staged
        self._evidence_dir = evidence_dir
        self._metrics = metrics
        self._on_approved = on_approved

    async def handle(self, job: Job) -> None:
        upload = await self._uploads.get_internal(job.upload_id)
        if upload is None or upload.state not in (UploadState.RECEIVED, UploadState.SCREENING):
            if upload is not None and upload.state == UploadState.TERMINATED:
                await self._staged.drop(upload.id)  # a quarantine copy made before the DELETE
            await self._finish(job, None, None, None, None)
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
            await self._finish(job, upload, UploadState.REJECTED, exc.code, refusal)
        except MediaRefused as exc:
            refusal = DecisionRecord.refusal("error", _error_record(exc))
            await self._finish(job, upload, UploadState.FAILED, exc.code, refusal)
        except Exception as exc:
            await self._failed_attempt(job, upload, exc)
        else:
            if result is not None:
                await self._decided(job, upload, result, digest, key)
            elif earlier is not None:
                await self._reused(job, upload, earlier, digest)

    async def _recheck_licence(self, upload: UploadRecord) -> None:
        """The registry may have changed since creation: a licence that lapsed blocks."""
        held = [lic for _, lic in await self._licences.held_by(upload.tenant_id)]
        try:
            check_upload_licence(self._rules, upload.metadata, held, self._clock.now().date())
        except LicenceRejected:
            raise
        except ClientError as exc:  # metadata that was valid at creation; treat as refusal
            raise LicenceRejected(exc.message, code=exc.code, clause=exc.clause) from exc

    async def _decided(
        self, job: Job, upload: UploadRecord, result: ScreeningResult, digest: str, key: str
    ) -> None:
        evidence = await asyncio.to_thread(self._save_evidence, upload.id, result)
        record = decision_record(
            result, evidence, compare_metadata(upload.metadata, result.probe.tags)
        ).model_copy(update={"content_sha256": digest, "screened_with": key})
        verdict = Verdict(result.decision.verdict)
        self._metrics.screening_verdicts.labels(verdict=verdict.name.lower()).inc()
        code = None if verdict == Verdict.PASS else "content_" + verdict.name.lower()
        failpoint("screening.before_commit")  # decided, nothing recorded yet
        await self._finish(job, upload, STATE_BY_VERDICT[verdict], code, record)
        failpoint("screening.after_commit")
        if self._on_screened is not None:
            await self._on_screened(upload.tenant_id, result.probe.duration_s or 0.0)
        logger.info(
            "screening.decided", extra={"upload_id": upload.id, "verdict": verdict.name.lower()}
        )

    async def _reused(
        self, job: Job, upload: UploadRecord, earlier: tuple[str, DecisionRecord], digest: str
    ) -> None:
        """The same bytes were screened under the same key: that verdict, at once. The
        tenant sees the digest, never the other upload (another tenant's, perhaps)."""
        source, record = earlier
        reused = record.model_copy(
            update={"reused_from": f"sha256:{digest}", "evidence": (), "stage_seconds": {}}
        )
        verdict = {"pass": Verdict.PASS, "review": Verdict.REVIEW, "block": Verdict.BLOCK}[
            record.verdict
        ]
        self._metrics.screening_verdicts.labels(verdict=verdict.name.lower()).inc()
        code = None if verdict == Verdict.PASS else "content_" + verdict.name.lower()
        await self._finish(job, upload, STATE_BY_VERDICT[verdict], code, reused)
        logger.info(
            "screening.reused",
            extra={"upload_id": upload.id, "from_upload": source, "verdict": record.verdict},
        )

    def _save_evidence(self, upload_id: str, result: ScreeningResult) -> list[EvidenceFrame]:
        """Blocking (a thread): each evidence thumbnail as a JPEG file."""
        folder = self._evidence_dir / upload_id
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for index, item in enumerate(result.evidence):
            name = f"{index:02d}-{item.timestamp_s:09.3f}.jpg"
            (folder / name).write_bytes(item.jpeg)
            saved.append(
                EvidenceFrame(
                    timestamp_s=item.timestamp_s,
                    reason=item.reason,
                    bytes=len(item.jpeg),
                    file=name,
                )
            )
        return saved

    async def _failed_attempt(self, job: Job, upload: UploadRecord, exc: Exception) -> None:
        # The detail is for operators (log, job row); the tenant sees screening_failed.
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning(
            "screening.attempt_failed",
            extra={"upload_id": upload.id, "attempt": job.attempts, "error": error},
        )
        if not job.last_attempt:
            await self._jobs.retry_later(job, self._clock.now(), retry_delay(job.attempts), error)
            return
        on_error = max(
            (Verdict[item.on_error.upper()] for item in self._screener.policy.items),
            default=Verdict.REVIEW,
        )
        state = STATE_BY_VERDICT[on_error]  # review or rejected: never approved
        record = DecisionRecord.refusal(
            "block" if on_error == Verdict.BLOCK else "review", SCREENING_FAILED
        )
        self._metrics.screening_failures.inc()
        await self._finish(job, upload, state, "screening_failed", record)

    async def _finish(
        self,
        job: Job,
        upload: UploadRecord | None,
        state: UploadState | None,
        code: str | None,
        record: DecisionRecord | None,
    ) -> None:
        now = self._clock.now()
        approved = False
        async with self._uow.begin() as tx:
            if upload is not None and state is not None and record is not None:
                await tx.decisions.save(upload.id, record, now)
                moved = await move(
                    tx,
                    upload.id,
                    UploadState.SCREENING,
                    state,
                    now,
                    self.actor,
                    code,
                    decision=record,
                )
                approved = moved and state == UploadState.APPROVED
                if approved:  # forwarding commits with the approval
                    await tx.jobs.enqueue(upload.id, FORWARD, now)
                if moved and state == UploadState.REVIEW:  # so does the review item
                    await self._queue_for_review(tx, upload, record, now)
            if state == UploadState.FAILED:
                await tx.jobs.fail(job, now, code or "failed")
            else:
                await tx.jobs.finish(job, now)
        if approved and self._on_approved is not None:
            self._on_approved()

    async def _queue_for_review(
        self, tx: Transaction, upload: UploadRecord, record: DecisionRecord, now: dt.datetime
    ) -> None:
        clauses = list(record.clauses)
        await tx.review.open_item(
            upload_id=upload.id,
            tenant_id=upload.tenant_id,
            kind=ItemKind.FIRST,
            clauses=clauses,
            priority=priority_for(self._screener.policy, clauses, record.top_score),
            now=now,
            actor=self.actor,
        )


# Declared Upload-Metadata keys and the container tags that say the same thing.
COMPARED_TAGS = {"title": "title", "rights_holder": "copyright"}


def compare_metadata(declared: dict[str, str], tags: dict[str, str]) -> dict[str, MetadataCheck]:
    """Where the customer's declaration and the file's own tags both speak, do they agree?

    Recorded as evidence for the reviewer; a mismatch alone decides nothing."""
    lowered = {k.lower(): v for k, v in tags.items()}
    out: dict[str, MetadataCheck] = {}
    for key, tag in COMPARED_TAGS.items():
        if key in declared and tag in lowered:
            same = declared[key].strip().casefold() == lowered[tag].strip().casefold()
            out[key] = MetadataCheck(declared=declared[key], file=lowered[tag], match=same)
    return out


def _error_record(exc: ClientError) -> ErrorRecord:
    return ErrorRecord(code=exc.code, message=exc.message, clause=exc.clause)
