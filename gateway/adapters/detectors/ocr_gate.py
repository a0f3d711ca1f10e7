"""How hard OCR looks at each text frame: every frame goes through text detection unless
nothing changed since the last one detected. Detection runs at a reduced size (large text,
~1/4 of the full-size cost) on moving pictures; at the text frame's full size on a stream's
first frame, the opening and closing seconds (licence numbers) and periodically (persistent
small text); and, where a still picture changes locally (a caption appearing, a counter
ticking), at full size on the changed areas only, which costs their share of the frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from gateway.adapters.detectors.text_regions import Box

# The frame's fingerprint: a grey thumbnail whose cells are ~20 px of a 960x540 frame, so a
# caption line that appears changes several cells strongly.
_GRID = (48, 27)
# Changed areas are grown by this many cells each way: the detector needs the text's
# surroundings, and a changed character belongs to a line that did not change.
_AREA_MARGIN_CELLS = 2

How = Literal["reuse", "flat", "small", "full", "local"]


@dataclass(frozen=True, slots=True)
class OcrBudget:
    det_side: int = 256  # short side of the frame for detection at reduced size
    regions_per_minute: int = 120  # distinct regions recognised per minute of video, at most
    full_every_s: float = 15.0  # a full-size detection at least this often...
    edge_full_every_s: float = 3.0  # ...and this often in the opening and closing seconds
    # Full-size detection of changed areas, per minute of video at most, in frames' worth of
    # pixels (a caption line is ~1/20 of a frame).
    local_frames_per_minute: float = 6.0
    local_max_share: float = 0.25  # areas larger than this share of the frame: not local
    edges_s: float = 10.0  # the opening and closing seconds (licence numbers are shown there)
    still: float = 8.0  # grey-level change (0..255) in a cell that counts as a change
    flat: float = 1.0  # a frame whose grey levels vary less than this holds no text


@dataclass(frozen=True, slots=True)
class Look:
    how: How
    areas: tuple[Box, ...] = ()  # for "local": the changed areas, in the frame's pixels


@dataclass
class ChangeGate:
    """One stream's (frames in time order) choice of detection for each frame."""

    budget: OcrBudget
    duration_s: float
    closer: bool = False  # a closer look around new text: reduced size only (cost)
    _last: npt.NDArray[np.int16] | None = None
    _last_full: float | None = None
    _local_used: dict[int, float] = field(default_factory=dict)

    def choose(self, timestamp_s: float, pixels: npt.NDArray[np.uint8]) -> Look:
        """reuse: nothing changed since the last frame detected (its regions stand); flat:
        no text can be there; small or full: detect the whole frame at reduced or full size;
        local: detect only the changed areas, at full size."""
        budget = self.budget
        grey = cv2.resize(
            cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), _GRID, interpolation=cv2.INTER_AREA
        ).astype(np.int16)
        if float(grey.std()) < budget.flat:
            self._last = grey
            return Look("flat")
        look = Look("small")
        if self.closer:
            if self._last is not None and not (np.abs(grey - self._last) >= budget.still).any():
                return Look("reuse")
        elif self._last is None or self._last_full is None:
            look = Look("full")
        else:
            changed = np.abs(grey - self._last) >= budget.still
            if not changed.any():
                return Look("reuse")  # compared with the last frame detected: slow fades add up
            every = budget.edge_full_every_s if self.in_edges(timestamp_s) else budget.full_every_s
            if timestamp_s - self._last_full >= every:
                look = Look("full")
            else:
                look = self._local(timestamp_s, changed, pixels.shape[1], pixels.shape[0])
        self._last = grey
        if look.how == "full":
            self._last_full = timestamp_s
        return look

    def _local(
        self, timestamp_s: float, changed: npt.NDArray[np.bool_], width: int, height: int
    ) -> Look:
        """The changed areas when they are a small share of the frame and the minute's
        allowance of local detection holds them; else a reduced-size look at the whole."""
        areas = changed_areas(changed, width, height)
        share = sum(w * h for _, _, w, h in areas) / float(width * height)
        minute = int(timestamp_s // 60)
        used = self._local_used.get(minute, 0.0)
        if (
            share > self.budget.local_max_share
            or used + share > self.budget.local_frames_per_minute
        ):
            return Look("small")
        self._local_used[minute] = used + share
        return Look("local", areas)

    def in_edges(self, timestamp_s: float) -> bool:
        return (
            timestamp_s < self.budget.edges_s or timestamp_s > self.duration_s - self.budget.edges_s
        )


def changed_areas(changed: npt.NDArray[np.bool_], width: int, height: int) -> tuple[Box, ...]:
    """The bounding boxes, in pixels, of the groups of changed cells, each grown by a margin
    (groups that then touch are one area)."""
    rows, columns = changed.shape
    kernel = np.ones((2 * _AREA_MARGIN_CELLS + 1, 2 * _AREA_MARGIN_CELLS + 1), np.uint8)
    grown = cv2.dilate(changed.astype(np.uint8), kernel)
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    cell_w, cell_h = width / columns, height / rows
    areas = []
    for x, y, w, h, _ in stats[1:count]:
        left, top = int(x * cell_w), int(y * cell_h)
        right, bottom = min(width, round((x + w) * cell_w)), min(height, round((y + h) * cell_h))
        areas.append((left, top, right - left, bottom - top))
    return tuple(areas)
