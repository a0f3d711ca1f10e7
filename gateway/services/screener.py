"""Screening: probe -> licence re-check -> sample frames -> classify -> decide, with evidence.

Frames flow from one ffmpeg decode through the detectors in batches: the image models see
one frame per interval and scene cuts; text readers also see the frames sampled at the text
step between them. A frame that scores above the policy's review threshold on any label asks
for a dense look around it (frames several times a second), which catches short segments the
fixed interval steps over; new text asks for one for the text readers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gateway.domain.decisions import (
    CoverageGapRecord,
    DenseSampling,
    SamplingRecord,
    TextSampling,
)
from gateway.domain.media import (
    IMAGE_REASONS,
    TEXT_REASONS,
    SampledFrame,
    SamplingPlan,
    VideoStream,
)
from gateway.domain.policy import CoverageGap, DetectorFailure, Policy, Signal, decide
from gateway.domain.ports.detection import (
    Detector,
    DetectorPass,
    ScreeningSubject,
    TextFramePass,
    TextReading,
)
from gateway.domain.ports.media import FrameSampler, Prober
from gateway.services.screening_record import (
    MAX_EVIDENCE_FRAMES,
    ScreeningResult,
    decision_record,
    evidence_of,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
__all__ = ["Screener", "ScreeningResult", "decision_record"]

# Dense windows opened per screening: a clip that is suspicious everywhere needs a human,
# not a thousand windows.
MAX_DENSE_WINDOWS = 20
# Text seen but judged by no policy item (a QR code to an unlisted domain), kept as evidence.
MAX_OBSERVED = 50


@dataclass
class _Run:
    """The state of one screening (a Screener is shared by several workers)."""

    passes: dict[str, tuple[Detector, DetectorPass]] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    kept: dict[float, SampledFrame] = field(default_factory=dict)
    suspicious: list[float] = field(default_factory=list)
    failed: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per detector, all its calls

    def text_passes(self) -> list[tuple[str, TextFramePass]]:
        return [
            (name, opened)
            for name, (_, opened) in self.passes.items()
            if isinstance(opened, TextFramePass) and name not in self.failed
        ]


class Screener:
    def __init__(
        self,
        prober: Prober,
        sampler: FrameSampler,
        detectors: Sequence[Detector],
        policy: Policy,
        plan: SamplingPlan | None = None,
    ) -> None:
        self.prober = prober
        self.sampler = sampler
        self.detectors = list(detectors)
        self.policy = policy
        self.plan = plan or SamplingPlan()

    async def screen(
        self,
        path: Path,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
        declared: Mapping[str, str] | None = None,
        tenant_id: str | None = None,
    ) -> ScreeningResult:
        """`declared`: the customer's Upload-Metadata (title, filename, licence_number...),
        which text detectors read too."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        probe = await self.prober.probe(path)
        timings["probe"] = time.perf_counter() - started
        policy = self.policy.with_overrides(overrides) if overrides else self.policy
        run = _Run()
        subject = ScreeningSubject(path, probe, dict(declared or {}), tenant_id)
        for detector in self.detectors:
            opened = await self._guarded(run, detector, functools.partial(detector.begin, subject))
            if opened is not None:
                run.passes[detector.name] = (detector, opened)

        started = time.perf_counter()
        frames = self.sampler.sample(
            path, self.plan, video=probe.video, duration_s=probe.duration_s
        )
        count = await self._classify_stream(frames, run, dense=False)
        windows = (
            _merge_windows(run.suspicious, self.plan.dense_window_s)[:MAX_DENSE_WINDOWS]
            if self.plan.dense
            else []
        )
        for centre in windows:
            dense = self.sampler.sample_dense(path, self.plan, centre, video=probe.video)
            count += await self._classify_stream(dense, run, dense=True)
        text_windows = await self._closer_looks_at_text(path, probe.video, run)
        count += sum(text_windows.values())
        timings["sample_and_classify"] = time.perf_counter() - started
        started = time.perf_counter()
        for detector, opened in list(run.passes.values()):
            if detector.name not in run.failed:
                run.signals.extend(await self._guarded(run, detector, opened.finish) or [])
        timings["whole_video_detectors"] = time.perf_counter() - started
        timings.update({f"detector:{name}": s for name, s in run.seconds.items()})
        readings = {name: opened.reading() for name, opened in run.text_passes()}
        for name, reading in readings.items():
            timings[f"text_detect:{name}"] = reading.detect_s
            timings[f"text_recognise:{name}"] = reading.recognise_s
        gaps = [gap for reading in readings.values() for gap in reading.gaps]

        failures = [
            DetectorFailure(label, f"{detector}: {reason}")
            for detector, (labels, reason) in run.failed.items()
            for label in labels
        ]
        decision = decide(policy, run.signals, failures, gaps)
        evidence = await asyncio.to_thread(evidence_of, decision, run.kept)  # JPEG encoding
        sampling = SamplingRecord(
            interval_s=self.plan.interval_s,
            scene_threshold=self.plan.scene_threshold,
            review_threshold=policy.review_threshold,
            dense=DenseSampling(
                fps=self.plan.dense_fps,
                window_s=self.plan.dense_window_s,
                around_s=tuple(windows),
                why="a frame scored above review_threshold",
            ),
            frames=count,
            tenant_thresholds={k: dict(v) for k, v in overrides.items()} if overrides else None,
            text=_text_sampling(self.plan, readings, tuple(text_windows)),
            coverage="partial" if gaps else "full",
            gaps=tuple(_gap_record(gap) for gap in gaps),
        )
        labels = policy.labels()
        observed = [s for s in run.signals if s.label not in labels and s.text is not None]
        return ScreeningResult(
            decision,
            probe,
            sampling,
            count,
            timings,
            evidence,
            [d.name for d in self.detectors],
            observed[:MAX_OBSERVED],
        )

    async def key(
        self,
        overrides: Mapping[str, Mapping[str, float]] | None,
        tenant_id: str | None,
        declared: Mapping[str, str],
    ) -> str:
        """What a verdict on given bytes depends on: the policy, the tenant's thresholds and
        every detector's state. Equal keys and equal bytes: the verdict can be reused."""
        parts = [f"{self.policy.id}@{self.policy.version}", repr(sorted((overrides or {}).items()))]
        parts += [await detector.state(tenant_id, declared) for detector in self.detectors]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    async def _guarded(
        self, run: _Run, detector: Detector, call: Callable[[], Awaitable[T]]
    ) -> T | None:
        """A detector's call; when it raises, its labels fall back to each item's on_error
        and the other detectors go on. The reason names the detector only: exception text
        stays in the log."""
        started = time.perf_counter()
        try:
            return await call()
        except Exception as exc:  # a detector's own errors are untyped (onnxruntime)
            logger.warning(
                "detector.failed", extra={"detector": detector.name, "error": str(exc)[:300]}
            )
            run.failed[detector.name] = (list(detector.labels), "detector_error")
            return None
        finally:
            seconds = run.seconds.get(detector.name, 0.0) + time.perf_counter() - started
            run.seconds[detector.name] = seconds

    async def _closer_looks_at_text(
        self, path: Path, video: VideoStream, run: _Run
    ) -> dict[float, int]:
        """Frames a few times a second around new text, for the text readers (bounded):
        the window centres and the frames each gave."""
        asked = [t for _, opened in run.text_passes() for t in opened.closer_looks()]
        if not (self.plan.dense and asked):
            return {}
        centres = _merge_windows(asked, 2 * self.plan.dense_window_s)
        counts = {}
        for centre in centres[: self.plan.text_dense_windows]:
            dense = self.sampler.sample_dense(path, self.plan, centre, video=video, for_text=True)
            counts[centre] = await self._classify_stream(dense, run, dense=True)
        return counts

    async def _classify_stream(self, frames: Any, run: _Run, *, dense: bool) -> int:
        batch: list[SampledFrame] = []
        count = 0
        async for frame in frames:
            batch.append(frame)
            if len(batch) >= 16:
                count += await self._classify_batch(batch, run, dense)
                batch = []
        if batch:
            count += await self._classify_batch(batch, run, dense)
        return count

    async def _classify_batch(self, batch: list[SampledFrame], run: _Run, dense: bool) -> int:
        new: list[Signal] = []
        for detector, opened in run.passes.values():
            # Text readers see the frames sampled for text too; the rest, the image frames.
            wanted = TEXT_REASONS if isinstance(opened, TextFramePass) else IMAGE_REASONS
            frames = [frame for frame in batch if frame.reason in wanted]
            if frames and detector.name not in run.failed:
                detect = functools.partial(opened.detect, frames)
                new.extend(await self._guarded(run, detector, detect) or [])
        run.signals.extend(new)
        threshold = self.policy.review_threshold
        policy_labels = self.policy.labels()
        found = [s for s in new if s.label in policy_labels and s.score >= threshold]
        hot = {s.timestamp_s for s in found}
        # Only image scores ask for a closer look: a text hit is already exact.
        closer = {s.timestamp_s for s in found if s.text is None}
        for frame in batch:
            if frame.timestamp_s in hot and len(run.kept) < 4 * MAX_EVIDENCE_FRAMES:
                run.kept[frame.timestamp_s] = frame
            if frame.timestamp_s in closer and not dense:  # dense frames open no windows
                run.suspicious.append(frame.timestamp_s)
        return len(batch)


def _merge_windows(times: list[float], half_width: float) -> list[float]:
    """Centres of dense windows: suspicious times closer than one window share it."""
    centres: list[float] = []
    for t in sorted(times):
        if not centres or t - centres[-1] > half_width:
            centres.append(t)
    return centres


def _gap_record(gap: CoverageGap) -> CoverageGapRecord:
    return CoverageGapRecord(detector=gap.detector, reason=gap.reason, ranges=gap.ranges)


def _text_sampling(
    plan: SamplingPlan, readings: dict[str, TextReading], windows: tuple[float, ...]
) -> TextSampling | None:
    if not readings:
        return None
    return TextSampling(
        step_s=plan.step_s,
        frames=sum(r.frames for r in readings.values()),
        regions_tracked=sum(r.regions_tracked for r in readings.values()),
        regions_recognised=sum(r.regions_recognised for r in readings.values()),
        regions_per_minute=max(r.regions_per_minute for r in readings.values()),
        dense=DenseSampling(
            fps=plan.dense_fps,
            window_s=plan.dense_window_s,
            around_s=windows,
            why="new text",
        ),
    )
