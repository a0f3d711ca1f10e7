"""What the bank service and the bank matcher ask of storage and of a frame hasher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.domain.banks import Bank, BankEntry, FrameHash
from gateway.domain.media import SampledFrame


@dataclass(frozen=True, slots=True)
class NewEntry:
    reference: str
    sha256: str
    upload_id: str | None
    added_by: str
    duration_s: float
    hashes: Sequence[FrameHash]
    audio: Sequence[int] = ()  # Chromaprint items of its audio, when it has any
    # Small JPEGs of its frames (time, bytes): the reference side of a match's evidence.
    thumbnails: Sequence[tuple[float, bytes]] = ()


@dataclass(frozen=True, slots=True)
class IndexedHash:
    """One stored frame hash with what a match on it means (for the in-memory index)."""

    entry_id: int
    bank: str
    timestamp_s: float
    pdq: str


class BankStore(Protocol):
    async def create(self, bank: Bank, now: dt.datetime) -> None:
        """Raises BankExists."""
        ...

    async def get(self, name: str) -> Bank | None: ...

    async def banks(self) -> list[tuple[Bank, int]]:
        """Every bank with its entry count."""
        ...

    async def add_entry(
        self, bank: str, entry: NewEntry, now: dt.datetime
    ) -> tuple[BankEntry, bool]:
        """The entry, and whether it is new (the same file twice is one entry). Bumps the
        bank's version when it is."""
        ...

    async def remove_entry(self, bank: str, entry_id: int, actor: str, now: dt.datetime) -> None:
        """Audited; bumps the bank's version. Raises BankEntryNotFound."""
        ...

    async def entries(self, bank: str) -> list[BankEntry]: ...

    async def entry(self, entry_id: int) -> BankEntry | None: ...

    async def hashes(self, entry_id: int) -> list[FrameHash]: ...

    async def versions(self) -> tuple[tuple[str, int, bool], ...]:
        """(name, version, enabled) of every bank: what the index was built from."""
        ...

    async def indexed_hashes(self) -> list[IndexedHash]:
        """Every frame hash of every enabled bank (to build the index)."""
        ...

    async def thumbnail(self, entry_id: int, timestamp_s: float) -> bytes | None:
        """The entry's stored frame picture nearest to that time."""
        ...

    async def indexed_audio(self) -> dict[int, tuple[str, list[int]]]:
        """Every audio fingerprint of every enabled bank: entry -> (bank, items)."""
        ...


class AudioFingerprinter(Protocol):
    async def fingerprint(self, path: Path, duration_s: float) -> list[int]:
        """Chromaprint's raw items for the first audio track; [] when there is none."""
        ...


class FrameHasher(Protocol):
    @property
    def name(self) -> str: ...

    async def hash_frames(self, frames: Sequence[SampledFrame]) -> list[FrameHash]:
        """One perceptual hash per frame, with its quality."""
        ...

    async def still_frame(self, path: Path) -> SampledFrame | None:
        """A still picture file as one frame at 0 s, as the sampler would give it; None when
        the file is not a picture."""
        ...

    async def thumbnails(self, frames: Sequence[SampledFrame]) -> list[tuple[float, bytes]]:
        """A small JPEG of each frame, with its time (evidence beside a match)."""
        ...

    async def hash_reference_frames(self, frames: Sequence[SampledFrame]) -> list[FrameHash]:
        """A reference's hashes: each frame and the variants a copy is likely to be (centre
        crops), all at the frame's time."""
        ...
