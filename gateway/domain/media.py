"""Typed facts about a staged video (what the prober found) and what screening samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VideoStream:
    index: int
    codec: str
    width: int
    height: int
    frame_rate: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the hardened probe says the file is."""

    format_name: str
    duration_s: float
    size_bytes: int
    video: VideoStream
    stream_count: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SampledFrame:
    timestamp_s: float
    reason: str  # "interval_or_scene" or "dense"
    # [height, width, 3] uint8 RGB (a numpy array); the domain passes it on, never looks in.
    pixels: Any


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    interval_s: float = 2.0  # at least one frame this often (the guaranteed maximum gap)
    scene_threshold: float = 0.3  # ffmpeg scene score that counts as a cut
    dense_fps: float = 3.0  # frames a second around a suspicious frame
    dense_window_s: float = 2.0  # seconds either side of it
    frame_size: int = 256  # frames come out square at this size, for the models
    dense: bool = True  # look closer around suspicious frames (off only to measure its worth)
    parallel_segments: int = 0  # decoders run at once on a long video; 0: one per core
