"""Which frames the main sampling pass picks, and which of them the image models see."""

from __future__ import annotations

from gateway.domain.media import INTERVAL, TEXT, SamplingPlan, VideoStream


def main_select(plan: SamplingPlan, video: VideoStream) -> str:
    """The filter picking the main pass's frames: one at least every `plan.step_s` (with a
    text step, half a frame early, so that text shown for one step is never stepped over)
    and scene cuts, each cut's score printed for ImageMarker."""
    step = plan.step_s
    if step < plan.interval_s:
        step -= 0.5 / max(1.0, video.frame_rate)
    return (
        f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{step:.4f})"
        f"+gt(scene\\,{plan.scene_threshold})',metadata=print:key=lavfi.scene_score"
    )


class ImageMarker:
    """Which of the main pass's frames the image models see (INTERVAL): the first, scene
    cuts, and one about every `interval_s`; the rest, sampled at the text step, are TEXT."""

    def __init__(self, plan: SamplingPlan) -> None:
        self._plan = plan
        self._last: float | None = None

    def reason(self, timestamp_s: float, scene: float) -> str:
        plan = self._plan
        due = plan.interval_s - plan.step_s / 2  # the text step's frame nearest the interval
        if (
            plan.step_s >= plan.interval_s
            or self._last is None
            or scene > plan.scene_threshold
            or timestamp_s - self._last >= due
        ):
            self._last = timestamp_s
            return INTERVAL
        return TEXT
