"""BankMatcher: sampled frames hashed with PDQ, looked up in the banks' index, and judged per
reference in time order (`domain.banks.match_references`). A prohibited bank's match is a
`bank:<item>` signal; a rights bank's is `rights:<item>` unless the upload is its owner's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from gateway.adapters.detectors.bank_index import IndexSnapshot, LiveBankIndex
from gateway.adapters.detectors.pdq import PdqHasher
from gateway.domain.audio_match import match_audio
from gateway.domain.banks import Bank, BankKind, FrameMatch, bank_labels, match_references
from gateway.domain.decisions import REFERENCE_PICTURE
from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal
from gateway.domain.ports.banks import AudioFingerprinter
from gateway.domain.ports.detection import ScreeningSubject

logger = logging.getLogger(__name__)

# PDQ's own quality score: below it a frame is too flat or blank to say anything.
MIN_QUALITY = 50
# Frame matches kept per screening (a video matching everywhere needs no more evidence).
MAX_FRAME_MATCHES = 20_000
# Upload frames kept as thumbnails for the evidence (the matched ones, the first few).
MAX_PICTURES = 20


class BankMatcher:
    def __init__(
        self,
        index: LiveBankIndex,
        hasher: PdqHasher | None = None,
        audio: AudioFingerprinter | None = None,
    ) -> None:
        self.index = index
        self.hasher = hasher or PdqHasher()
        self.audio = audio  # None: audio references are not matched
        self.name = "banks@pdq"
        self.labels = bank_labels()

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        """Bank versions; and the tenant when a rights bank exists (its owner passes)."""
        snapshot = await self.index.current()
        rights = any(b.kind == BankKind.RIGHTS for b in snapshot.banks.values())
        return f"{self.name}:{snapshot.versions}:{tenant_id if rights else ''}"

    async def begin(self, subject: ScreeningSubject) -> BankPass:
        return BankPass(self, await self.index.current(), subject)


@dataclass
class BankPass:
    matcher: BankMatcher
    snapshot: IndexSnapshot
    subject: ScreeningSubject
    matches: list[FrameMatch] = field(default_factory=list)
    # Thumbnails of upload frames that matched something (the upload side of the evidence).
    pictures: dict[float, bytes] = field(default_factory=dict)
    hashed: int = 0
    skipped_flat: int = 0

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        if self.snapshot.index.ntotal == 0 or not frames:
            return []
        sampled = [f for f in frames if f.reason != "dense"]
        # Each frame and its mirror image: a horizontally flipped copy matches too.
        mirrored = [replace(f, pixels=np.ascontiguousarray(f.pixels[:, ::-1])) for f in sampled]
        hashes = await self.matcher.hasher.hash_frames(sampled + mirrored)
        usable = [h for h in hashes if h.quality >= MIN_QUALITY]
        self.hashed += len(sampled)
        self.skipped_flat += len(hashes) - len(usable)
        radius = max((b.max_distance for b in self.snapshot.banks.values()), default=31)
        found = await asyncio.to_thread(
            self.snapshot.search,
            [h.pdq for h in usable],
            [h.timestamp_s for h in usable],
            radius,
        )
        matched_at = set()
        for match in found:
            bank = self.snapshot.banks.get(self.snapshot.entry_bank.get(match.entry_id, ""))
            if bank is not None and match.distance <= bank.max_distance:
                self.matches.append(match)
                matched_at.add(match.upload_s)
        del self.matches[MAX_FRAME_MATCHES:]
        wanted = [f for f in sampled if f.timestamp_s in matched_at and f.timestamp_s not in
                  self.pictures][: max(0, MAX_PICTURES - len(self.pictures))]  # fmt: skip
        if wanted:
            self.pictures.update(await self.matcher.hasher.thumbnails(wanted))
        return []

    async def finish(self) -> list[Signal]:
        logger.info(
            "banks.frames",
            extra={"frames_hashed": self.hashed, "flat_hashes_skipped": self.skipped_flat,
                   "frame_matches": len(self.matches)},
        )  # fmt: skip
        return [*await self._video_signals(), *await self._audio_signals()]

    async def _audio_signals(self) -> list[Signal]:
        snapshot, fingerprinter = self.snapshot, self.matcher.audio
        if not snapshot.audio or fingerprinter is None or self.subject.media.audio_codec is None:
            return []
        items = await fingerprinter.fingerprint(self.subject.path, self.subject.media.duration_s)
        min_s = min((b.min_matched_s for b in snapshot.banks.values()), default=5.0)
        found = await asyncio.to_thread(
            match_audio, items, snapshot.audio, snapshot.audio_index, min_matched_s=min_s
        )
        signals = []
        for match in found:
            bank = snapshot.banks[snapshot.entry_bank[match.entry_id]]
            if self._owned(bank) or match.upload_range[1] - match.upload_range[0] < (
                bank.min_matched_s
            ):
                continue
            (r0, r1) = match.reference_range
            signals.append(
                Signal(
                    self.matcher.name,
                    bank.label,
                    match.upload_range[0],
                    1.0,
                    reference=f"entry {match.entry_id} audio at {r0:.1f}-{r1:.1f} s",
                    bank=bank.name,
                    end_s=match.upload_range[1],
                    text=f"audio matched, {match.error_rate:.1%} of bits differ",
                    source="audio",
                )
            )
        return signals

    async def _side_by_side(self, best: FrameMatch) -> tuple[tuple[str, bytes], ...]:
        """The closest pair: the upload's frame and the reference's, with their distance."""
        pictures = []
        if self.pictures:  # the kept upload frame nearest the closest pair
            at = min(self.pictures, key=lambda t: abs(t - best.upload_s))
            pictures.append((f"bank match: upload at {at:.1f} s", self.pictures[at]))
        reference = await self.matcher.index.store.thumbnail(best.entry_id, best.reference_s)
        if reference is not None:
            caption = (
                f"{REFERENCE_PICTURE} entry {best.entry_id} at {best.reference_s:.1f} s, "
                f"{best.distance} bits apart"
            )
            pictures.append((caption, reference))
        return tuple(pictures)

    def _owned(self, bank: Bank) -> bool:
        """A rights holder's own uploads pass."""
        return bank.kind == BankKind.RIGHTS and bank.owner_tenant == self.subject.tenant_id

    async def _video_signals(self) -> list[Signal]:
        signals = []
        by_bank: dict[str, list[FrameMatch]] = {}
        for match in self.matches:
            by_bank.setdefault(self.snapshot.entry_bank[match.entry_id], []).append(match)
        for name, matches in by_bank.items():
            bank = self.snapshot.banks[name]
            if self._owned(bank):
                continue
            for found in match_references(
                matches, min_matched_s=bank.min_matched_s, min_frames=bank.min_frames
            ):
                (r0, r1) = found.reference_range
                signals.append(
                    Signal(
                        self.matcher.name,
                        bank.label,
                        found.upload_range[0],
                        1.0,
                        reference=f"entry {found.entry_id} at {r0:.1f}-{r1:.1f} s",
                        bank=bank.name,
                        end_s=found.upload_range[1],
                        text=f"{found.frames} frames matched, closest {found.best.distance} bits",
                        source="bank",
                        pictures=await self._side_by_side(found.best),
                    )
                )
        return signals
