"""Banks as an operator and a reviewer use them: create, add videos (hashed; the files are
not kept), list, remove (audited), export and import in a documented text form.

Export format (UTF-8, one record a line):
    # vodgate-bank v1 <bank> <kind> <item>
    entry <reference>
    <pdq hex>,<quality>,<seconds>
    ...
A `<pdq hex>` line alone is HMA's PDQ text form (quality 100 at 0 s)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gateway.domain.audio_match import ITEM_S
from gateway.domain.banks import (
    BANK_NAME,
    ITEM,
    RIGHTS_ITEM,
    Bank,
    BankEntry,
    BankKind,
    FrameHash,
    parse_hash_line,
)
from gateway.domain.errors import BankInputInvalid, BankNotFound, MediaNoVideo, MediaRefused
from gateway.domain.media import SamplingPlan
from gateway.domain.ports.banks import AudioFingerprinter, BankStore, FrameHasher, NewEntry
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.media import FrameSampler, Prober
from gateway.services.file_digest import sha256_of

logger = logging.getLogger(__name__)

# References are sampled twice as often as uploads: an upload's frame then always lies
# within half a second of a reference frame.
REFERENCE_PLAN = SamplingPlan(interval_s=1.0, dense=False)
EXPORT_HEADER = "# vodgate-bank v1"
# An audio-only reference is fingerprinted up to this long (a song, an album side).
MAX_AUDIO_REFERENCE_S = 3600.0
MAX_IMPORT_LINES = 5_000_000


class BankService:
    def __init__(
        self,
        store: BankStore,
        prober: Prober,
        sampler: FrameSampler,
        hasher: FrameHasher,
        clock: Clock,
        audio: AudioFingerprinter,
    ) -> None:
        self.store = store
        self.prober = prober
        self.sampler = sampler
        self.hasher = hasher
        self.clock = clock
        self.audio = audio

    async def create(
        self,
        name: str,
        kind: BankKind,
        item: str,
        owner_tenant: str | None = None,
        *,
        max_distance: int = 31,
        min_matched_s: float = 5.0,
    ) -> Bank:
        if not BANK_NAME.match(name):
            raise BankInputInvalid("a bank name is 1-64 of a-z, 0-9, _ and -")
        if not ITEM.match(item):
            raise BankInputInvalid("--clause names an item of 3.1.10.3, e.g. 3.1.10.3(7)")
        if kind == BankKind.RIGHTS and (owner_tenant is None or item != RIGHTS_ITEM):
            raise BankInputInvalid(
                f"a rights bank needs --owner (the rights holder's tenant) and cites {RIGHTS_ITEM}"
            )
        if not 0 <= max_distance <= 64 or min_matched_s < 0:
            raise BankInputInvalid("max distance 0..64 bits, minimum match >= 0 s")
        bank = Bank(name, kind, item, owner_tenant, True, max_distance, min_matched_s)
        await self.store.create(bank, self.clock.now())
        return bank

    async def check_exists(self, name: str) -> Bank:
        bank = await self.store.get(name)
        if bank is None:
            raise BankNotFound(f"no bank named {name!r}")
        return bank

    async def add_file(
        self, bank: str, path: Path, added_by: str, *, upload_id: str | None = None,
        reference: str | None = None,
    ) -> tuple[BankEntry, bool]:  # fmt: skip
        """Hash a video's frames into the bank; the same file twice is one entry."""
        await self.check_exists(bank)
        entry = await self.hash_file(path, added_by, upload_id=upload_id, reference=reference)
        return await self.store.add_entry(bank, entry, self.clock.now())

    async def check_target(self, name: str) -> Bank:
        """A bank a reviewer may add a rejected upload to: an existing prohibited bank."""
        bank = await self.check_exists(name)
        if bank.kind != BankKind.PROHIBITED:
            raise BankInputInvalid(f"{name!r} is a rights bank: only its owner's files go there")
        return bank

    async def store_entry(self, bank: str, entry: NewEntry) -> tuple[BankEntry, bool]:
        return await self.store.add_entry(bank, entry, self.clock.now())

    async def hash_file(
        self, path: Path, added_by: str, *, upload_id: str | None = None,
        reference: str | None = None,
    ) -> NewEntry:  # fmt: skip
        """A video's reference hashes, not yet stored."""
        digest = await _sha256(path)
        still = await self.hasher.still_frame(path)
        if still is not None:  # a picture: one frame, matched wherever it is shown
            return NewEntry(
                reference or path.name, digest, upload_id, added_by, 0.0,
                await self.hasher.hash_reference_frames([still]), (),
                await self.hasher.thumbnails([still]),
            )  # fmt: skip
        try:
            media = await self.prober.probe(path)
        except MediaNoVideo:  # a song: its audio fingerprint is the reference
            return await self._audio_only(path, digest, added_by, upload_id, reference)
        except MediaRefused as exc:
            raise BankInputInvalid(
                f"{path.name}: not a video this gateway takes ({exc.code})"
            ) from exc
        hashes: list[FrameHash] = []
        thumbnails: list[tuple[float, bytes]] = []
        batch = []
        async for frame in self.sampler.sample(
            path, REFERENCE_PLAN, video=media.video, duration_s=media.duration_s
        ):
            batch.append(frame)
            if len(batch) >= 32:
                hashes += await self.hasher.hash_reference_frames(batch)
                thumbnails += await self.hasher.thumbnails(batch)
                batch = []
        hashes += await self.hasher.hash_reference_frames(batch)
        thumbnails += await self.hasher.thumbnails(batch)
        audio = await self.audio.fingerprint(path, media.duration_s) if media.audio_codec else []
        return NewEntry(
            reference or path.name, digest, upload_id, added_by, media.duration_s,
            sorted(hashes, key=lambda h: h.timestamp_s), audio, thumbnails,
        )  # fmt: skip

    async def _audio_only(
        self, path: Path, digest: str, added_by: str, upload_id: str | None,
        reference: str | None,
    ) -> NewEntry:  # fmt: skip
        try:
            audio = await self.audio.fingerprint(path, MAX_AUDIO_REFERENCE_S)
        except Exception as exc:  # ffmpeg or fpcalc could not read it: the file's fault
            raise BankInputInvalid(
                f"{path.name}: neither a video nor audio this gateway reads"
            ) from exc
        if not audio:
            raise BankInputInvalid(f"{path.name}: no video and no audio to fingerprint")
        seconds = round(len(audio) * ITEM_S, 1)
        return NewEntry(reference or path.name, digest, upload_id, added_by, seconds, (), audio)

    async def remove(self, bank: str, entry_id: int, actor: str) -> None:
        await self.check_exists(bank)
        await self.store.remove_entry(bank, entry_id, actor, self.clock.now())
        logger.info("bank.entry_removed", extra={"bank": bank, "entry": entry_id, "by": actor})

    async def export(self, name: str) -> list[str]:
        bank = await self.check_exists(name)
        lines = [f"{EXPORT_HEADER} {bank.name} {bank.kind.value} {bank.item}"]
        for entry in await self.store.entries(name):
            lines.append(f"entry {entry.reference}")
            lines += [
                f"{h.pdq},{h.quality},{h.timestamp_s:.3f}"
                for h in await self.store.hashes(entry.id)
            ]
        return lines

    async def import_lines(self, name: str, lines: Sequence[str], added_by: str) -> list[BankEntry]:
        """Entries from an export (or bare PDQ hex lines: one entry); checked whole before
        anything is stored, so a malformed file adds nothing."""
        await self.check_exists(name)
        if len(lines) > MAX_IMPORT_LINES:
            raise BankInputInvalid(f"more than {MAX_IMPORT_LINES} lines")
        parsed = _parse_export(lines)
        added = []
        for reference, hashes in parsed:
            digest = hashlib.sha256(
                "\n".join(f"{h.pdq},{h.timestamp_s}" for h in hashes).encode()
            ).hexdigest()
            duration = max((h.timestamp_s for h in hashes), default=0.0)
            entry, _ = await self.store.add_entry(
                name,
                NewEntry(reference, digest, None, added_by, duration, hashes),
                self.clock.now(),
            )
            added.append(entry)
        return added


def entry_json(entry: BankEntry) -> dict[str, Any]:
    """An entry as the CLI and the admin API show it (operators only: it names who added it)."""
    return {
        "entry": entry.id, "bank": entry.bank, "reference": entry.reference,
        "sha256": entry.sha256, "frames": entry.frames, "duration_s": entry.duration_s,
        "added_by": entry.added_by, "added_at": entry.added_at.isoformat(),
        "upload_id": entry.upload_id,
    }  # fmt: skip


def bank_json(bank: Bank, entries: int) -> dict[str, Any]:
    return {
        "name": bank.name, "kind": bank.kind.value, "clause": bank.item,
        "owner": bank.owner_tenant, "enabled": bank.enabled, "entries": entries,
        "version": bank.version, "max_distance": bank.max_distance,
        "min_matched_s": bank.min_matched_s,
    }  # fmt: skip


def _parse_export(lines: Iterable[str]) -> list[tuple[str, list[FrameHash]]]:
    entries: list[tuple[str, list[FrameHash]]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("entry "):
            entries.append((line[6:].strip()[:200] or f"entry at line {number}", []))
            continue
        try:
            frame = parse_hash_line(line, number)
        except ValueError as exc:
            raise BankInputInvalid(str(exc)) from exc
        if not entries:
            entries.append(("imported", []))
        entries[-1][1].append(frame)
    empty = [reference for reference, hashes in entries if not hashes]
    if empty or not entries:
        raise BankInputInvalid(f"entries without hashes: {empty[:5]}" if empty else "no hashes")
    return entries


async def _sha256(path: Path) -> str:
    try:
        return await sha256_of(path)
    except OSError as exc:
        raise BankInputInvalid(f"{path.name}: cannot be read") from exc
