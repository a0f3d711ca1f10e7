"""Which move announces what (domain/events): the rule the outbox writes."""

from __future__ import annotations

from gateway.domain.decisions import DecisionRecord, MediaSummary
from gateway.domain.events import transition_event
from gateway.domain.states import UploadState as S

SCREENED = DecisionRecord(verdict="review", clauses=("3.1.10.3(3)",))


def test_a_screening_decision_cites_its_verdict_and_clauses() -> None:
    event = transition_event("t", "u", S.SCREENING, S.REVIEW, "content_review", SCREENED)
    assert event is not None
    assert event.type == "upload.decided"
    assert event.data == {
        "upload_id": "u",
        "state": "review",
        "from": "screening",
        "code": "content_review",
        "decided_by": "screening",
        "verdict": "review",
        "clauses": ["3.1.10.3(3)"],
    }


def test_a_reviewer_decision_is_pass_or_block_with_the_screening_clauses() -> None:
    approved = transition_event("t", "u", S.REVIEW, S.APPROVED, None, SCREENED)
    rejected = transition_event("t", "u", S.REVIEW, S.REJECTED, "review_rejected", SCREENED)
    assert approved is not None
    assert rejected is not None
    assert (approved.data["decided_by"], approved.data["verdict"]) == ("reviewer", "pass")
    assert (rejected.data["decided_by"], rejected.data["verdict"]) == ("reviewer", "block")
    assert rejected.data["clauses"] == ["3.1.10.3(3)"]


def test_an_appeal_is_not_a_decision_and_quiet_moves_announce_nothing() -> None:
    appeal = transition_event("t", "u", S.REJECTED, S.REVIEW, "appealed")
    assert appeal is not None
    assert appeal.type == "upload.appealed"
    assert "decided_by" not in appeal.data
    for quiet in (S.SCREENING, S.FORWARDING, S.TRANSCODING, S.EXPIRED):
        assert transition_event("t", "u", S.RECEIVED, quiet, None) is None


def test_a_decision_record_reads_rows_written_before_width_and_height() -> None:
    stored = {
        "verdict": "pass",
        "media": {"format": "mov,mp4", "duration_s": 4.0, "codec": "h264", "size": "640x360"},
    }
    record = DecisionRecord.from_json(stored)
    assert record.media == MediaSummary(
        format="mov,mp4", duration_s=4.0, codec="h264", size="640x360", width=640, height=360
    )
    again = DecisionRecord.from_json(record.to_json())
    assert again == record
    assert "error" not in record.to_json()  # unset parts are left out, not null
