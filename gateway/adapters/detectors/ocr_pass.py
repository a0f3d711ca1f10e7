"""OcrPass: one screening's text reading. Every text frame goes through detection (the gate
picks its size, or finds nothing changed); the regions found are tracked per stream, and only
new or changed ones are recognised, within a bound per minute of video: past it, the times
left unread are recorded and the decision says its coverage is partial. New text asks for a
closer look (a few frames a second around it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from gateway.adapters.detectors.ocr_gate import ChangeGate
from gateway.adapters.detectors.text_regions import (
    Box,
    Recognised,
    RecognitionBudget,
    Region,
    RegionTracker,
    appearance,
    shown_before,
)
from gateway.adapters.detectors.text_signals import text_signals
from gateway.adapters.text.live_lists import ListSnapshot
from gateway.domain.licence_on_screen import differs, shown_numbers
from gateway.domain.media import TEXT_DENSE, SampledFrame
from gateway.domain.policy import CoverageGap, Signal
from gateway.domain.ports.detection import ScreeningSubject, TextReading

if TYPE_CHECKING:
    from gateway.adapters.detectors.ocr import OcrDetector

logger = logging.getLogger(__name__)

LICENCE_LABEL = "licence_number:mismatch"
# A line shorter than this (in letters and digits) is noise: at default thresholds the
# models read single glyphs ("O", "口") on textless frames.
MIN_TEXT_CHARS = 2
# Recognition confidence below this is not text anyone could read.
MIN_TEXT_SCORE = 0.5
# A region lower than this (pixels of the text frame) holds nothing legible.
MIN_REGION_HEIGHT = 6
# Closer looks asked for: new text this long after the last one asked gets its own.
CLOSER_LOOK_GAP_S = 4.0
Quad = npt.NDArray[np.float32]  # a detected box's four corners, clockwise from top left


@dataclass(frozen=True, slots=True)
class TextLine:
    timestamp_s: float
    text: str
    score: float
    box: Box  # x, y, width, height in the text frame


def legible(text: str, score: float) -> bool:
    return score >= MIN_TEXT_SCORE and sum(ch.isalnum() for ch in text) >= MIN_TEXT_CHARS


def box_of(quad: Quad) -> Box:
    xs = [int(p[0]) for p in quad]
    ys = [int(p[1]) for p in quad]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


@dataclass
class _Stream:
    gate: ChangeGate
    tracker: RegionTracker = field(default_factory=RegionTracker)
    grey: npt.NDArray[np.uint8] | None = None  # the last frame detected, in grey


@dataclass
class OcrPass:
    detector: OcrDetector
    lists: ListSnapshot
    subject: ScreeningSubject
    _streams: dict[int, _Stream] = field(default_factory=dict)
    _budget: RecognitionBudget | None = None
    _recognised: Recognised = field(default_factory=Recognised)
    _closer: list[float] = field(default_factory=list)
    _last_closer: float | None = None
    # (time, text) of each line reported: a frame reached through two streams (a decode
    # and a closer look at the same instant) is one finding, not two.
    _reported: set[tuple[float, str]] = field(default_factory=set)
    frames: int = 0
    tracked: int = 0
    detect_s: float = 0.0
    recognise_s: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)  # frames per detection choice

    @property
    def budget(self) -> RecognitionBudget:
        if self._budget is None:
            self._budget = RecognitionBudget(self.detector.budget.regions_per_minute)
        return self._budget

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        ordered = sorted(
            (f for f in frames if f.text_pixels is not None),
            key=lambda f: (f.stream, f.timestamp_s),
        )
        lines = await self.detector.run(lambda: [self._read(f) for f in ordered])
        signals: list[Signal] = []
        for frame, read in zip(ordered, lines, strict=True):
            for line in read:
                if (line.timestamp_s, line.text) in self._reported:
                    continue
                self._reported.add((line.timestamp_s, line.text))
                signals += text_signals(
                    self.lists,
                    line.text,
                    detector=self.detector.name,
                    kind="ocr",
                    timestamp_s=line.timestamp_s,
                    score=line.score,
                    box=line.box,
                )
                if self._stream(frame).gate.in_edges(line.timestamp_s):
                    signals += self._licence_mismatch(line)
        return signals

    async def finish(self) -> list[Signal]:
        reading = self.reading()
        logger.info(
            "ocr.reading",
            extra={
                "frames": reading.frames,
                "sizes": dict(self.sizes),
                "tracked": reading.regions_tracked,
                "recognised": reading.regions_recognised,
                "detect_s": round(reading.detect_s, 3),
                "recognise_s": round(reading.recognise_s, 3),
                "unread": [list(r) for g in reading.gaps for r in g.ranges],
            },
        )
        return []

    def closer_looks(self) -> list[float]:
        asked, self._closer = self._closer, []
        return asked

    def reading(self) -> TextReading:
        ranges = self.budget.unread_ranges()
        per_minute = self.budget.per_minute
        gaps = (
            (
                CoverageGap(
                    self.detector.name,
                    tuple(self.detector.labels),
                    f"recognised its bound of {per_minute} text regions per minute of video",
                    ranges,
                ),
            )
            if ranges
            else ()
        )
        return TextReading(
            self.frames,
            self.tracked,
            self.budget.recognised,
            per_minute,
            self.detect_s,
            self.recognise_s,
            gaps,
        )

    def _stream(self, frame: SampledFrame) -> _Stream:
        if frame.stream not in self._streams:
            gate = ChangeGate(
                self.detector.budget,
                self.subject.media.duration_s,
                closer=frame.reason == TEXT_DENSE,
            )
            self._streams[frame.stream] = _Stream(gate)
        return self._streams[frame.stream]

    def _read(self, frame: SampledFrame) -> list[TextLine]:
        """Blocking (OCR's thread): the lines of the regions new or changed in this frame."""
        stream = self._stream(frame)
        pixels: npt.NDArray[np.uint8] = frame.text_pixels
        t = frame.timestamp_s
        look = stream.gate.choose(t, pixels)
        self.sizes[look.how] = self.sizes.get(look.how, 0) + 1
        if look.how == "reuse":
            return []
        self.frames += look.how != "flat"
        if look.how == "flat":
            stream.tracker.keep([])
            return []
        started = time.perf_counter()
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])
        height, width = pixels.shape[:2]
        areas = stream.tracker.widen(look.areas, width, height) if look.how == "local" else ()
        quads = [q for q in self._find(bgr, look.how, areas) if box_of(q)[3] >= MIN_REGION_HEIGHT]
        crops = [self.detector.crop(bgr, q) for q in quads]
        found = stream.tracker.match([box_of(q) for q in quads], [appearance(c) for c in crops])
        grey = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), np.uint8)
        before = stream.grey
        for candidate in found:  # moved unchanged since the frame before: read there
            if candidate.same is None and before is not None:
                moved = shown_before(before, grey, candidate.box)
                if moved:
                    candidate.same, candidate.new = Region(candidate.box, candidate.bits), False
        stream.grey = grey
        self.detect_s += time.perf_counter() - started
        for candidate in found:  # read already elsewhere: not read again
            candidate.same = candidate.same or self._recognised.find(candidate.box, candidate.bits)
        kept = [c.same for c in found if c.same is not None]
        wanted = [i for i, c in enumerate(found) if c.same is None]
        self.tracked += len(wanted)  # distinct: new or changed, not seen before
        granted = wanted[: self.budget.take(t, len(wanted))]
        started = time.perf_counter()
        read = self.detector.recognise([crops[i] for i in granted])
        self.recognise_s += time.perf_counter() - started
        lines = []
        for i, (text, score) in zip(granted, read, strict=True):
            kept.append(Region(found[i].box, found[i].bits))
            self._recognised.add(kept[-1])
            if legible(text, score):
                lines.append(TextLine(t, text, score, found[i].box))
                if found[i].new and frame.reason != TEXT_DENSE:
                    self._ask_closer(t)
        # Regions left unread are tried again in the next frame; outside the changed areas
        # of a local look, the regions tracked stand as they were.
        carried = stream.tracker.outside(areas) if look.how == "local" else []
        stream.tracker.keep(kept + carried)
        return lines

    def _find(self, bgr: npt.NDArray[np.uint8], how: str, areas: Sequence[Box]) -> list[Quad]:
        """Blocking: the text boxes of the whole frame (reduced or full size), or of the
        changed areas at full size, in the frame's coordinates."""
        if how != "local":
            side = None if how == "full" else self.detector.budget.det_side
            return self.detector.find_text(bgr, side)
        quads: list[Quad] = []
        for x, y, w, h in areas:
            found = self.detector.find_text(bgr[y : y + h, x : x + w], None)
            quads += [q + np.array([x, y], np.float32) for q in found]
        return quads

    def _ask_closer(self, timestamp_s: float) -> None:
        if self._last_closer is None or timestamp_s - self._last_closer >= CLOSER_LOOK_GAP_S:
            self._closer.append(timestamp_s)
            self._last_closer = timestamp_s

    def _licence_mismatch(self, line: TextLine) -> list[Signal]:
        """A licence number shown in the opening or closing seconds that is not the one
        declared (3.1.10.1). No declared number: nothing to compare (creation refused it)."""
        declared = self.subject.declared.get("licence_number", "").strip()
        if not declared:
            return []
        return [
            Signal(
                self.detector.name,
                LICENCE_LABEL,
                line.timestamp_s,
                1.0,
                text=line.text,
                box=line.box,
                term=number,
                reference=declared,  # what the customer declared
                source="ocr",
            )
            for number in shown_numbers(line.text)
            if differs(declared, number)
        ]
