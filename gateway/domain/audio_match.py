"""Audio matching for rights banks, pure: Chromaprint's raw fingerprint is a list of 32-bit
items, one per ~0.124 s of audio. A reference is found in an upload where many items agree
exactly at one offset (votes), and the aligned stretch then stays within a bit-error rate
(Chromaprint's own matching idea, as AcoustID uses it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ITEM_S = 0.1238  # seconds of audio per fingerprint item (Chromaprint's default algorithm)
# Items repeated more often than this in one upload carry no identity (silence, a drone).
MAX_REPEATS = 8
WINDOW = 16  # items per error window (~2 s)
MAX_WINDOW_ERROR_BITS = 9.0  # mean differing bits per item inside a matching window


@dataclass(frozen=True, slots=True)
class AudioMatch:
    entry_id: int
    upload_range: tuple[float, float]  # seconds
    reference_range: tuple[float, float]
    error_rate: float  # differing bits / 32 over the matched stretch


def build_index(references: Mapping[int, Sequence[int]]) -> dict[int, list[tuple[int, int]]]:
    """Item value -> (entry, position) for every reference item."""
    index: dict[int, list[tuple[int, int]]] = {}
    for entry_id, items in references.items():
        for position, value in enumerate(items):
            index.setdefault(value, []).append((entry_id, position))
    return index


def match_audio(
    upload: Sequence[int],
    references: Mapping[int, Sequence[int]],
    index: dict[int, list[tuple[int, int]]],
    *,
    min_matched_s: float,
) -> list[AudioMatch]:
    counts = Counter(upload)
    votes: Counter[tuple[int, int]] = Counter()
    for position, value in enumerate(upload):
        if counts[value] > MAX_REPEATS:
            continue
        for entry_id, ref_position in index.get(value, ()):
            votes[(entry_id, ref_position - position)] += 1
    found: dict[int, AudioMatch] = {}
    min_items = max(WINDOW, round(min_matched_s / ITEM_S))
    for (entry_id, offset), count in votes.most_common(20):
        if count < 3 or entry_id in found:
            continue
        match = _aligned_stretch(upload, references[entry_id], entry_id, offset, min_items)
        if match is not None:
            found[entry_id] = match
    return sorted(found.values(), key=lambda m: m.entry_id)


def _aligned_stretch(
    upload: Sequence[int], reference: Sequence[int], entry_id: int, offset: int, min_items: int
) -> AudioMatch | None:
    """The longest run of windows whose items differ little, with the upload shifted by
    `offset` items against the reference."""
    start = max(0, -offset)
    end = min(len(upload), len(reference) - offset)
    errors = [(upload[i] ^ reference[i + offset]).bit_count() for i in range(start, end)]
    best: tuple[int, int] | None = None
    run_start: int | None = None
    for w in range(0, len(errors) - WINDOW + 1, WINDOW // 2):
        good = sum(errors[w : w + WINDOW]) / WINDOW <= MAX_WINDOW_ERROR_BITS
        if good and run_start is None:
            run_start = w
        if (not good or w + WINDOW // 2 > len(errors) - WINDOW) and run_start is not None:
            run_end = w + WINDOW if good else w + WINDOW // 2
            if best is None or run_end - run_start > best[1] - best[0]:
                best = (run_start, run_end)
            run_start = None
    if best is None or best[1] - best[0] < min_items:
        return None
    a, b = best
    rate = sum(errors[a:b]) / (32 * (b - a))
    u0, u1 = start + a, start + b
    return AudioMatch(
        entry_id,
        (round(u0 * ITEM_S, 1), round(u1 * ITEM_S, 1)),
        (round((u0 + offset) * ITEM_S, 1), round((u1 + offset) * ITEM_S, 1)),
        round(rate, 3),
    )
