"""Which sampled frames OCR reads: frames where text may have appeared or changed, the
opening and closing seconds (where a licence number is shown), and every Nth sample anyway,
within a budget per window of video time, so text-like noise on every frame cannot make
OCR (~0.2 s a frame here) the cost of a whole screening."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

# The frame's fingerprint: a grey thumbnail whose cells are ~20 px of a 960x540 frame, so a
# caption line that appears changes several cells strongly.
_GRID = (48, 27)


@dataclass(frozen=True, slots=True)
class OcrBudget:
    window_s: float = 15.0  # budget window of video time...
    per_window: int = 2  # ...and the frames OCR reads in each at most
    every_nth: int = 4  # a frame is read after this many skipped samples, changed or not
    edges_s: float = 10.0  # the opening and closing seconds (licence numbers are shown there)
    change: float = 24.0  # grey-level change (0..255) in any cell that counts as new content
    flat: float = 1.0  # a frame whose grey levels vary less than this holds no text


@dataclass
class OcrGate:
    budget: OcrBudget
    duration_s: float
    _last: npt.NDArray[np.int16] | None = None
    _last_edge: str = ""  # the edge ("opening", "closing" or "") of the last frame read
    _skipped: int = 0
    _used: dict[int, int] = field(default_factory=dict)
    read: int = 0
    skipped_total: int = 0

    def wants(self, timestamp_s: float, pixels: npt.NDArray[np.uint8]) -> bool:
        window = int(timestamp_s // self.budget.window_s)
        if self._used.get(window, 0) >= self.budget.per_window:
            return self._skip()
        grey = cv2.resize(
            cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), _GRID, interpolation=cv2.INTER_AREA
        ).astype(np.int16)
        if float(grey.std()) < self.budget.flat:
            return self._skip()
        changed = self._last is None or int(np.abs(grey - self._last).max()) >= self.budget.change
        edge = self._edge(timestamp_s)
        # Entering the opening or closing seconds counts as new: a licence number shown
        # there is looked for in text read there.
        entered = edge != "" and edge != self._last_edge
        if not (changed or entered or self._skipped >= self.budget.every_nth):
            return self._skip()
        self._last = grey
        self._last_edge = edge
        self._skipped = 0
        self._used[window] = self._used.get(window, 0) + 1
        self.read += 1
        return True

    def in_edges(self, timestamp_s: float) -> bool:
        return self._edge(timestamp_s) != ""

    def _edge(self, timestamp_s: float) -> str:
        if timestamp_s < self.budget.edges_s:
            return "opening"
        if timestamp_s > self.duration_s - self.budget.edges_s:
            return "closing"
        return ""

    def _skip(self) -> bool:
        self._skipped += 1
        self.skipped_total += 1
        return False
