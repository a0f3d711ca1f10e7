"""Hash banks of known content (Meta's HMA, YouTube's Content ID): a bank holds references
(frame hashes with their times) and says what a match means. A `prohibited` bank blocks
under the policy item it cites; a `rights` bank belongs to a rights holder (a tenant) and
sends other tenants' copies to review under item (7) and clause 5.1; the owner's pass.

A video matches a reference when enough of its sampled frames match the reference's frames
in time order, over a minimum matched duration (vPDQ's idea): one shared frame is not a
match. `match_references` is that rule, pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

BANK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PDQ_HEX = re.compile(r"^[0-9a-f]{64}$")
# The item a bank cites, as the policy names it: 3.1.10.3(1) .. 3.1.10.3(7).
ITEM = re.compile(r"^3\.1\.10\.3\([1-7]\)$")


class BankKind(StrEnum):
    PROHIBITED = "prohibited"
    RIGHTS = "rights"


@dataclass(frozen=True, slots=True)
class Bank:
    name: str
    kind: BankKind
    item: str  # the policy item it cites: "3.1.10.3(7)"
    owner_tenant: str | None  # a rights holder's bank; None for prohibited banks
    enabled: bool = True
    # PDQ: 256-bit hashes; 31 bits apart or fewer is the same picture (Meta's threshold).
    max_distance: int = 31
    min_matched_s: float = 5.0  # matched span of the upload, in seconds...
    min_frames: int = 3  # ...over at least this many of its sampled frames
    version: int = 0

    @property
    def label(self) -> str:
        return bank_label(self.kind, self.item)


def bank_label(kind: BankKind, item: str) -> str:
    """The policy label a match is scored under: `bank:3.1.10.3-4`, `rights:3.1.10.3-7`."""
    slug = item.replace("(", "-").rstrip(")")
    return f"{'bank' if kind == BankKind.PROHIBITED else 'rights'}:{slug}"


# Rights banks cite item (7) (and clause 5.1): copies of another's work.
RIGHTS_ITEM = "3.1.10.3(7)"


def bank_labels() -> list[str]:
    prohibited = [bank_label(BankKind.PROHIBITED, f"3.1.10.3({n})") for n in range(1, 8)]
    return [*prohibited, bank_label(BankKind.RIGHTS, RIGHTS_ITEM)]


@dataclass(frozen=True, slots=True)
class FrameHash:
    timestamp_s: float
    pdq: str  # 64 hex digits
    quality: int  # 0..100; PDQ below ~50 is a flat or blank picture


@dataclass(frozen=True, slots=True)
class BankEntry:
    id: int
    bank: str
    reference: str  # what it is, as the adder named it (a file name by default)
    sha256: str  # of the file it was made from (adding the same file twice is one entry)
    upload_id: str | None  # when it came from a reviewed upload
    added_by: str
    added_at: dt.datetime
    duration_s: float
    frames: int


@dataclass(frozen=True, slots=True)
class FrameMatch:
    """One sampled frame of the upload near one frame of a reference."""

    entry_id: int
    upload_s: float
    reference_s: float
    distance: int


@dataclass(frozen=True, slots=True)
class ReferenceMatch:
    entry_id: int
    upload_range: tuple[float, float]
    reference_range: tuple[float, float]
    frames: int  # upload frames matched in time order
    best: FrameMatch  # the closest pair (for side-by-side evidence)


# Frames of a copy keep the reference's pace: upload time minus reference time stays within
# this many seconds (trims and embedding shift it; re-timing to 25 fps does not change it).
OFFSET_TOLERANCE_S = 2.5


def match_references(
    matches: Iterable[FrameMatch], *, min_matched_s: float, min_frames: int
) -> list[ReferenceMatch]:
    """References matched over at least `min_matched_s` of the upload and `min_frames` of its
    frames, in time order: for each reference, the largest group of frame matches whose
    offset (upload time - reference time) agrees within OFFSET_TOLERANCE_S. A still picture
    (one reference time) matches frames wherever they are, over the same span."""
    by_entry: dict[int, list[FrameMatch]] = {}
    for match in matches:
        by_entry.setdefault(match.entry_id, []).append(match)
    found = []
    for entry_id, pairs in by_entry.items():
        best_group: list[FrameMatch] = []
        if len({p.reference_s for p in pairs}) == 1:  # a still picture: shown for a while
            offsets = [0.0]
            pairs = [FrameMatch(p.entry_id, p.upload_s, p.upload_s, p.distance) for p in pairs]
        else:
            offsets = sorted({round(p.upload_s - p.reference_s, 1) for p in pairs})
        for offset in offsets:
            group = [
                p for p in pairs if abs(p.upload_s - p.reference_s - offset) <= OFFSET_TOLERANCE_S
            ]
            # One upload frame counts once (its closest reference frame).
            per_frame: dict[float, FrameMatch] = {}
            for p in group:
                if p.upload_s not in per_frame or p.distance < per_frame[p.upload_s].distance:
                    per_frame[p.upload_s] = p
            if len(per_frame) > len(best_group):
                best_group = sorted(per_frame.values(), key=lambda p: p.upload_s)
        if len(best_group) < min_frames:
            continue
        span = best_group[-1].upload_s - best_group[0].upload_s
        if span < min_matched_s:
            continue
        found.append(
            ReferenceMatch(
                entry_id,
                (best_group[0].upload_s, best_group[-1].upload_s),
                (
                    min(p.reference_s for p in best_group),
                    max(p.reference_s for p in best_group),
                ),
                len(best_group),
                min(best_group, key=lambda p: p.distance),
            )
        )
    return sorted(found, key=lambda m: (-m.frames, m.entry_id))


def parse_hash_line(line: str, number: int) -> FrameHash:
    """One line of the export format: `<pdq hex>,<quality>,<seconds>` (HMA's PDQ text form
    is the hex first, so a bare hex line reads as quality 100 at 0 s)."""
    parts = [p.strip() for p in line.split(",")]
    pdq = parts[0].lower()
    if not PDQ_HEX.match(pdq):
        raise ValueError(f"line {number}: not a 64-digit PDQ hex hash")
    try:
        quality = int(parts[1]) if len(parts) > 1 and parts[1] else 100
        seconds = float(parts[2]) if len(parts) > 2 and parts[2] else 0.0
    except ValueError as exc:
        raise ValueError(f"line {number}: quality and seconds must be numbers") from exc
    if not 0 <= quality <= 100 or not 0 <= seconds < 10**7:
        raise ValueError(f"line {number}: quality 0..100 and seconds >= 0")
    return FrameHash(seconds, pdq, quality)
