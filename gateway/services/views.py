"""Read models: what the API shows of an upload and of its evidence.

A tenant's view names no reviewer (reviewers are not the tenant's business), shows a review's
outcome only once it is final, and leaves a bank match's bank, entry and reference picture to
reviewers; evidence is served only under names the viewer's decision lists, so a request's
text never names a file."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from pathlib import Path
from typing import Any

from gateway.domain.decisions import DecisionRecord
from gateway.domain.errors import NotFound, QueryInvalid
from gateway.domain.ports.persistence import Decisions, ReviewQueue, StoredObjects, Uploads
from gateway.domain.review_rules import DECIDED, OPEN, ReviewItem, tenant_reviews
from gateway.domain.states import UploadState
from gateway.domain.uploads import TrailEntry, UploadRecord


class UploadViews:
    def __init__(
        self,
        *,
        uploads: Uploads,
        decisions: Decisions,
        stored: StoredObjects,
        reviews: ReviewQueue,
        evidence_dir: Path,
    ) -> None:
        self._uploads = uploads
        self._decisions = decisions
        self._stored = stored
        self._reviews = reviews
        self._evidence_dir = evidence_dir

    async def decision(self, upload_id: str) -> DecisionRecord | None:
        return await self._decisions.load(upload_id)

    async def upload(self, upload: UploadRecord) -> dict[str, Any]:
        """GET /v1/uploads/{id}: state, trail, decision, delivery and human outcomes."""
        view = upload_json(upload, await self._uploads.trail(upload.id))
        record = await self._decisions.load(upload.id)
        shown = None if record is None else record.for_uploader()
        view["decision"] = decision_json(shown, f"/v1/uploads/{upload.id}/evidence/", "")
        view.update(await self._stored.view(upload.id))
        view["review"] = [
            _review_json(review.kind.value, final)
            for review, final in tenant_reviews(await self._reviews.for_upload(upload.id))
        ]
        return view

    async def page(
        self,
        tenant_id: str,
        *,
        states: list[UploadState],
        verdict: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        """GET /v1/uploads: the tenant's uploads newest first, one page, and the cursor of
        the next (None at the end)."""
        rows = await self._uploads.page_of_tenant(
            tenant_id,
            states=states,
            verdict=verdict,
            since=since,
            until=until,
            before=None if cursor is None else decode_cursor(cursor),
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = []
        for upload, found_verdict in rows:
            item = upload_json(upload, [])
            del item["trail"]
            item["verdict"] = found_verdict
            items.append(item)
        last = rows[-1][0] if more and rows else None
        return {
            "uploads": items,
            "next_cursor": None if last is None else encode_cursor(last.created_at, last.id),
        }

    async def evidence_file(self, upload_id: str, name: str) -> Path:
        """The tenant's thumbnail, when its view of the decision lists `name` and it is kept
        (a bank's reference picture is not the tenant's)."""
        record = await self._decisions.load(upload_id)
        return await self._evidence_path(
            upload_id, name, None if record is None else record.for_uploader()
        )

    async def review_evidence_file(self, upload_id: str, name: str) -> Path:
        """A reviewer's thumbnail: any the decision lists, the bank's reference too."""
        return await self._evidence_path(upload_id, name, await self._decisions.load(upload_id))

    async def _evidence_path(
        self, upload_id: str, name: str, record: DecisionRecord | None
    ) -> Path:
        if record is None or name not in record.evidence_files():
            raise NotFound("no such evidence frame for this upload")
        path = self._evidence_dir / upload_id / name
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("the evidence frame is no longer kept")
        return path


def decision_json(
    record: DecisionRecord | None, evidence_base: str, token_query: str
) -> dict[str, Any] | None:
    """The record as the API shows it: each saved thumbnail with its URL."""
    if record is None:
        return None
    body = record.to_json()
    for item in body.get("evidence", []):
        if "file" in item:
            item["url"] = f"{evidence_base}{item['file']}{token_query}"
    return body


def _review_json(kind: str, final: ReviewItem | None) -> dict[str, Any]:
    """A review as its tenant sees it: open, or its final decision (nobody's name)."""
    if final is None or final.decided_at is None:
        return {"kind": kind, "state": OPEN, "decision": None, "clauses": None, "reason": None,
                "decided_at": None}  # fmt: skip
    return {
        "kind": kind,
        "state": DECIDED,
        "decision": final.decision,
        "clauses": final.decision_clauses,
        "reason": final.reason,
        "decided_at": final.decided_at.isoformat(),
    }


def upload_json(upload: UploadRecord, trail: list[TrailEntry]) -> dict[str, Any]:
    return {
        "id": upload.id,
        "state": upload.state.value,
        "error_code": upload.error_code,
        "offset": upload.offset,
        "length": upload.length,
        "metadata": upload.metadata,
        "created_at": upload.created_at.isoformat(),
        "updated_at": upload.updated_at.isoformat(),
        "expires_at": upload.expires_at.isoformat() if upload.expires_at else None,
        "completed_at": upload.completed_at.isoformat() if upload.completed_at else None,
        "trail": [
            {
                "at": e.at.isoformat(),
                "from": e.from_state,
                "to": e.to_state,
                "code": e.code,
                "actor": _shown_actor(e),
            }
            for e in trail
        ],
    }


_HUMAN_DECISIONS = {UploadState.APPROVED.value, UploadState.REJECTED.value}


def _shown_actor(entry: TrailEntry) -> str:
    """A reviewer's decision shows as `reviewer`: which key decided is not the tenant's
    business (the review log keeps it for the moderation team)."""
    if entry.from_state == UploadState.REVIEW.value and entry.to_state in _HUMAN_DECISIONS:
        return "reviewer"
    return entry.actor


def encode_cursor(created_at: dt.datetime, upload_id: str) -> str:
    raw = f"{created_at.astimezone(dt.UTC).isoformat()}|{upload_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The (created_at, id) a cursor names; QueryInvalid when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, upload_id = raw.partition("|")
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not upload_id:
            raise ValueError("not a cursor")
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise QueryInvalid("cursor: not a cursor this API gave") from exc
    return when, upload_id
