from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.adapters.policy_files import load_content_policy
from gateway.domain.policy import DetectorFailure, Policy, Signal, Verdict, decide
from gateway.runtime.settings import PROJECT_ROOT

POLICY = load_content_policy(PROJECT_ROOT / "policies" / "prohibited-content.yaml")
NSFW = "open_nsfw:nsfw"


def signal(score: float, at: float = 0.0, label: str = NSFW) -> Signal:
    return Signal("open_nsfw@1", label, at, score)


def test_the_file_has_every_item_of_3_1_10_3_and_3_1_3_5() -> None:
    assert [i.id for i in POLICY.items] == [f"3.1.10.3({n})" for n in range(1, 8)] + ["3.1.10.1"]
    # After issue 10 every item of the list has at least one detector.
    assert all(item.detectors for item in POLICY.items)
    covered = {c for i in POLICY.items for c in i.also_covers}
    assert covered == {f"3.1.3.5.{n}" for n in range(1, 9)}
    assert all(i.text_zh and i.gloss_en for i in POLICY.items)
    assert all(i.on_error in ("review", "block") for i in POLICY.items)


def test_no_signal_passes_and_thresholds_with_min_frames() -> None:
    assert decide(POLICY, []).verdict == Verdict.PASS
    assert decide(POLICY, [signal(0.95)]).verdict == Verdict.PASS  # one frame is not enough
    review = decide(POLICY, [signal(0.7, 2), signal(0.65, 4), signal(0.1, 6)])
    assert review.verdict == Verdict.REVIEW
    assert [s.timestamp_s for s in review.hits[0].frames] == [2, 4]
    block = decide(POLICY, [signal(0.99, 8), signal(0.93, 10)])
    assert block.verdict == Verdict.BLOCK
    hit = block.hits[0]
    assert (hit.item_id, hit.clause, hit.threshold) == ("3.1.10.3(3)", "3.1.10.3", 0.92)
    assert hit.text_zh.startswith("封建迷信")
    assert (block.policy_id, block.policy_version) == ("prohibited-content", 3)


def test_a_failed_detector_never_passes() -> None:
    decision = decide(POLICY, [], [DetectorFailure(NSFW, "model crashed")])
    assert decision.verdict == Verdict.REVIEW
    assert "model crashed" in decision.hits[0].reason


def test_per_tenant_overrides() -> None:
    strict = POLICY.with_overrides({NSFW: {"review_at": 0.3, "block_at": 0.5}})
    signals = [signal(0.55, 1), signal(0.6, 3)]
    assert decide(POLICY, signals).verdict == Verdict.PASS
    assert decide(strict, signals).verdict == Verdict.BLOCK
    with pytest.raises(ValueError, match="no item uses"):
        POLICY.with_overrides({"nope:x": {"review_at": 0.1}})
    with pytest.raises(ValueError, match="block_at"):
        POLICY.with_overrides({NSFW: {"review_at": 0.9, "block_at": 0.5}})


def test_a_review_only_label_never_blocks() -> None:
    title = "metadata:gambling"
    decision = decide(POLICY, [Signal("metadata@1", title, 0.0, 1.0, text="赌场", term="赌场")])
    assert decision.verdict == Verdict.REVIEW
    assert decision.hits[0].item_id == "3.1.10.3(4)"


def test_a_review_term_never_blocks_even_where_its_label_may() -> None:
    def cue(review_only: bool) -> Signal:
        return Signal("subtitles@1", "subtitles:gambling", 1.0, 1.0, review_only=review_only)

    assert decide(POLICY, [cue(review_only=False)]).verdict == Verdict.BLOCK
    assert decide(POLICY, [cue(review_only=True)]).verdict == Verdict.REVIEW
    # Any one signal that may block is enough.
    assert decide(POLICY, [cue(True), cue(False)]).verdict == Verdict.BLOCK


def test_an_item_without_detector_must_say_how_it_is_covered() -> None:
    data = POLICY.model_dump()
    data["items"][0]["coverage"] = ""
    data["items"][0]["detectors"] = []
    with pytest.raises(ValueError, match="coverage"):
        Policy.model_validate(data)


scores = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 600)), max_size=30)


@given(scores, scores)
def test_more_evidence_never_lowers_the_verdict(
    first: list[tuple[float, float]], more: list[tuple[float, float]]
) -> None:
    base = [signal(s, t) for s, t in first]
    extra = [signal(s, t) for s, t in more]
    assert decide(POLICY, base + extra).verdict >= decide(POLICY, base).verdict
    assert decide(POLICY, base) == decide(POLICY, list(reversed(base)))
