"""The matching rule of hash banks, pure: frames in time order over a minimum span."""

from __future__ import annotations

import pytest

from gateway.domain.banks import (
    BankKind,
    FrameMatch,
    bank_label,
    match_references,
    parse_hash_line,
)


def pairs(entry: int, offset: float, times: list[float], distance: int = 4) -> list[FrameMatch]:
    return [FrameMatch(entry, t, t - offset, distance) for t in times]


def test_one_shared_frame_is_not_a_match() -> None:
    assert match_references(pairs(1, 0, [10.0]), min_matched_s=5, min_frames=3) == []


def test_frames_at_one_offset_over_the_span_match() -> None:
    # An upload that embeds the reference 8 s in (offset 8), plus stray matches elsewhere.
    found = match_references(
        pairs(1, 8, [8, 10, 12, 14, 16]) + pairs(1, -30, [2]) + pairs(1, 40, [50]),
        min_matched_s=5,
        min_frames=3,
    )
    assert len(found) == 1
    assert (found[0].upload_range, found[0].reference_range, found[0].frames) == (
        (8, 16),
        (0, 8),
        5,
    )


def test_scattered_matches_at_different_offsets_do_not_add_up() -> None:
    # Each upload frame near a different moment of the reference (offsets 10 s apart).
    scattered = [FrameMatch(1, 2.0 * i, 2.0 * i - 10.0 * i, 10) for i in range(20)]
    assert match_references(scattered, min_matched_s=5, min_frames=3) == []


def test_too_short_a_span_is_not_a_match() -> None:
    assert match_references(pairs(2, 0, [1, 2, 3, 4]), min_matched_s=5, min_frames=3) == []


def test_labels_and_hash_lines() -> None:
    assert bank_label(BankKind.PROHIBITED, "3.1.10.3(4)") == "bank:3.1.10.3-4"
    assert bank_label(BankKind.RIGHTS, "3.1.10.3(7)") == "rights:3.1.10.3-7"
    line = parse_hash_line("F" * 64 + ",87,12.5", 3)
    assert (line.pdq, line.quality, line.timestamp_s) == ("f" * 64, 87, 12.5)
    assert parse_hash_line("0" * 64, 1).quality == 100
    with pytest.raises(ValueError, match="line 7"):
        parse_hash_line("0" * 63, 7)
    with pytest.raises(ValueError, match="line 2: quality"):
        parse_hash_line("0" * 64 + ",101,0", 2)
