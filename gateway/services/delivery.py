"""The delivery worker: forwarding and transcoding, each durable and idempotent.

    forward:   approved -> forwarding -> stored
               copy the staged file to tenants/{t}/videos/{id}/source.{ext}, verify size and
               ETag read back with HEAD, record it; only then drop the staged copy.
    transcode: stored -> transcoding -> delivered -> released
               render the renditions into the results area, deliver and verify each, then
               destroy every result and record a receipt (clause 4.3).

A crash at any point re-runs the stage from its start: an object already in place with the
right size and ETag is not written again, so the destination ends with exactly one correct
copy. Failures retry with backoff; after the last attempt the upload fails with the code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.adapters.db.decisions import load_decision
from gateway.adapters.db.jobs import (
    FORWARD,
    QUARANTINE,
    SCREENING,
    TRANSCODE,
    Job,
    JobRepository,
    enqueue,
)
from gateway.adapters.db.stored_objects import (
    delivery_view,
    record_receipt,
    record_stored,
    stored_object,
)
from gateway.adapters.db.uploads import UploadRecord, UploadRepository
from gateway.adapters.media.transcode import (
    FfmpegTranscoder,
    Rendition,
    master_playlist,
    plan_renditions,
    scaled_width,
)
from gateway.adapters.storage.digests import FileDigests, file_digests
from gateway.adapters.storage.staged_copies import QuarantineCopies, StagedCopies
from gateway.domain.errors import GatewayError, StorageMismatch
from gateway.domain.object_keys import extension_for, rendition_file_key, source_key
from gateway.domain.ports import Clock, ObjectStore
from gateway.domain.states import UploadState
from gateway.services.destination import ApprovedOnlyDestination
from gateway.services.failpoints import failpoint
from gateway.services.leased_worker import LeasedWorker, retry_delay
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)
_S = UploadState


class DeliveryWorker(LeasedWorker):
    stages = (QUARANTINE, FORWARD, TRANSCODE)
    actor = "delivery-worker"

    def __init__(
        self,
        *,
        jobs: JobRepository,
        uploads: UploadRepository,
        destination: ApprovedOnlyDestination,
        staged: StagedCopies,
        results_dir: Path,
        transcoder: FfmpegTranscoder,
        renditions: tuple[Rendition, ...],
        result_deadline: dt.timedelta,
        clock: Clock,
        metrics: Metrics,
        lease: dt.timedelta,
        wake: asyncio.Event | None = None,
        poll_interval_s: float = 2.0,
        retry_base_s: float = 5.0,
        hls_segment_s: int = 0,
        node: str | None = None,
        on_screenable: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            jobs=jobs, clock=clock, lease=lease, wake=wake, poll_interval_s=poll_interval_s
        )
        self._uploads = uploads
        self._destination = destination
        self._staged = staged
        self._results_dir = results_dir
        self._transcoder = transcoder
        self._renditions = renditions
        self._deadline = result_deadline
        self._metrics = metrics
        self._retry_base_s = retry_base_s
        self._store_ready = False
        self._hls_segment_s = hls_segment_s  # 0: MP4 renditions only
        self.node = node  # quarantine hand-offs of uploads received on this node
        self._on_screenable = on_screenable

    async def handle(self, job: Job) -> None:
        upload = await self._uploads.get_internal(job.upload_id)
        if upload is None:
            await self._finish_job(job)
            return
        try:
            async with self.heartbeat(job):
                if not self._store_ready:  # S3 may be down at start: retried like any call
                    await self._destination.store.prepare()
                    if isinstance(self._staged, QuarantineCopies):
                        await self._staged.store.prepare()
                    self._store_ready = True
                if job.stage == QUARANTINE:
                    await self._quarantine(job, upload)
                elif job.stage == FORWARD:
                    await self._forward(job, upload)
                else:
                    await self._transcode(job, upload)
        except Exception as exc:
            await self._failed_attempt(job, upload, exc)

    # -- forward ---------------------------------------------------------------------------

    async def _forward(self, job: Job, upload: UploadRecord) -> None:
        if upload.state == _S.APPROVED:
            await self._move(upload.id, _S.APPROVED, _S.FORWARDING)
        elif upload.state != _S.FORWARDING:  # done already, or purged meanwhile
            await self._finish_job(job)
            return
        decision = await load_decision(self._jobs.engine, upload.id) or {}
        extension = extension_for(str((decision.get("media") or {}).get("format", "")))
        key = source_key(upload.tenant_id, upload.id, extension)
        if isinstance(self._staged, QuarantineCopies):
            size, sha256, etag = await self._copy_from_quarantine(self._staged, upload.id, key)
        else:
            digests, etag = await self._deliver(
                upload.id, key, self._staged.path(upload.id), FORWARD
            )
            size, sha256 = digests.size, digests.sha256
        failpoint("forward.after_verify")
        now = self._clock.now()
        async with self._jobs.engine.begin() as conn:
            await record_stored(conn, upload.id, "source", key, etag, size, sha256, now)
            await self._uploads.transition_in(
                conn, upload.id, _S.FORWARDING, _S.STORED, now, self.actor
            )
            await enqueue(conn, upload.id, TRANSCODE, now)
            await self._jobs.finish(conn, job, now)
        failpoint("forward.before_drop")  # recorded, not yet dropped: transcoding drops it
        # Verified and recorded: only now may the customer's staged bytes go.
        await self._staged.drop(upload.id)
        self._metrics.delivery_bytes.labels(kind="source").inc(size)
        self._wake.set()
        logger.info("forward.stored", extra={"upload_id": upload.id, "key": key})

    async def _deliver(
        self, upload_id: str, key: str, path: Path, stage: str
    ) -> tuple[FileDigests, str]:
        """Into the destination, through its approval gate."""
        return await _put_verified(
            self._destination.store,
            lambda: self._destination.put(upload_id, key, path),
            key,
            path,
            f"{stage}.after_copy",
        )

    # -- quarantine (staging = s3) ------------------------------------------------------------

    async def _quarantine(self, job: Job, upload: UploadRecord) -> None:
        """Hand a received file to the quarantine bucket, verified; then any node screens it."""
        if not isinstance(self._staged, QuarantineCopies) or upload.state != _S.RECEIVED:
            await self._finish_job(job)
            return
        store = self._staged.store
        key = self._staged.key(upload.id)
        local = self._staged.path(upload.id)
        digests, etag = await _put_verified(
            store, lambda: store.put_file(key, local), key, local, "quarantine.after_copy"
        )
        now = self._clock.now()
        async with self._jobs.engine.begin() as conn:
            await record_stored(
                conn, upload.id, QUARANTINE, key, etag, digests.size, digests.sha256, now
            )
            await enqueue(conn, upload.id, SCREENING, now)
            await self._jobs.finish(conn, job, now)
        await asyncio.to_thread(local.unlink, missing_ok=True)
        if self._on_screenable is not None:
            self._on_screenable()
        logger.info("quarantine.stored", extra={"upload_id": upload.id, "key": key})

    async def _copy_from_quarantine(
        self, quarantine: QuarantineCopies, upload_id: str, key: str
    ) -> tuple[int, str, str]:
        """Server-side copy to the destination, verified against the quarantine's record."""
        source = await stored_object(self._jobs.engine, upload_id, QUARANTINE)
        if source is None:
            raise StorageMismatch(f"upload {upload_id} has no quarantine record")
        found = await self._destination.head(key)
        if found is None or (found.size, found.etag) != (source["size"], source["etag"]):
            await self._destination.copy_in(upload_id, key, quarantine.store.bucket, source["key"])
            failpoint("forward.after_copy")
            found = await self._destination.head(key)
        if found is None or (found.size, found.etag) != (source["size"], source["etag"]):
            got = None if found is None else f"{found.size} bytes, ETag {found.etag}"
            expected = f"{source['size']} bytes, ETag {source['etag']}"
            raise StorageMismatch(f"{key}: expected {expected}; the store has {got}")
        return int(source["size"]), str(source["sha256"]), str(source["etag"])

    # -- transcode and release -------------------------------------------------------------

    async def _transcode(self, job: Job, upload: UploadRecord) -> None:
        if upload.state == _S.STORED:
            await self._move(upload.id, _S.STORED, _S.TRANSCODING)
        elif upload.state == _S.DELIVERED:  # crashed between delivery and release
            await self._release(job, upload, await self._delivered_receipt(upload), delivered=True)
            return
        elif upload.state != _S.TRANSCODING:
            await self._finish_job(job)
            return
        # A crash between `stored` and dropping the staged copy leaves it: drop it now.
        await self._staged.drop(upload.id)
        decision = await load_decision(self._jobs.engine, upload.id) or {}
        media = decision.get("media") or {}
        height = int(str(media.get("size", "0x0")).partition("x")[2] or 0)
        duration = float(media.get("duration_s") or 0.0)
        work = self._results_dir / upload.id
        await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
        source = work / f"source.{extension_for(str(media.get('format', '')))}"
        source_key_ = source_key(upload.tenant_id, upload.id, source.suffix.lstrip("."))
        if not source.exists():
            partial = source.with_name(".source.partial")
            await self._destination.download(source_key_, partial)
            partial.replace(source)
        planned = [(work / r.file_name, r) for r in plan_renditions(height, self._renditions)]
        # One decode for every rendition still missing (all of them, unless a crash came
        # after some were rendered).
        missing = [(out, r) for out, r in planned if not out.exists()]
        await self._transcoder.render(source, missing, duration)
        files = [(output, rendition.name, rendition.file_name) for output, rendition in planned]
        if self._hls_segment_s:
            files += await self._package_hls(work, planned, media, duration)
        items = [
            await self._deliver_result(upload, output, name, relative)
            for output, name, relative in files
        ]
        failpoint("transcode.before_delivered")
        await self._move(upload.id, _S.TRANSCODING, _S.DELIVERED)
        await self._release(job, upload, items, delivered=True)

    async def _package_hls(
        self,
        work: Path,
        planned: list[tuple[Path, Rendition]],
        media: dict[str, Any],
        duration: float,
    ) -> list[tuple[Path, str, str]]:
        """HLS beside the MP4s: each rendition remuxed into segments, and a master playlist."""
        width, _, height = str(media.get("size", "0x0")).partition("x")
        hls = work / "hls"
        await asyncio.to_thread(hls.mkdir, exist_ok=True)
        variants = []
        for output, rendition in planned:
            folder = hls / rendition.name
            if not folder.exists():
                await self._transcoder.package_hls(output, folder, self._hls_segment_s, duration)
            scaled = scaled_width(int(width or 0), int(height or 0), rendition.height)
            variants.append((rendition, scaled, rendition.height))
        master = hls / "master.m3u8"
        await asyncio.to_thread(master.write_text, master_playlist(variants))
        names = sorted(p.relative_to(work).as_posix() for p in hls.rglob("*") if p.is_file())
        return [(work / name, name, name) for name in names]

    async def _deliver_result(
        self, upload: UploadRecord, output: Path, name: str, relative: str
    ) -> dict[str, Any]:
        key = rendition_file_key(upload.tenant_id, upload.id, relative)
        digests, etag = await self._deliver(upload.id, key, output, TRANSCODE)
        now = self._clock.now()
        async with self._jobs.engine.begin() as conn:
            await record_stored(conn, upload.id, name, key, etag, digests.size, digests.sha256, now)
        self._metrics.delivery_bytes.labels(kind="rendition").inc(digests.size)
        return {"name": name, "key": key, "size": digests.size, "sha256": digests.sha256}

    async def _delivered_receipt(self, upload: UploadRecord) -> list[dict[str, Any]]:
        view = await delivery_view(self._jobs.engine, upload.id)
        return [
            {"name": r["name"], "key": r["key"], "size": r["size"], "sha256": r["sha256"]}
            for r in view["renditions"]
        ]

    async def _release(
        self, job: Job, upload: UploadRecord, items: list[dict[str, Any]], *, delivered: bool
    ) -> None:
        """Destroy every transcode result (and the downloaded source), then record it."""
        work = self._results_dir / upload.id
        destroyed = await asyncio.to_thread(_destroy, work)
        now = self._clock.now()
        receipt = {
            "clause": "4.3",
            "delivered": delivered,
            "results": [{**item, "destroyed": True} for item in items],
            "files_destroyed": destroyed,
            "destroyed_at": now.isoformat(),
        }
        async with self._jobs.engine.begin() as conn:
            await record_receipt(conn, upload.id, receipt, now)
            if delivered:
                await self._uploads.transition_in(
                    conn, upload.id, _S.DELIVERED, _S.RELEASED, now, self.actor
                )
                await self._jobs.finish(conn, job, now)
            else:
                await self._uploads.transition_in(
                    conn,
                    upload.id,
                    _S.TRANSCODING,
                    _S.FAILED,
                    now,
                    self.actor,
                    "transcode_undelivered",
                )
                await self._jobs.fail(conn, job, now, "transcode_undelivered")
        self._metrics.results_released.labels(delivered=str(delivered).lower()).inc()
        logger.info(
            "transcode.released",
            extra={"upload_id": upload.id, "delivered": delivered, "files": len(destroyed)},
        )

    # -- shared ----------------------------------------------------------------------------

    async def _move(self, upload_id: str, from_state: UploadState, to_state: UploadState) -> None:
        await self._uploads.transition(
            upload_id, from_state, to_state, self._clock.now(), self.actor
        )

    async def _finish_job(self, job: Job) -> None:
        async with self._jobs.engine.begin() as conn:
            await self._jobs.finish(conn, job, self._clock.now())

    async def _failed_attempt(self, job: Job, upload: UploadRecord, exc: Exception) -> None:
        code = exc.code if isinstance(exc, GatewayError) else "delivery_error"
        error = f"{code}: {exc}"[:500]
        logger.warning(
            "delivery.attempt_failed",
            extra={
                "upload_id": upload.id,
                "stage": job.stage,
                "attempt": job.attempts,
                "error": error,
            },
        )
        self._metrics.delivery_failures.labels(stage=job.stage, code=code).inc()
        now = self._clock.now()
        current = await self._uploads.get_internal(upload.id)
        last_attempt = job.attempts >= job.max_attempts
        if (
            job.stage == TRANSCODE
            and current is not None
            and current.state == _S.TRANSCODING
            and (last_attempt or now - current.updated_at > self._deadline)
        ):
            # Clause 4.3: results that could not be delivered (in time, or at all) are
            # destroyed anyway, and the receipt says they were never delivered.
            await self._release(job, current, [], delivered=False)
            return
        if not last_attempt:
            delay = retry_delay(job.attempts, base_s=self._retry_base_s)
            await self._jobs.retry_later(job, now, delay, error)
            await self._uploads.note(upload.id, now, self.actor, code)
            return
        from_state = current.state if current is not None else upload.state
        async with self._jobs.engine.begin() as conn:
            if from_state in (_S.FORWARDING, _S.TRANSCODING):
                await self._uploads.transition_in(
                    conn, upload.id, from_state, _S.FAILED, now, self.actor, code
                )
            await self._jobs.fail(conn, job, now, error)


async def _put_verified(
    store: ObjectStore,
    put: Callable[[], Awaitable[None]],
    key: str,
    path: Path,
    crash_point: str,
) -> tuple[FileDigests, str]:
    """Put `path` under `key` unless an identical object is there; verify size and ETag with
    HEAD. Hashing overlaps the upload in the common case (nothing there yet)."""
    found = await store.head(key)
    hashing = asyncio.to_thread(file_digests, path, store.part_size)
    if found is None:
        digests, _ = await asyncio.gather(hashing, put())
        failpoint(crash_point)
        found = await store.head(key)
    else:  # a re-run after a crash: keep the object if it is the right one
        digests = await hashing
    expected = store.expected_etag(digests.size, digests.part_md5s, digests.md5)
    if found is not None and (found.size, found.etag) != (digests.size, expected):
        await put()
        failpoint(crash_point)
        found = await store.head(key)
    if found is None or (found.size, found.etag) != (digests.size, expected):
        got = None if found is None else f"{found.size} bytes, ETag {found.etag}"
        raise StorageMismatch(
            f"{key}: expected {digests.size} bytes, ETag {expected}; the store has {got}"
        )
    return digests, expected


def _destroy(work: Path) -> list[str]:
    if not work.exists():
        return []
    names = sorted(p.name for p in work.iterdir())
    shutil.rmtree(work)
    return names
