"""Text regions tracked across frames, the recognition bound, and coverage gaps in the
decision (issue 27 item 1)."""

from __future__ import annotations

import numpy as np

from gateway.adapters.detectors.ocr_gate import ChangeGate, OcrBudget
from gateway.adapters.detectors.text_regions import (
    RecognitionBudget,
    Region,
    RegionTracker,
    appearance,
    shown_before,
)
from gateway.adapters.media.selection import ImageMarker
from gateway.domain.media import INTERVAL, TEXT, SamplingPlan
from gateway.domain.policy import CoverageGap, LabelRule, Policy, PolicyItem, Verdict, decide


def crop(text_columns: list[int], noise: int = 0) -> np.ndarray:
    """A 24x200 BGR crop with white bars for glyphs at the given columns (of 10)."""
    rng = np.random.default_rng(noise)
    image = (
        rng.integers(0, 60, (24, 200, 3), dtype=np.uint8)
        if noise
        else np.zeros((24, 200, 3), np.uint8)
    )
    for column in text_columns:
        image[4:20, column * 20 + 4 : column * 20 + 16] = 255
    return image


def test_the_same_text_over_a_moving_background_is_tracked_a_changed_one_is_not() -> None:
    tracker = RegionTracker()
    box = (10, 10, 200, 24)
    tracker.keep([Region(box, appearance(crop([0, 1, 2, 3, 4, 5])))])
    same, changed, other = tracker.match(
        [(12, 11, 200, 24), box, (400, 300, 200, 24)],
        [
            appearance(crop([0, 1, 2, 3, 4, 5], noise=7)),  # background moved under it
            appearance(crop([0, 1, 2, 3, 7, 8])),  # two characters changed
            appearance(crop([1, 3, 5, 7, 9])),  # other text elsewhere
        ],
    )
    assert same.same is not None
    assert (changed.same, changed.new) == (None, False)
    assert (other.same, other.new) == (None, True)


def test_text_that_moved_unchanged_was_shown_before_new_text_was_not() -> None:
    """A ticker or scrolling credits: pixels already on screen a frame ago, elsewhere along
    the rows or a little higher, are not read again; text entering is."""
    rng = np.random.default_rng(5)
    before = rng.integers(0, 40, (540, 960), dtype=np.uint8)
    line = crop([0, 1, 3, 4, 6, 8, 9])[:, :, 0]
    before[500:524, 600:800] = line
    now = rng.integers(0, 40, (540, 960), dtype=np.uint8)
    now[500:524, 430:630] = line  # scrolled 170 px left
    now[380:404, 100:300] = line  # credits: 120 px higher
    now[500:524, 700:900] = crop([1, 2, 5, 7])[:, :, 0]  # a new item entering
    assert shown_before(before, now, (430, 500, 200, 24))
    assert shown_before(before, now, (100, 380, 200, 24))
    assert not shown_before(before, now, (700, 500, 200, 24))
    assert not shown_before(before, now, (0, 0, 200, 24))  # noise, no text


def test_a_local_change_on_a_still_picture_is_detected_in_its_area_only() -> None:
    gate = ChangeGate(OcrBudget(), duration_s=120.0)
    ramp = np.linspace(0, 255, 960, dtype=np.float32)  # a picture with detail everywhere
    frame = np.repeat(np.tile(ramp, (540, 1))[:, :, None], 3, axis=2).astype(np.uint8)
    assert gate.choose(20.0, frame).how == "full"  # the stream's first frame
    assert gate.choose(21.0, frame).how == "reuse"
    captioned = frame.copy()
    captioned[440:480, 300:600] = 255  # a caption line appears
    look = gate.choose(22.0, captioned)
    assert look.how == "local"
    ((x, y, w, h),) = look.areas
    assert x <= 300
    assert y <= 440
    assert x + w >= 600
    assert y + h >= 480
    assert w * h < 0.15 * 960 * 540
    moved = np.roll(captioned, 40, axis=1)  # the whole picture pans
    assert gate.choose(23.0, moved).how == "small"


def test_local_detection_is_bounded_per_minute_by_the_pixels_it_reads() -> None:
    budget = OcrBudget(local_frames_per_minute=0.2)
    gate = ChangeGate(budget, duration_s=600.0)
    frame = np.zeros((540, 960, 3), np.uint8)
    frame[::40] = 200  # stripes: not flat
    gate.choose(100.0, frame)
    hows = []
    for i in range(8):
        changed = frame.copy()
        changed[200:260, 100 * i : 100 * i + 80] = 90
        hows.append(gate.choose(101.0 + i, changed).how)
    assert hows[0] == "local"
    assert hows[-1] == "small"


def test_changed_areas_grow_to_the_whole_of_a_line_they_touch() -> None:
    tracker = RegionTracker()
    tracker.keep([Region((100, 400, 500, 30), appearance(crop([0, 1, 2])))])
    (area,) = tracker.widen(((520, 390, 60, 50),), 960, 540)
    assert area[0] <= 100
    assert area[0] + area[2] >= 600
    assert tracker.outside((area,)) == []
    assert len(tracker.outside(((0, 0, 50, 50),))) == 1


def test_the_recognition_bound_is_per_minute_and_records_what_was_not_read() -> None:
    budget = RecognitionBudget(per_minute=5)
    assert budget.take(1.0, 3) == 3
    assert budget.take(2.0, 3) == 2
    assert budget.take(3.0, 1) == 0
    assert budget.take(9.0, 1) == 0
    assert budget.take(61.0, 4) == 4  # the next minute
    assert budget.recognised == 9
    assert budget.unread_ranges() == ((2.0, 3.0), (9.0, 9.0))


def test_text_frames_between_interval_samples_skip_the_image_models() -> None:
    marker = ImageMarker(SamplingPlan(interval_s=2.0, text_side=960, text_step_s=1.0))
    reasons = [marker.reason(t, 0.0) for t in (0.0, 0.98, 1.97, 2.95, 3.3, 4.0, 4.95)]
    assert reasons == [INTERVAL, TEXT, INTERVAL, TEXT, TEXT, INTERVAL, TEXT]
    assert marker.reason(5.2, 0.9) == INTERVAL  # a scene cut


def test_a_coverage_gap_sends_the_items_it_feeds_to_on_overload() -> None:
    item = PolicyItem(
        id="gambling",
        clause="3.1.10.3",
        text_zh="赌博",
        gloss_en="gambling",
        detectors=(LabelRule(label="ocr:gambling", review_at=0.6, block_at=0.85),),
    )
    other = PolicyItem(
        id="nsfw",
        clause="3.1.10.3",
        text_zh="色情",
        gloss_en="nsfw",
        detectors=(LabelRule(label="open_nsfw:nsfw", review_at=0.6, block_at=0.9),),
    )
    gap = CoverageGap("ppocr@v4", ("ocr:gambling",), "bound reached", ((12.0, 30.0),))
    for on_overload, verdict in (("review", Verdict.REVIEW), ("block", Verdict.BLOCK)):
        policy = Policy(
            id="p", version=1, review_threshold=0.4, items=(item, other), on_overload=on_overload
        )
        decision = decide(policy, [], [], [gap])
        assert decision.verdict == verdict
        (hit,) = decision.hits
        assert hit.item_id == "gambling"
        assert "not read: 12.0-30.0 s" in hit.reason
    assert decide(policy, [], []).verdict == Verdict.PASS
