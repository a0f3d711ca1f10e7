"""The prohibited-content policy (clause 3.1.10.3 and the upload-side 3.1.3.5) and the pure
decision over detector signals: `decide(policy, signals) -> Decision`, block > review > pass.

The policy is data (`policies/prohibited-content.yaml`). Every item names the detector labels
that feed it; an item no detector covers yet says so (`detectors: []` with a `coverage` note)
and can only fire through a human reviewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Verdict(IntEnum):
    """Ordered so that max() picks the strictest: block > review > pass."""

    PASS = 0
    REVIEW = 1
    BLOCK = 2


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelRule(_Frozen):
    """One detector label feeding an item: `detector:label`, with its thresholds."""

    label: str = Field(pattern=r"^[a-z0-9_.-]+:[a-z0-9_.-]+$")
    review_at: float = Field(ge=0.0, le=1.0)
    # None: this label can only send to review (free text a customer declares, a title).
    block_at: float | None = Field(ge=0.0, le=1.0)
    # Sampled frames that must reach a threshold before it fires (guards against one noisy
    # frame); dense re-sampling around a suspicious frame supplies the extra frames.
    min_frames: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> LabelRule:
        if self.block_at is not None and self.block_at < self.review_at:
            raise ValueError(f"{self.label}: block_at {self.block_at} < review_at {self.review_at}")
        return self


class PolicyItem(_Frozen):
    id: str
    clause: str
    text_zh: str
    gloss_en: str
    also_covers: tuple[str, ...] = ()  # upload-side clauses 3.1.3.5.x with the same content
    detectors: tuple[LabelRule, ...] = ()
    coverage: str = ""  # how it is covered, in words (required when no detector is named)
    uncovered: str = ""  # what of the item no detector sees yet
    on_error: Literal["review", "block"] = "review"
    # Human review: queue priority (5 most severe), minutes until a reviewer must have
    # decided (SLA), and whether a second, different reviewer must agree (二审).
    severity: int = Field(default=3, ge=1, le=5)
    sla_minutes: int = Field(default=240, ge=1)
    second_review: bool = False

    @model_validator(mode="after")
    def _says_how_it_is_covered(self) -> PolicyItem:
        if not self.detectors and not self.coverage:
            raise ValueError(f"{self.id}: no detectors and no coverage note")
        return self


class Policy(_Frozen):
    id: str
    version: int
    review_threshold: float = Field(ge=0.0, le=1.0)  # any score above asks for dense sampling
    items: tuple[PolicyItem, ...]
    # For review items no clause explains (a screening that failed every attempt).
    default_severity: int = Field(default=3, ge=1, le=5)
    default_sla_minutes: int = Field(default=240, ge=1)
    # What a screening that could not read everything decides for the items fed by the
    # detector that stopped (OCR past its bound of regions per minute): never pass.
    on_overload: Literal["review", "block"] = "review"

    def labels(self) -> set[str]:
        return {rule.label for item in self.items for rule in item.detectors}

    def with_overrides(self, overrides: Mapping[str, Mapping[str, float]]) -> Policy:
        """Per-tenant thresholds: {"detector:label": {"review_at": .., "block_at": ..}}."""
        unknown = set(overrides) - self.labels()
        if unknown:
            raise ValueError(f"overrides name labels no item uses: {sorted(unknown)}")
        items = tuple(
            item.model_copy(
                update={
                    "detectors": tuple(
                        LabelRule.model_validate(
                            rule.model_dump() | dict(overrides.get(rule.label, {}))
                        )
                        for rule in item.detectors
                    )
                }
            )
            for item in self.items
        )
        return self.model_copy(update={"items": items})


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One item for `vodgate policy coverage`: its detector labels, those this configuration
    provides and those it does not, and what no detector sees yet."""

    item_id: str
    text_zh: str
    provided: tuple[str, ...]
    missing: tuple[str, ...]
    uncovered: str

    @property
    def covered(self) -> bool:
        return bool(self.provided)


# Label kinds that name what screening could not read (a bitmap subtitle track): they send
# to review, but detect nothing, so they cover no item.
NOT_READ_KINDS = ("subtitle_track",)


def coverage(policy: Policy, provided: set[str]) -> list[CoverageRow]:
    def detects(label: str) -> bool:
        return label.split(":", 1)[0] not in NOT_READ_KINDS

    return [
        CoverageRow(
            item.id,
            item.text_zh,
            tuple(r.label for r in item.detectors if r.label in provided and detects(r.label)),
            tuple(r.label for r in item.detectors if r.label not in provided and detects(r.label)),
            item.uncovered,
        )
        for item in policy.items
    ]


@dataclass(frozen=True, slots=True)
class Signal:
    """One detector's score for one label on one sampled frame."""

    detector: str  # e.g. "open_nsfw@1.0"
    label: str  # "detector:label"
    timestamp_s: float
    score: float
    # What a text or hash detector adds: the text it read and where (x, y, width, height),
    # or the reference it matched and the bank that holds it.
    text: str | None = None
    box: tuple[int, int, int, int] | None = None
    reference: str | None = None
    bank: str | None = None
    # A text hit: the list's term, the text in normal form, the term's place in `text`.
    term: str | None = None
    normalised: str | None = None
    span: tuple[int, int] | None = None
    end_s: float | None = None  # a subtitle cue's end
    source: str | None = None  # where text was read: ocr, subtitles, title, qr...
    # A keyword list's `review` term: suggestive alone, so it never blocks, whatever the
    # label's block_at says.
    review_only: bool = False
    # Pictures a detector made as evidence (caption, JPEG): a bank match's upload frame and
    # reference frame, side by side.
    pictures: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class DetectorFailure:
    """A detector that could not score (its items fall back to their on_error)."""

    label: str
    reason: str


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """What a detector did not read (it reached a bound): its labels, why, and the video
    time ranges (seconds) left unread. Items it feeds fall back to the policy's on_overload."""

    detector: str
    labels: tuple[str, ...]
    reason: str
    ranges: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Hit:
    item_id: str
    clause: str
    text_zh: str
    verdict: Verdict
    label: str
    threshold: float
    frames: tuple[Signal, ...]  # the frames that reached the threshold, strongest first
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    policy_id: str = ""
    policy_version: int = 0


def decide(
    policy: Policy,
    signals: Iterable[Signal],
    failures: Iterable[DetectorFailure] = (),
    gaps: Iterable[CoverageGap] = (),
) -> Decision:
    """Total and deterministic: the strictest verdict any item reaches, with its evidence.
    A coverage gap gives each item one of its labels feeds its on_overload verdict."""
    by_label: dict[str, list[Signal]] = {}
    for signal in signals:
        by_label.setdefault(signal.label, []).append(signal)
    failed = {f.label: f.reason for f in failures}
    hits: list[Hit] = []
    for item in policy.items:
        for rule in item.detectors:
            if rule.label in failed:
                hits.append(
                    Hit(
                        item.id,
                        item.clause,
                        item.text_zh,
                        Verdict[item.on_error.upper()],
                        rule.label,
                        0.0,
                        (),
                        f"detector failed: {failed[rule.label]}",
                    )
                )
                continue
            hit = _evaluate(item, rule, by_label.get(rule.label, []))
            if hit is not None:
                hits.append(hit)
    hits += _overloaded(policy, gaps)
    hits.sort(key=lambda h: (-h.verdict, h.item_id, h.label))
    verdict = max((h.verdict for h in hits), default=Verdict.PASS)
    return Decision(verdict, tuple(hits), policy.id, policy.version)


def _evaluate(item: PolicyItem, rule: LabelRule, signals: list[Signal]) -> Hit | None:
    for verdict, threshold in ((Verdict.BLOCK, rule.block_at), (Verdict.REVIEW, rule.review_at)):
        if threshold is None:
            continue
        reached = sorted(
            (
                s
                for s in signals
                if s.score >= threshold and not (verdict is Verdict.BLOCK and s.review_only)
            ),
            key=lambda s: (-s.score, s.timestamp_s),
        )
        if len(reached) >= rule.min_frames:
            return Hit(
                item.id,
                item.clause,
                item.text_zh,
                verdict,
                rule.label,
                threshold,
                tuple(reached[:10]),
            )
    return None


def _overloaded(policy: Policy, gaps: Iterable[CoverageGap]) -> list[Hit]:
    hits = []
    for gap in gaps:
        unread = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in gap.ranges[:10])
        more = f" and {len(gap.ranges) - 10} more" if len(gap.ranges) > 10 else ""
        for item in policy.items:
            label = next((r.label for r in item.detectors if r.label in gap.labels), None)
            if label is not None:
                reason = f"coverage partial: {gap.detector} {gap.reason}; not read: {unread}{more}"
                verdict = Verdict[policy.on_overload.upper()]
                hits.append(
                    Hit(item.id, item.clause, item.text_zh, verdict, label, 0.0, (), reason)
                )
    return hits
