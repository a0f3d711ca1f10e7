"""Uploads put straight into a pipeline state, for delivery tests and benchmarks."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Literal

from gateway.domain.decisions import DecisionRecord, MediaSummary
from gateway.domain.jobs import FORWARD
from gateway.domain.review_rules import ItemKind, priority_for
from gateway.domain.states import UploadState
from gateway.runtime.wiring import Services
from gateway.services.transitions import move
from tests.conftest import LICENCE_NUMBER

META = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER}
MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


async def received(services: Services, tenant_id: str, source: Path | None = None) -> str:
    """A complete upload of `source` (by default 4 KB of zeros); its first job commits with
    it."""
    if source is None:
        source = Path(tempfile.mkdtemp()) / "clip.mp4"
        source.write_bytes(bytes(4096))
    upload_id = uuid.uuid4().hex
    data = await asyncio.to_thread(source.read_bytes)
    state = await services.staging.create(upload_id)
    writer = await services.staging.open_writer(upload_id, 0, None, state)
    await writer.commit([data])
    await writer.close()
    size = len(data)
    now = services.clock.now()
    await services.uploads.create(
        upload_id=upload_id,
        tenant_id=tenant_id,
        length=size,
        offset=size,
        metadata=META,
        licence_id=None,
        now=now,
        expires_at=now,
        actor="test",
        staged_on=None if services.settings.staging == "s3" else services.settings.node,
        staging_state=writer.state,
    )
    return upload_id


def _media(size: str) -> MediaSummary:
    width, _, height = size.partition("x")
    return MediaSummary(
        format=MP4, duration_s=1, codec="h264", size=size, width=int(width), height=int(height)
    )


async def approved_by_hand(services: Services, upload_id: str) -> None:
    """The human path (review -> approved), as the review queue will take it."""
    now = services.clock.now()
    async with services.unit_of_work.begin() as tx:
        assert await move(tx, upload_id, UploadState.RECEIVED, UploadState.SCREENING, now, "t")
    async with services.unit_of_work.begin() as tx:
        record = DecisionRecord(verdict="review", media=_media("0x0"))
        await tx.decisions.save(upload_id, record, now)
        for to in (UploadState.REVIEW, UploadState.APPROVED):
            frm = UploadState.SCREENING if to == UploadState.REVIEW else UploadState.REVIEW
            assert await move(tx, upload_id, frm, to, now, "reviewer", decision=record)
        await tx.jobs.enqueue(upload_id, FORWARD, now)


async def in_review(
    services: Services,
    tenant_id: str,
    clauses: list[str],
    *,
    score: float = 0.7,
    source: Path | None = None,
    verdict: Literal["review", "block"] = "review",
) -> tuple[str, int | None]:
    """An upload screening sent to review (or, with verdict="block", rejected): its decision,
    its state and (for review) its queue item, as the screening worker commits them."""
    upload_id = await received(services, tenant_id, source)
    now = services.clock.now()
    async with services.unit_of_work.begin() as tx:
        assert await move(tx, upload_id, UploadState.RECEIVED, UploadState.SCREENING, now, "t")
    to = UploadState.REVIEW if verdict == "review" else UploadState.REJECTED
    record = DecisionRecord(
        verdict=verdict, clauses=tuple(clauses), hits=(), media=_media("160x120")
    )
    item_id = None
    async with services.unit_of_work.begin() as tx:
        await tx.decisions.save(upload_id, record, now)
        assert await move(tx, upload_id, UploadState.SCREENING, to, now, "t", decision=record)
        if to == UploadState.REVIEW:
            item_id = await tx.review.open_item(
                upload_id=upload_id,
                tenant_id=tenant_id,
                kind=ItemKind.FIRST,
                clauses=clauses,
                priority=priority_for(services.policy, clauses, score),
                now=now,
                actor="screening-worker",
            )
    return upload_id, item_id
