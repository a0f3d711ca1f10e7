"""Typed facts about a staged video (what the prober found) and what screening samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Transfer characteristics of high-dynamic-range video (PQ and HLG), as ffprobe names them.
HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
# Field orders of interlaced video (top or bottom field first, coded either way).
INTERLACED_FIELD_ORDERS = frozenset({"tt", "bb", "tb", "bt"})


@dataclass(frozen=True, slots=True)
class VideoStream:
    index: int
    codec: str
    width: int  # as coded; a display rotation of 90 or 270 shows it the other way round
    height: int
    frame_rate: float
    duration_s: float | None
    rotation: int = 0  # degrees of the display matrix, as ffprobe reports them
    pix_fmt: str = ""
    color_transfer: str = ""
    field_order: str = ""

    @property
    def hdr(self) -> bool:
        return self.color_transfer in HDR_TRANSFERS

    @property
    def interlaced(self) -> bool:
        return self.field_order in INTERLACED_FIELD_ORDERS


@dataclass(frozen=True, slots=True)
class SubtitleStream:
    index: int  # the stream's index in the file
    codec: str  # mov_text, subrip, ass, webvtt... (bitmap subtitles are listed too)
    language: str = ""


# Subtitle codecs that carry text (bitmap ones, DVD and PGS, would need OCR).
TEXT_SUBTITLE_CODECS = frozenset({"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"})
# Subtitles drawn as pictures: not read (no OCR of subtitle bitmaps yet); each such track is
# named in the decision as not read.
BITMAP_SUBTITLE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvb_subtitle", "dvd_subtitle", "xsub"})


@dataclass(frozen=True, slots=True)
class SubtitleCue:
    start_s: float
    end_s: float
    text: str  # markup removed


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """One text track as read: its cues, and why reading stopped early when it did."""

    cues: tuple[SubtitleCue, ...]
    capped: str = ""  # "" when the whole track was read


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the hardened probe says the file is."""

    format_name: str
    duration_s: float
    size_bytes: int
    video: VideoStream
    stream_count: int
    tags: dict[str, str] = field(default_factory=dict)
    audio_codec: str | None = None  # the first audio track's codec; None when silent
    subtitles: tuple[SubtitleStream, ...] = ()


# Why a frame was sampled, which says who looks at it.
INTERVAL = "interval_or_scene"  # the interval or a scene cut: every detector
TEXT = "text"  # between interval samples, at the text step: text readers only
DENSE = "dense"  # the image models' closer look around a suspicious frame
TEXT_DENSE = "text_dense"  # the text readers' closer look around new text
IMAGE_REASONS = frozenset({INTERVAL, DENSE})
TEXT_REASONS = frozenset({INTERVAL, TEXT, TEXT_DENSE})


@dataclass(frozen=True, slots=True)
class SampledFrame:
    timestamp_s: float
    reason: str  # INTERVAL, TEXT, DENSE or TEXT_DENSE
    # [height, width, 3] uint8 RGB (a numpy array); the domain passes it on, never looks in.
    pixels: Any
    # The frame upright at its own aspect, at most SamplingPlan.text_side on its long side,
    # for detectors that read text or codes; None when no such detector is on.
    text_pixels: Any = None
    # The decode it came from (a time segment, a dense window): frames of one stream arrive
    # in time order, streams interleave.
    stream: int = 0


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    interval_s: float = 2.0  # at least one frame this often (the guaranteed maximum gap)
    scene_threshold: float = 0.3  # ffmpeg scene score that counts as a cut
    dense_fps: float = 3.0  # frames a second around a suspicious frame
    dense_window_s: float = 2.0  # seconds either side of it
    frame_size: int = 256  # frames come out square at this size, for the models
    text_side: int = 0  # and at their own aspect up to this long side, for OCR (0: not)
    dense: bool = True  # look closer around suspicious frames (off only to measure its worth)
    parallel_segments: int = 0  # decoders run at once on a long video; 0: one per core
    # With text readers on: a frame at least this often for them (0: the interval only);
    # frames between interval samples go to the text readers only.
    text_step_s: float = 0.0
    text_dense_windows: int = 20  # closer looks around new text per screening at most

    @property
    def step_s(self) -> float:
        """The sampling step: the text step when it is shorter than the interval."""
        if self.text_side and 0 < self.text_step_s < self.interval_s:
            return self.text_step_s
        return self.interval_s
