"""The Detector port: one pass per screened video; sampled frames in, typed signals out.

An image classifier scores labels frame by frame; a text detector adds the text it read and
its box; a hash matcher the reference it matched and its bank (`Signal` carries each when
present). Some need the whole video before they can judge (an on-screen licence number in
the opening and closing seconds, subtitle tracks, matches in time order): they answer in
`finish`. The screener takes any number of detectors and never asks which kind it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from gateway.domain.media import MediaFacts, SampledFrame
from gateway.domain.policy import CoverageGap, Signal


@dataclass(frozen=True, slots=True)
class ScreeningSubject:
    """What one screening looks at: the staged file, what the probe said of it, and what the
    customer declared (Upload-Metadata: title, filename, description, licence_number...)."""

    path: Path
    media: MediaFacts
    declared: Mapping[str, str] = field(default_factory=dict)
    tenant_id: str | None = None  # whose upload (a rights holder's own copies pass)


class DetectorPass(Protocol):
    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        """Signals for these frames (they arrive in batches, in time order per segment)."""
        ...

    async def finish(self) -> list[Signal]:
        """Signals only the whole video gives; called once, after the last frame."""
        ...


@dataclass(frozen=True, slots=True)
class TextReading:
    """What a text reader did in one screening (for the decision and the benchmark)."""

    frames: int  # frames through text detection
    regions_tracked: int  # distinct text regions found (new or changed; seen again: once)
    regions_recognised: int  # new or changed regions recognised
    regions_per_minute: int  # the bound on recognitions
    detect_s: float  # seconds in text detection
    recognise_s: float  # seconds in recognition
    gaps: tuple[CoverageGap, ...] = ()  # what it did not read, and why


@runtime_checkable
class TextFramePass(Protocol):
    """A pass that reads text. Besides the frames every detector sees it is given those
    sampled for text only (TEXT, TEXT_DENSE); it asks for closer looks around new text and
    says what it read and what it could not (a bound reached: never silent)."""

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]: ...

    async def finish(self) -> list[Signal]: ...

    def closer_looks(self) -> list[float]:
        """Times of new text since the last call, for a closer look (TEXT_DENSE frames)."""
        ...

    def reading(self) -> TextReading: ...


class Detector(Protocol):
    @property
    def name(self) -> str:
        """Name and version, as decisions record it: "open_nsfw@1.0"."""
        ...

    @property
    def labels(self) -> list[str]:
        """The `detector:label`s it scores; a policy may name any of them."""
        ...

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        """What its signals depend on besides the video (model, list and bank versions, the
        declared fields it reads): equal states and equal bytes give equal signals, so a
        verdict may be reused."""
        ...

    async def begin(self, subject: ScreeningSubject) -> DetectorPass:
        """A pass over one video. Raises on failure (here, in `detect` or in `finish`): the
        screener then applies each of its labels' on_error and goes on with the others."""
        ...
