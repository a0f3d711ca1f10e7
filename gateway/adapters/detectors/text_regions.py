"""Text regions tracked across one stream's frames: a region is its box and a small
appearance hash of its crop; a region found again at about the same place looking about the
same is the same text (its recognised lines are reused), anything else is new or changed and
is recognised, within a bound per minute of video. Times left unread are kept as ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

Box = tuple[int, int, int, int]  # x, y, width, height in the text frame
# The appearance hash: the crop's grey levels on a 32x8 grid, each cell above or below the
# mean (256 bits); the same text over a moving background differs in a few bits.
_HASH_GRID = (32, 8)
SAME_POSITION = 0.5  # intersection over union of two boxes at the same place
SAME_LOOK = 0.15  # share of hash bits that may differ for the same text
# Unread sample times closer than this (seconds) make one range.
RANGE_GAP_S = 2.5


def appearance(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, _HASH_GRID, interpolation=cv2.INTER_AREA).astype(np.float32)
    bits: npt.NDArray[np.bool_] = small > float(small.mean())
    return bits


def overlap(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(aw * ah + bw * bh - inter)


@dataclass
class Region:
    box: Box
    bits: npt.NDArray[np.bool_]


@dataclass
class Candidate:
    """A box found in this frame: the same as a tracked region, changed (a region at its
    place looks different) or new (nothing was there)."""

    box: Box
    bits: npt.NDArray[np.bool_]
    same: Region | None  # the tracked region it is (as it was when recognised)
    new: bool


@dataclass
class RegionTracker:
    """One stream's regions as of its last frame detected."""

    regions: list[Region] = field(default_factory=list)

    def match(self, boxes: list[Box], looks: list[npt.NDArray[np.bool_]]) -> list[Candidate]:
        out = []
        for box, bits in zip(boxes, looks, strict=True):
            placed = [r for r in self.regions if overlap(r.box, box) >= SAME_POSITION]
            same = next((r for r in placed if same_text(r, box, bits)), None)
            out.append(Candidate(box, bits, same=same, new=not placed))
        return out

    def keep(self, regions: list[Region]) -> None:
        """The regions of the frame just read; a region seen again is kept as it was when
        recognised, so text that changes a little at a time is read again once it adds up."""
        self.regions = regions


def same_text(region: Region, box: Box, bits: npt.NDArray[np.bool_]) -> bool:
    return (
        overlap(region.box, box) >= SAME_POSITION
        and float(np.count_nonzero(region.bits != bits)) <= SAME_LOOK * bits.size
    )


@dataclass
class Recognised:
    """The regions recognised lately in any stream (bounded): a region another stream (a
    parallel segment, a closer look) or a later frame finds again is not read twice."""

    limit: int = 256
    regions: list[Region] = field(default_factory=list)

    def find(self, box: Box, bits: npt.NDArray[np.bool_]) -> Region | None:
        return next((r for r in reversed(self.regions) if same_text(r, box, bits)), None)

    def add(self, region: Region) -> None:
        self.regions.append(region)
        del self.regions[: -self.limit]


@dataclass
class RecognitionBudget:
    """At most `per_minute` recognitions per minute of video in each group of streams (a
    time segment's decode; the closer looks together), so the count does not depend on how
    the parallel decodes interleave."""

    per_minute: int
    _used: dict[tuple[int, int], int] = field(default_factory=dict)
    _unread: list[float] = field(default_factory=list)
    recognised: int = 0

    def take(self, group: int, timestamp_s: float, wanted: int) -> int:
        """How many of `wanted` recognitions at this time fit; the time is recorded as
        unread when not all do."""
        key = (group, int(timestamp_s // 60))
        granted = max(0, min(wanted, self.per_minute - self._used.get(key, 0)))
        self._used[key] = self._used.get(key, 0) + granted
        self.recognised += granted
        if granted < wanted:
            self._unread.append(timestamp_s)
        return granted

    def unread_ranges(self) -> tuple[tuple[float, float], ...]:
        ranges: list[tuple[float, float]] = []
        for t in sorted(set(self._unread)):
            if ranges and t - ranges[-1][1] <= RANGE_GAP_S:
                ranges[-1] = (ranges[-1][0], t)
            else:
                ranges.append((t, t))
        return tuple(ranges)
