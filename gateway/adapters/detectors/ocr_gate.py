"""How hard OCR looks at each text frame: every frame goes through text detection unless
nothing changed since the last one detected. Detection runs at a reduced size (large text,
~1/4 of the full-size cost) on moving pictures, and at the text frame's full size where small
text must be found: a stream's first frame, a local change on a still picture (a caption
appearing; bounded per minute), the opening and closing seconds (licence numbers), and
periodically (persistent small text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

# The frame's fingerprint: a grey thumbnail whose cells are ~20 px of a 960x540 frame, so a
# caption line that appears changes several cells strongly.
_GRID = (48, 27)

How = Literal["reuse", "flat", "small", "full"]


@dataclass(frozen=True, slots=True)
class OcrBudget:
    det_side: int = 256  # short side of the frame for detection at reduced size
    regions_per_minute: int = 120  # distinct regions recognised per minute of video, at most
    full_every_s: float = 15.0  # a full-size detection at least this often...
    edge_full_every_s: float = 3.0  # ...and this often in the opening and closing seconds
    full_per_minute: int = 12  # full-size detections for local changes, per minute at most
    edges_s: float = 10.0  # the opening and closing seconds (licence numbers are shown there)
    still: float = 8.0  # grey-level change (0..255) in a cell that counts as a change
    local: float = 0.25  # a change in at most this share of cells is local (a still picture)
    flat: float = 1.0  # a frame whose grey levels vary less than this holds no text


@dataclass
class ChangeGate:
    """One stream's (frames in time order) choice of detection for each frame."""

    budget: OcrBudget
    duration_s: float
    closer: bool = False  # a closer look around new text: reduced size only (cost)
    _last: npt.NDArray[np.int16] | None = None
    _last_full: float | None = None
    _full_used: dict[int, int] = field(default_factory=dict)

    def choose(self, timestamp_s: float, pixels: npt.NDArray[np.uint8]) -> How:
        """reuse: nothing changed since the last frame detected (its regions stand); flat:
        no text can be there; small or full: detect at reduced or full size."""
        budget = self.budget
        grey = cv2.resize(
            cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), _GRID, interpolation=cv2.INTER_AREA
        ).astype(np.int16)
        if float(grey.std()) < budget.flat:
            self._last = grey
            return "flat"
        how: How = "small"
        if self.closer:
            if self._last is not None and not (np.abs(grey - self._last) >= budget.still).any():
                return "reuse"
        elif self._last is None or self._last_full is None:
            how = "full"
        else:
            changed = np.abs(grey - self._last) >= budget.still
            if not changed.any():
                return "reuse"  # compared with the last frame detected: slow fades add up
            every = budget.edge_full_every_s if self.in_edges(timestamp_s) else budget.full_every_s
            minute = int(timestamp_s // 60)
            if timestamp_s - self._last_full >= every:
                how = "full"
            elif (
                float(changed.mean()) <= budget.local
                and self._full_used.get(minute, 0) < budget.full_per_minute
            ):
                self._full_used[minute] = self._full_used.get(minute, 0) + 1
                how = "full"
        self._last = grey
        if how == "full":
            self._last_full = timestamp_s
        return how

    def in_edges(self, timestamp_s: float) -> bool:
        return (
            timestamp_s < self.budget.edges_s or timestamp_s > self.duration_s - self.budget.edges_s
        )
