"""Text regions tracked across frames, the recognition bound, and coverage gaps in the
decision (issue 27 item 1)."""

from __future__ import annotations

import numpy as np

from gateway.adapters.detectors.text_regions import (
    RecognitionBudget,
    Region,
    RegionTracker,
    appearance,
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
    same, changed, elsewhere = tracker.match(
        [(12, 11, 200, 24), box, (400, 300, 200, 24)],
        [
            appearance(crop([0, 1, 2, 3, 4, 5], noise=7)),  # background moved under it
            appearance(crop([0, 1, 2, 3, 7, 8])),  # two characters changed
            appearance(crop([0, 1, 2, 3, 4, 5])),
        ],
    )
    assert same.same is not None
    assert (changed.same, changed.new) == (None, False)
    assert (elsewhere.same, elsewhere.new) == (None, True)


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
