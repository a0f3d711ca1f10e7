"""What services ask of media tools: probe a file, sample its frames, render renditions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from gateway.domain.decisions import MediaSummary
from gateway.domain.media import (
    MediaFacts,
    SampledFrame,
    SamplingPlan,
    SubtitleStream,
    SubtitleTrack,
    VideoStream,
)
from gateway.domain.renditions import Rendition


class Prober(Protocol):
    async def probe(self, path: Path) -> MediaFacts:
        """What the file is; raises MediaRefused when it is not a video we take."""
        ...


class FrameSampler(Protocol):
    def sample(
        self, path: Path, plan: SamplingPlan, *, video: VideoStream, duration_s: float
    ) -> AsyncIterator[SampledFrame]:
        """Frames at least every `plan.step_s` plus scene cuts, upright and in SDR (those
        between interval samples marked TEXT).
        Raises MediaRefused when the file itself cannot be decoded."""
        ...

    def sample_dense(
        self,
        path: Path,
        plan: SamplingPlan,
        around_s: float,
        *,
        video: VideoStream,
        for_text: bool = False,
    ) -> AsyncIterator[SampledFrame]:
        """Frames at `plan.dense_fps` in the window around `around_s`, for the image models
        (DENSE) or, `for_text`, for the text readers (TEXT_DENSE)."""
        ...


class SubtitleReader(Protocol):
    async def read(self, path: Path, stream: SubtitleStream, duration_s: float) -> SubtitleTrack:
        """One text track's cues, bounded (SubtitleTrack.capped says when it stopped early);
        raises when the track cannot be read (the screening then treats it as a detector
        failure, never a pass)."""
        ...


class Transcoder(Protocol):
    async def render(
        self, source: Path, outputs: list[tuple[Path, Rendition]], media: MediaSummary
    ) -> None:
        """Every output from one decode, upright and in SDR, each whole or not at all."""
        ...

    async def package_hls(self, mp4: Path, folder: Path, segment_s: int, duration_s: float) -> None:
        """Remux a rendered MP4 into HLS segments in `folder`, whole or not at all."""
        ...
