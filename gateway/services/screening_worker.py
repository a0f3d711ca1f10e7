"""The screening worker: claims screening jobs under a lease and carries each upload from
`received` through `screening` to `approved | review | rejected` (or `failed`), durably.

A killed worker's job is claimed again once its lease lapses and is re-run from the start
(screening is deterministic, so the verdict is the same). Failures retry with backoff; after
the last attempt the policy's on_error decides (review or block): a failure never passes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.adapters.db.decisions import save_decision
from gateway.adapters.db.jobs import FORWARD, SCREENING, Job, JobRepository, enqueue
from gateway.adapters.db.review_items import open_item
from gateway.adapters.db.tenants import LicenceRepository, ThresholdRepository
from gateway.adapters.db.uploads import UploadRecord, UploadRepository
from gateway.adapters.media.probe import MediaRefused
from gateway.adapters.storage.staged_copies import StagedCopies
from gateway.domain.errors import ClientError, LicenceRejected
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.policy import Verdict
from gateway.domain.ports import Clock
from gateway.domain.review_rules import ItemKind, priority_for
from gateway.domain.states import UploadState
from gateway.services.leased_worker import LeasedWorker, retry_delay
from gateway.services.metrics import Metrics
from gateway.services.screener import Screener, ScreeningResult, decision_json

logger = logging.getLogger(__name__)

STATE_BY_VERDICT = {
    Verdict.PASS: UploadState.APPROVED,
    Verdict.REVIEW: UploadState.REVIEW,
    Verdict.BLOCK: UploadState.REJECTED,
}
# A screening must finish within this, or it counts as a failed attempt (seconds).
SCREENING_TIMEOUT_S = 3600.0


class ScreeningWorker(LeasedWorker):
    stages = (SCREENING,)
    actor = "screening-worker"

    def __init__(
        self,
        *,
        jobs: JobRepository,
        uploads: UploadRepository,
        licences: LicenceRepository,
        thresholds: ThresholdRepository,
        rules: LicenceRules,
        screener: Screener,
        staged: StagedCopies,
        evidence_dir: Path,
        clock: Clock,
        metrics: Metrics,
        lease: dt.timedelta,
        wake: asyncio.Event | None = None,
        poll_interval_s: float = 2.0,
        on_approved: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            jobs=jobs, clock=clock, lease=lease, wake=wake, poll_interval_s=poll_interval_s
        )
        self._uploads = uploads
        self._licences = licences
        self._thresholds = thresholds
        self._rules = rules
        self._screener = screener
        self._staged = staged
        self._evidence_dir = evidence_dir
        self._metrics = metrics
        self._on_approved = on_approved

    async def handle(self, job: Job) -> None:
        upload = await self._uploads.get_internal(job.upload_id)
        if upload is None or upload.state not in (UploadState.RECEIVED, UploadState.SCREENING):
            if upload is not None and upload.state == UploadState.TERMINATED:
                await self._staged.drop(upload.id)  # a quarantine copy made before the DELETE
            await self._finish(job, upload, None, None, None)
            return
        if upload.state == UploadState.RECEIVED:
            await self._uploads.transition(
                upload.id,
                UploadState.RECEIVED,
                UploadState.SCREENING,
                self._clock.now(),
                self.actor,
            )
        logger.info("screening.started", extra={"upload_id": upload.id, "attempt": job.attempts})
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
                result = await asyncio.wait_for(
                    self._screener.screen(path, overrides or None), SCREENING_TIMEOUT_S
                )
        except LicenceRejected as exc:
            await self._finish(
                job, upload, UploadState.REJECTED, exc.code, _refusal_body(exc, "block")
            )
        except MediaRefused as exc:
            await self._finish(
                job, upload, UploadState.FAILED, exc.code, _refusal_body(exc, "error")
            )
        except Exception as exc:
            await self._failed_attempt(job, upload, exc)
        else:
            await self._decided(job, upload, result)

    async def _recheck_licence(self, upload: UploadRecord) -> None:
        """The registry may have changed since creation: a licence that lapsed blocks."""
        held = [lic for _, lic in await self._licences.held_by(upload.tenant_id)]
        try:
            check_upload_licence(self._rules, upload.metadata, held, self._clock.now().date())
        except LicenceRejected:
            raise
        except ClientError as exc:  # metadata that was valid at creation; treat as refusal
            raise LicenceRejected(exc.message, code=exc.code, clause=exc.clause) from exc

    async def _decided(self, job: Job, upload: UploadRecord, result: ScreeningResult) -> None:
        body = decision_json(result)
        body["evidence"] = await asyncio.to_thread(self._save_evidence, upload.id, result)
        body["declared_vs_file"] = compare_metadata(upload.metadata, result.probe.tags)
        verdict = Verdict(result.decision.verdict)
        self._metrics.screening_verdicts.labels(verdict=verdict.name.lower()).inc()
        await self._finish(
            job,
            upload,
            STATE_BY_VERDICT[verdict],
            None if verdict == Verdict.PASS else "content_" + verdict.name.lower(),
            body,
        )
        logger.info(
            "screening.decided", extra={"upload_id": upload.id, "verdict": verdict.name.lower()}
        )

    def _save_evidence(self, upload_id: str, result: ScreeningResult) -> list[dict[str, Any]]:
        folder = self._evidence_dir / upload_id
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for index, item in enumerate(result.evidence):
            name = f"{index:02d}-{item.timestamp_s:09.3f}.jpg"
            (folder / name).write_bytes(item.jpeg)
            saved.append(
                {
                    "timestamp_s": item.timestamp_s,
                    "reason": item.reason,
                    "file": name,
                    "bytes": len(item.jpeg),
                }
            )
        return saved

    async def _failed_attempt(self, job: Job, upload: UploadRecord, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning(
            "screening.attempt_failed",
            extra={"upload_id": upload.id, "attempt": job.attempts, "error": error},
        )
        if job.attempts < job.max_attempts:
            await self._jobs.retry_later(job, self._clock.now(), retry_delay(job.attempts), error)
            return
        on_error = max(
            (Verdict[item.on_error.upper()] for item in self._screener.policy.items),
            default=Verdict.REVIEW,
        )
        state = STATE_BY_VERDICT[on_error]  # review or rejected: never approved
        body = {
            "verdict": on_error.name.lower(),
            "error": {"code": "screening_failed", "message": error},
        }
        self._metrics.screening_failures.inc()
        await self._finish(job, upload, state, "screening_failed", body)

    async def _finish(
        self,
        job: Job,
        upload: UploadRecord | None,
        state: UploadState | None,
        code: str | None,
        body: dict[str, Any] | None,
    ) -> None:
        now = self._clock.now()
        approved = False
        async with self._jobs.engine.begin() as conn:
            if upload is not None and state is not None and body is not None:
                await save_decision(conn, upload.id, str(body.get("verdict", "")), body, now)
                moved = await self._uploads.transition_in(
                    conn, upload.id, UploadState.SCREENING, state, now, self.actor, code
                )
                approved = moved and state == UploadState.APPROVED
                if approved:  # forwarding commits with the approval
                    await enqueue(conn, upload.id, FORWARD, now)
                if moved and state == UploadState.REVIEW:  # so does the review item
                    await self._queue_for_review(conn, upload, body, now)
            if state == UploadState.FAILED:
                await self._jobs.fail(conn, job, now, code or "failed")
            else:
                await self._jobs.finish(conn, job, now)
        if approved and self._on_approved is not None:
            self._on_approved()

    async def _queue_for_review(
        self, conn: AsyncConnection, upload: UploadRecord, body: dict[str, Any], now: dt.datetime
    ) -> None:
        clauses = [str(c) for c in body.get("clauses", [])]
        score = max(
            (f["score"] for hit in body.get("hits", []) for f in hit.get("frames", [])),
            default=0.0,
        )
        await open_item(
            conn,
            upload_id=upload.id,
            tenant_id=upload.tenant_id,
            kind=ItemKind.FIRST,
            clauses=clauses,
            priority=priority_for(self._screener.policy, clauses, float(score)),
            now=now,
            actor=self.actor,
        )


# Declared Upload-Metadata keys and the container tags that say the same thing.
COMPARED_TAGS = {"title": "title", "rights_holder": "copyright"}


def compare_metadata(declared: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
    """Where the customer's declaration and the file's own tags both speak, do they agree?

    Recorded as evidence for the reviewer; a mismatch alone decides nothing."""
    lowered = {k.lower(): v for k, v in tags.items()}
    out: dict[str, Any] = {}
    for key, tag in COMPARED_TAGS.items():
        if key in declared and tag in lowered:
            same = declared[key].strip().casefold() == lowered[tag].strip().casefold()
            out[key] = {"declared": declared[key], "file": lowered[tag], "match": same}
    return out


def _refusal_body(exc: ClientError, verdict: str) -> dict[str, Any]:
    return {"verdict": verdict, **exc.as_body()}
