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
# The appearance: the crop's grey levels on a grid 8 cells high and as wide as its aspect
# (a cell about an eighth of a character), each cell above or below the mean. The same text
# over a moving background differs in scattered cells; a changed character in a block.
_HASH_HEIGHT = 8
_HASH_MAX_WIDTH = 160
_CHUNK = 6  # columns compared as one block (about one character)
SAME_POSITION = 0.5  # intersection over union of two boxes at the same place
SAME_LOOK = 0.2  # share of a block's cells that may differ for the same text
SAME_WIDTH = 0.15  # relative difference of width beyond which the text is not the same
# Text that moved: how far up or down it may have gone since the frame before (pixels of
# the text frame), and how alike its pixels must be there (normalised correlation).
MOVED_ROWS = 160
SHOWN_BEFORE = 0.88
MIN_PATCH_STD = 12.0  # a crop flatter than this holds no text to compare
_MARGIN = 8  # pixels around a changed area grown to its regions
# Unread sample times closer than this (seconds) make one range.
RANGE_GAP_S = 2.5
Look = npt.NDArray[np.float32]
Grey = npt.NDArray[np.uint8]


def appearance(crop: npt.NDArray[np.uint8]) -> Look:
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape[:2]
    cells = max(_CHUNK, min(_HASH_MAX_WIDTH, round(_HASH_HEIGHT * width / max(1, height))))
    small: Look = cv2.resize(grey, (cells, _HASH_HEIGHT), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    return small


def same_look(a: Look, b: Look) -> bool:
    """Two crops' appearances show the same text: about as wide, and no block of columns
    differs in more than SAME_LOOK of its cells."""
    if abs(a.shape[1] - b.shape[1]) > SAME_WIDTH * max(a.shape[1], b.shape[1]):
        return False
    if b.shape != a.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    differ = (a > float(a.mean())) != (b > float(b.mean()))
    columns = differ.sum(axis=0)
    blocks = np.add.reduceat(columns, np.arange(0, columns.size, _CHUNK))
    return bool((blocks <= SAME_LOOK * _CHUNK * _HASH_HEIGHT).all())


def overlap(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(aw * ah + bw * bh - inter)


def union(a: Box, b: Box) -> Box:
    left, top = min(a[0], b[0]), min(a[1], b[1])
    right, bottom = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return left, top, right - left, bottom - top


def pad(box: Box, margin: int, width: int, height: int) -> Box:
    left, top = max(0, box[0] - margin), max(0, box[1] - margin)
    right = min(width, box[0] + box[2] + margin)
    bottom = min(height, box[1] + box[3] + margin)
    return left, top, right - left, bottom - top


def merged(boxes: list[Box]) -> tuple[Box, ...]:
    """Boxes that overlap, joined until none do."""
    out: list[Box] = []
    for box in boxes:
        while (other := next((o for o in out if overlap(o, box) > 0), None)) is not None:
            out.remove(other)
            box = union(box, other)
        out.append(box)
    return tuple(out)


@dataclass
class Region:
    box: Box
    bits: Look


@dataclass
class Candidate:
    """A box found in this frame: the same as a tracked region, changed (a region at its
    place looks different) or new (nothing was there)."""

    box: Box
    bits: Look
    same: Region | None  # the tracked region it is (as it was when recognised)
    new: bool


@dataclass
class RegionTracker:
    """One stream's regions as of its last frame detected."""

    regions: list[Region] = field(default_factory=list)

    def match(self, boxes: list[Box], looks: list[Look]) -> list[Candidate]:
        out = []
        for box, bits in zip(boxes, looks, strict=True):
            placed = [r for r in self.regions if overlap(r.box, box) >= SAME_POSITION]
            same = next((r for r in placed if same_text(r, box, bits)), None)
            out.append(Candidate(box, bits, same=same, new=not placed))
        return out

    def widen(self, areas: tuple[Box, ...], width: int, height: int) -> tuple[Box, ...]:
        """Changed areas grown to hold the whole of every tracked region they touch (a
        changed character belongs to a line), with a margin, merged where they overlap."""
        grown = []
        for area in areas:
            for region in self.regions:
                if overlap(area, region.box) > 0:
                    area = union(area, region.box)
            grown.append(pad(area, _MARGIN, width, height))
        return merged(grown)

    def outside(self, areas: tuple[Box, ...]) -> list[Region]:
        """The tracked regions that no area touches (they stand as they were)."""
        return [r for r in self.regions if all(overlap(r.box, a) == 0 for a in areas)]

    def keep(self, regions: list[Region]) -> None:
        """The regions of the frame just read; a region seen again is kept as it was when
        recognised, so text that changes a little at a time is read again once it adds up."""
        self.regions = regions


def same_text(region: Region, box: Box, bits: Look) -> bool:
    return overlap(region.box, box) >= SAME_POSITION and same_look(region.bits, bits)


def shown_before(before: Grey, now: Grey, box: Box) -> bool:
    """The pixels of `box` in this frame were already on screen in the frame before, at
    most MOVED_ROWS higher or lower and anywhere along the rows: text that moved unchanged
    (a ticker, scrolling credits) or did not change at all. Only the box's middle rows are
    compared: its edges hold the picture around the text, which moves on its own."""
    x, y, width, height = box
    y, height = y + height // 4, height // 2  # the middle rows: glyphs, not what is around
    patch = now[y : y + height, x : x + width]
    if width < 8 or height < 4 or float(patch.std()) < MIN_PATCH_STD:
        return False  # too small or too flat to tell
    top, bottom = max(0, y - MOVED_ROWS), min(before.shape[0], y + height + MOVED_ROWS)
    window = before[top:bottom]
    if window.shape[0] < height or window.shape[1] < width:
        return False
    fit = cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED)
    return float(fit.max()) >= SHOWN_BEFORE


@dataclass
class Recognised:
    """The regions recognised lately in any stream (bounded): a region another stream (a
    parallel segment, a closer look) or a later frame finds again is not read twice."""

    limit: int = 256
    regions: list[Region] = field(default_factory=list)

    def find(self, box: Box, bits: Look) -> Region | None:
        return next((r for r in reversed(self.regions) if same_text(r, box, bits)), None)

    def add(self, region: Region) -> None:
        self.regions.append(region)
        del self.regions[: -self.limit]


@dataclass
class RecognitionBudget:
    """At most `per_minute` recognitions per minute of video, every stream together. Past
    it, which regions were read first depends on how parallel decodes interleave; the
    decision then says its coverage is partial, and on_overload decides at least."""

    per_minute: int
    _used: dict[int, int] = field(default_factory=dict)
    _unread: list[float] = field(default_factory=list)
    recognised: int = 0

    def take(self, timestamp_s: float, wanted: int) -> int:
        """How many of `wanted` recognitions at this time fit; the time is recorded as
        unread when not all do."""
        key = int(timestamp_s // 60)
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
