"""DecisionRecord: what screening decided about one upload, and why.

One frozen schema for every place a decision goes: the database row, `GET /v1/uploads/{id}`,
the review page and `vodgate scan`. It is serialised only at those edges (`to_json`), and
read back with `from_json`. A refusal (licence, media) or a screening that failed every
attempt is a record too: its verdict, and the error that explains it, without hits.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from gateway.domain.media import HDR_TRANSFERS, MediaFacts

VerdictName = Literal["pass", "review", "block"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FrameScore(_Record):
    timestamp_s: float
    score: float
    detector: str
    text: str | None = None
    box: tuple[int, int, int, int] | None = None
    reference: str | None = None
    bank: str | None = None
    term: str | None = None
    normalised: str | None = None
    span: tuple[int, int] | None = None
    end_s: float | None = None
    source: str | None = None


class HitRecord(_Record):
    """One policy item that fired: its clause, the label and threshold, the frames."""

    item: str
    clause: str
    text_zh: str
    verdict: VerdictName
    label: str
    threshold: float
    reason: str = ""
    frames: tuple[FrameScore, ...] = ()


class PolicyRef(_Record):
    id: str
    version: int


class DenseSampling(_Record):
    fps: float
    window_s: float
    around_s: tuple[float, ...]
    why: str


class CoverageGapRecord(_Record):
    """Text a detector did not read: why, and the video time ranges (seconds) left unread."""

    detector: str
    reason: str
    ranges: tuple[tuple[float, float], ...]


class TextSampling(_Record):
    """How frames were read for text: a frame every `step_s` through text detection, each
    distinct text region recognised once, closer looks around new text."""

    step_s: float
    frames: int  # frames that went through text detection
    regions_tracked: int = 0  # text regions found (a region seen again is one region)
    regions_recognised: int = 0  # regions new or changed, recognised (bounded per minute)
    regions_per_minute: int = 0  # the bound
    dense: DenseSampling | None = None


class SamplingRecord(_Record):
    interval_s: float
    scene_threshold: float
    review_threshold: float
    dense: DenseSampling
    frames: int
    tenant_thresholds: dict[str, dict[str, float]] | None = None
    text: TextSampling | None = None
    # "partial": some detector reached a bound and did not read everything (`gaps` says
    # what and where); the policy's on_overload decided for its items. Never silent.
    coverage: Literal["full", "partial"] = "full"
    gaps: tuple[CoverageGapRecord, ...] = ()


class MediaSummary(_Record):
    """The probe's facts a reader needs: format, duration, codec, frame size, how to show it.

    `size` and `hdr` are derived (and shown by the API); stored rows may carry them, and rows
    written before width and height were recorded carry only `size`."""

    format: str
    duration_s: float
    codec: str
    width: int  # as coded
    height: int
    rotation: int = 0  # the display turns the coded frame by this much (degrees)
    transfer: str = ""  # the transfer characteristics ffprobe names (smpte2084, ...)
    interlaced: bool = False  # deinterlaced for sampling and renditions
    audio_codec: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _derived_fields_in(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k != "hdr"}
        size = data.pop("size", None)
        if size is not None and "height" not in data:
            width, _, height = str(size).partition("x")
            data |= {"width": int(width or 0), "height": int(height or 0)}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size(self) -> str:
        """ "WIDTHxHEIGHT" as coded, as the API has always shown it."""
        return f"{self.width}x{self.height}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hdr(self) -> bool:
        """PQ or HLG: tone-mapped to SDR for the models and the renditions."""
        return self.transfer in HDR_TRANSFERS

    @classmethod
    def of(cls, facts: MediaFacts) -> MediaSummary:
        video = facts.video
        return cls(
            format=facts.format_name,
            duration_s=facts.duration_s,
            codec=video.codec,
            width=video.width,
            height=video.height,
            rotation=video.rotation,
            transfer=video.color_transfer,
            interlaced=video.interlaced,
            audio_codec=facts.audio_codec,
        )


# How a bank match's picture of the reference (the bank's frame, not the upload's) is
# captioned; bank_matcher writes it and stored decisions carry it, so it marks that picture.
REFERENCE_PICTURE = "bank match: reference"


class EvidenceFrame(_Record):
    timestamp_s: float
    reason: str
    bytes: int
    file: str | None = None  # the saved thumbnail, once stored


class MetadataCheck(_Record):
    """A declared metadata value beside the file's own tag (evidence; decides nothing)."""

    declared: str
    file: str
    match: bool


class ErrorRecord(_Record):
    """Why a decision has no screening behind it: a code and a message safe for a tenant."""

    code: str
    message: str
    clause: str | None = None


class DecisionRecord(_Record):
    verdict: Literal["pass", "review", "block", "error"]
    policy: PolicyRef | None = None
    models: tuple[str, ...] | None = None
    clauses: tuple[str, ...] = ()
    hits: tuple[HitRecord, ...] | None = None
    sampling: SamplingRecord | None = None
    media: MediaSummary | None = None
    evidence: tuple[EvidenceFrame, ...] = ()
    stage_seconds: dict[str, float] | None = None
    declared_vs_file: dict[str, MetadataCheck] | None = None
    # Text seen and kept as evidence but judged by no item (a QR code to an unlisted domain).
    observed: tuple[FrameScore, ...] = ()
    # The bytes' sha256 and what screened them (Screener.key); a decision taken from an
    # earlier screening of the same bytes under the same key says so (no frame was read).
    content_sha256: str | None = None
    screened_with: str | None = None
    reused_from: str | None = None
    error: ErrorRecord | None = None

    @classmethod
    def refusal(
        cls, verdict: Literal["review", "block", "error"], error: ErrorRecord
    ) -> DecisionRecord:
        return cls(verdict=verdict, error=error)

    @property
    def top_score(self) -> float:
        """The highest detector score behind any hit (0 when none)."""
        return max((f.score for h in self.hits or () for f in h.frames), default=0.0)

    def evidence_files(self) -> set[str]:
        return {e.file for e in self.evidence if e.file is not None}

    def for_uploader(self) -> DecisionRecord:
        """The record as the uploading tenant sees it. A bank match keeps its clause and the
        matched times of the tenant's own video; the bank's name, the entry and the reference
        picture are for reviewers: a rights bank's name and frames say who its owner is, and
        a prohibited bank's reference may be another tenant's rejected video."""
        hits = None
        if self.hits is not None:
            hits = tuple(
                h.model_copy(update={"frames": tuple(_unbanked(f) for f in h.frames)})
                for h in self.hits
            )
        evidence = tuple(e for e in self.evidence if not e.reason.startswith(REFERENCE_PICTURE))
        return self.model_copy(update={"hits": hits, "evidence": evidence})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DecisionRecord:
        return cls.model_validate(body)


def _unbanked(frame: FrameScore) -> FrameScore:
    if frame.bank is None:  # not a bank match (an OCR hit's `reference` is the tenant's own)
        return frame
    return frame.model_copy(update={"bank": None, "reference": None})
