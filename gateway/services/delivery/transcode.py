"""TranscodeStage: stored -> transcoding -> delivered -> released.

Every missing rendition from one decode (and HLS beside them when asked), each delivered and
verified under the upload's renditions/ prefix, then released (release.py). Results that
cannot be delivered, in time or at all, are destroyed anyway and the receipt says so."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from gateway.domain.decisions import MediaSummary
from gateway.domain.jobs import TRANSCODE, Job
from gateway.domain.object_keys import extension_for, rendition_file_key, source_key
from gateway.domain.ports.media import Transcoder
from gateway.domain.ports.storage import StagedCopies
from gateway.domain.renditions import Rendition, master_playlist, plan_renditions, scaled_width
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord
from gateway.services.delivery.context import DeliveryContext
from gateway.services.delivery.destination import ApprovedOnlyDestination
from gateway.services.delivery.release import release
from gateway.services.failpoints import failpoint

logger = logging.getLogger(__name__)
_S = UploadState
_NO_MEDIA = MediaSummary(format="", duration_s=0.0, codec="", width=0, height=0)


class TranscodeStage:
    name = TRANSCODE

    def __init__(
        self,
        context: DeliveryContext,
        destination: ApprovedOnlyDestination,
        staged: StagedCopies,
        transcoder: Transcoder,
        renditions: tuple[Rendition, ...],
        results_dir: Path,
        result_deadline: dt.timedelta,
        hls_segment_s: int = 0,
    ) -> None:
        self._context = context
        self._destination = destination
        self._staged = staged
        self._transcoder = transcoder
        self._renditions = renditions
        self._results_dir = results_dir
        self._deadline = result_deadline
        self._hls_segment_s = hls_segment_s  # 0: MP4 renditions only

    async def run(self, job: Job, upload: UploadRecord) -> None:
        context = self._context
        work = self._results_dir / upload.id
        if upload.state == _S.STORED:
            await context.move(upload.id, _S.STORED, _S.TRANSCODING)
        elif upload.state == _S.DELIVERED:  # crashed between delivery and release
            view = await context.stored.view(upload.id)
            items = [
                {k: r[k] for k in ("name", "key", "size", "sha256")} for r in view["renditions"]
            ]
            await release(context, work, job, upload, items, delivered=True)
            return
        elif upload.state != _S.TRANSCODING:
            async with context.unit_of_work.begin() as tx:
                await tx.jobs.finish(job, context.clock.now())
            return
        # A crash between `stored` and dropping the staged copy leaves it: drop it now.
        await self._staged.drop(upload.id)
        decision = await context.decisions.load(upload.id)
        media = (decision.media if decision is not None else None) or _NO_MEDIA
        await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
        source = await self._download_source(upload, work, media)
        planned = [(work / r.file_name, r) for r in plan_renditions(media.height, self._renditions)]
        # One decode for every rendition still missing (all of them, unless a crash came
        # after some were rendered).
        missing = [(out, r) for out, r in planned if not await asyncio.to_thread(out.exists)]
        failpoint(f"{TRANSCODE}.before_render")
        await self._transcoder.render(source, missing, media)
        failpoint(f"{TRANSCODE}.after_render")
        files = [(output, rendition.name, rendition.file_name) for output, rendition in planned]
        if self._hls_segment_s:
            files += await self._package_hls(work, planned, media)
        items = [await self._deliver(upload, output, name, rel) for output, name, rel in files]
        failpoint(f"{TRANSCODE}.before_delivered")
        await context.move(upload.id, _S.TRANSCODING, _S.DELIVERED)
        await release(context, work, job, upload, items, delivered=True)

    async def _download_source(self, upload: UploadRecord, work: Path, media: MediaSummary) -> Path:
        source = work / f"source.{extension_for(media.format)}"
        if not await asyncio.to_thread(source.exists):
            key = source_key(upload.tenant_id, upload.id, source.suffix.lstrip("."))
            partial = source.with_name(".source.partial")
            await self._destination.download(key, partial)
            await asyncio.to_thread(partial.replace, source)
        return source

    async def _package_hls(
        self, work: Path, planned: list[tuple[Path, Rendition]], media: MediaSummary
    ) -> list[tuple[Path, str, str]]:
        """HLS beside the MP4s: each rendition remuxed into segments, and a master playlist."""
        hls = work / "hls"
        await asyncio.to_thread(hls.mkdir, exist_ok=True)
        variants = []
        for output, rendition in planned:
            folder = hls / rendition.name
            if not await asyncio.to_thread(folder.exists):
                await self._transcoder.package_hls(
                    output, folder, self._hls_segment_s, media.duration_s
                )
            scaled = scaled_width(media.width, media.height, rendition.height)
            variants.append((rendition, scaled, rendition.height))
        master = hls / "master.m3u8"
        await asyncio.to_thread(master.write_text, master_playlist(variants))
        names = await asyncio.to_thread(_files_under, hls, work)
        return [(work / name, name, name) for name in names]

    async def _deliver(
        self, upload: UploadRecord, output: Path, name: str, relative: str
    ) -> dict[str, Any]:
        key = rendition_file_key(upload.tenant_id, upload.id, relative)
        copy = await self._destination.put_verified(
            upload.id, key, output, f"{TRANSCODE}.after_copy"
        )
        context = self._context
        async with context.unit_of_work.begin() as tx:
            await tx.stored.record(upload.id, name, copy, context.clock.now())
        context.metrics.delivery_bytes.labels(kind="rendition").inc(copy.size)
        return copy.receipt_entry(name)

    async def on_failure(self, job: Job, current: UploadRecord | None, last: bool) -> bool:
        """Clause 4.3: results that could not be delivered (in time, or at all) are destroyed
        anyway, and the receipt says they were never delivered. True when released."""
        now = self._context.clock.now()
        if current is None or current.state != _S.TRANSCODING:
            return False
        if not (last or now - current.updated_at > self._deadline):
            return False
        work = self._results_dir / current.id
        await release(self._context, work, job, current, [], delivered=False)
        return True


def _files_under(folder: Path, root: Path) -> list[str]:
    """Blocking (a thread): every file below `folder`, relative to `root`, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
