"""A screening's outcome as evidence pictures and one DecisionRecord (stored, shown by the
API and `vodgate scan`)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageDraw

from gateway.domain.decisions import (
    DecisionRecord,
    EvidenceFrame,
    FrameScore,
    HitRecord,
    MediaSummary,
    PolicyRef,
    SamplingRecord,
)
from gateway.domain.media import MediaFacts, SampledFrame
from gateway.domain.policy import Decision, Signal, Verdict

# Evidence thumbnails kept per screening: enough to show each fired clause, bounded memory.
MAX_EVIDENCE_FRAMES = 12
THUMBNAIL_QUALITY = 80


@dataclass
class Evidence:
    timestamp_s: float
    reason: str
    jpeg: bytes


@dataclass
class ScreeningResult:
    decision: Decision
    probe: MediaFacts
    sampling: SamplingRecord
    frames_sampled: int
    stage_seconds: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    observed: list[Signal] = field(default_factory=list)


def evidence_of(decision: Decision, kept: dict[float, SampledFrame]) -> list[Evidence]:
    wanted: list[float] = []
    boxes: dict[float, list[tuple[int, int, int, int]]] = {}
    for hit in decision.hits:
        for signal in hit.frames:
            if signal.timestamp_s in kept and signal.timestamp_s not in wanted:
                wanted.append(signal.timestamp_s)
            if signal.box is not None:
                boxes.setdefault(signal.timestamp_s, []).append(signal.box)
    evidence = [
        _thumbnail(kept[timestamp], boxes.get(timestamp, []))
        for timestamp in wanted[:MAX_EVIDENCE_FRAMES]
    ]
    for hit in decision.hits:  # pictures detectors made (a bank match: both sides)
        for signal in hit.frames:
            evidence += [
                Evidence(signal.timestamp_s, caption, jpeg) for caption, jpeg in signal.pictures
            ]
    return evidence[: 2 * MAX_EVIDENCE_FRAMES]


def _thumbnail(frame: SampledFrame, boxes: list[tuple[int, int, int, int]]) -> Evidence:
    """The frame as a JPEG; a text hit's box drawn on the frame the text was read from."""
    pixels = frame.text_pixels if boxes and frame.text_pixels is not None else frame.pixels
    image = Image.fromarray(pixels)
    if boxes:
        draw = ImageDraw.Draw(image)
        for x, y, width, height in boxes:
            draw.rectangle(
                (x - 2, y - 2, x + width + 2, y + height + 2), outline=(255, 0, 0), width=3
            )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return Evidence(frame.timestamp_s, frame.reason, buffer.getvalue())


def decision_record(
    result: ScreeningResult,
    evidence: Sequence[EvidenceFrame] | None = None,
    declared_vs_file: Mapping[str, Any] | None = None,
) -> DecisionRecord:
    """The screening as one DecisionRecord (stored, shown by the API and `vodgate scan`).
    `evidence` names the saved thumbnails; without it, each is described unsaved."""
    decision = result.decision
    return DecisionRecord(
        verdict=_verdict_name(decision.verdict),
        policy=PolicyRef(id=decision.policy_id, version=decision.policy_version),
        models=tuple(result.models),
        clauses=tuple(sorted({h.item_id for h in decision.hits})),
        hits=tuple(
            HitRecord(
                item=h.item_id,
                clause=h.clause,
                text_zh=h.text_zh,
                verdict=_verdict_name(h.verdict),
                label=h.label,
                threshold=h.threshold,
                reason=h.reason,
                frames=tuple(_frame_score(s) for s in h.frames),
            )
            for h in decision.hits
        ),
        sampling=result.sampling,
        media=MediaSummary.of(result.probe),
        evidence=tuple(evidence if evidence is not None else _unsaved(result.evidence)),
        stage_seconds={k: round(v, 3) for k, v in result.stage_seconds.items()},
        declared_vs_file=declared_vs_file,
        observed=tuple(_frame_score(s) for s in result.observed),
    )


def _unsaved(evidence: list[Evidence]) -> list[EvidenceFrame]:
    return [
        EvidenceFrame(timestamp_s=e.timestamp_s, reason=e.reason, bytes=len(e.jpeg))
        for e in evidence
    ]


def _verdict_name(verdict: Verdict) -> Literal["pass", "review", "block"]:
    names: dict[Verdict, Literal["pass", "review", "block"]] = {
        Verdict.PASS: "pass",
        Verdict.REVIEW: "review",
        Verdict.BLOCK: "block",
    }
    return names[Verdict(verdict)]


def _frame_score(signal: Signal) -> FrameScore:
    return FrameScore(
        timestamp_s=signal.timestamp_s,
        score=round(signal.score, 4),
        detector=signal.detector,
        text=signal.text,
        box=signal.box,
        reference=signal.reference,
        bank=signal.bank,
        term=signal.term,
        normalised=signal.normalised,
        span=signal.span,
        end_s=signal.end_s,
        source=signal.source,
    )
