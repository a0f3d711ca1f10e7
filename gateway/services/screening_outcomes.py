"""What a screening job ends in, recorded durably: the verdict and its evidence, a verdict
reused from the same bytes, a failed attempt (retried, then the policy's on_error), the
upload's move to its state, forwarding or a review item committed with it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.domain.decisions import DecisionRecord, ErrorRecord, EvidenceFrame, MetadataCheck
from gateway.domain.errors import ScreeningFailed
from gateway.domain.jobs import FORWARD, Job, retry_delay
from gateway.domain.policy import Policy, Verdict
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import JobQueue, Transaction, UnitOfWork
from gateway.domain.review_rules import ItemKind, priority_for
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics
from gateway.services.screener import ScreeningResult, decision_record
from gateway.services.transitions import move

logger = logging.getLogger(__name__)

STATE_BY_VERDICT = {
    Verdict.PASS: UploadState.APPROVED,
    Verdict.REVIEW: UploadState.REVIEW,
    Verdict.BLOCK: UploadState.REJECTED,
}
SCREENING_FAILED = ErrorRecord(
    code=ScreeningFailed.code,
    message="screening could not finish; the policy's on_error decided instead",
)


class ScreeningOutcomes:
    def __init__(
        self,
        *,
        jobs: JobQueue,
        unit_of_work: UnitOfWork,
        policy: Callable[[], Policy],
        evidence_dir: Path,
        clock: Clock,
        metrics: Metrics,
        actor: str,
        on_approved: Callable[[], None] | None = None,
        on_screened: Callable[[str, float], Awaitable[None]] | None = None,
    ) -> None:
        self._jobs = jobs
        self._uow = unit_of_work
        self._policy = policy  # the screener's, as it is now
        self._evidence_dir = evidence_dir
        self._clock = clock
        self._metrics = metrics
        self.actor = actor
        self._on_approved = on_approved
        # Counts the minutes of video a tenant had screened (fair use, clause 3.1.3.6).
        self._on_screened = on_screened

    async def decided(
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
        await self.finish(job, upload, STATE_BY_VERDICT[verdict], code, record)
        failpoint("screening.after_commit")
        if self._on_screened is not None:
            await self._on_screened(upload.tenant_id, result.probe.duration_s or 0.0)
        logger.info(
            "screening.decided", extra={"upload_id": upload.id, "verdict": verdict.name.lower()}
        )

    async def reused(
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
        await self.finish(job, upload, STATE_BY_VERDICT[verdict], code, reused)
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

    async def failed_attempt(self, job: Job, upload: UploadRecord, exc: Exception) -> None:
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
            (Verdict[item.on_error.upper()] for item in self._policy().items),
            default=Verdict.REVIEW,
        )
        state = STATE_BY_VERDICT[on_error]  # review or rejected: never approved
        record = DecisionRecord.refusal(
            "block" if on_error == Verdict.BLOCK else "review", SCREENING_FAILED
        )
        self._metrics.screening_failures.inc()
        await self.finish(job, upload, state, "screening_failed", record)

    async def finish(
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
            priority=priority_for(self._policy(), clauses, record.top_score),
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
