"""Screening: probe -> licence re-check -> sample frames -> classify -> decide, with evidence.

Frames flow from one ffmpeg decode through the classifiers in batches; a frame that scores
above the policy's review threshold on any label asks for a dense look around it (frames
several times a second), which catches short segments the fixed interval steps over.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from PIL import Image, ImageDraw

from gateway.domain.decisions import (
    DecisionRecord,
    DenseSampling,
    EvidenceFrame,
    FrameScore,
    HitRecord,
    MediaSummary,
    PolicyRef,
    SamplingRecord,
)
from gateway.domain.media import MediaFacts, SampledFrame, SamplingPlan
from gateway.domain.policy import Decision, DetectorFailure, Policy, Signal, Verdict, decide
from gateway.domain.ports.detection import Detector, DetectorPass, ScreeningSubject
from gateway.domain.ports.media import FrameSampler, Prober

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Evidence thumbnails kept per screening: enough to show each fired clause, bounded memory.
MAX_EVIDENCE_FRAMES = 12
# Dense windows opened per screening: a clip that is suspicious everywhere needs a human,
# not a thousand windows.
MAX_DENSE_WINDOWS = 20
THUMBNAIL_QUALITY = 80
# Text seen but judged by no policy item (a QR code to an unlisted domain), kept as evidence.
MAX_OBSERVED = 50


@dataclass
class Evidence:
    timestamp_s: float
    reason: str
    jpeg: bytes


@dataclass
class ScreeningResult:
    decision: Decision
    probe: MediaFacts
    sampling: SamplingRecord
    frames_sampled: int
    stage_seconds: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    observed: list[Signal] = field(default_factory=list)


@dataclass
class _Run:
    """The state of one screening (a Screener is shared by several workers)."""

    passes: dict[str, tuple[Detector, DetectorPass]] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    kept: dict[float, SampledFrame] = field(default_factory=dict)
    suspicious: list[float] = field(default_factory=list)
    failed: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per detector, all its calls


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
        timings["sample_and_classify"] = time.perf_counter() - started
        started = time.perf_counter()
        for detector, opened in list(run.passes.values()):
            if detector.name not in run.failed:
                run.signals.extend(await self._guarded(run, detector, opened.finish) or [])
        timings["whole_video_detectors"] = time.perf_counter() - started
        timings.update({f"detector:{name}": s for name, s in run.seconds.items()})

        failures = [
            DetectorFailure(label, f"{detector}: {reason}")
            for detector, (labels, reason) in run.failed.items()
            for label in labels
        ]
        decision = decide(policy, run.signals, failures)
        evidence = await asyncio.to_thread(_evidence, decision, run.kept)  # JPEG encoding
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
            if detector.name not in run.failed:
                detect = functools.partial(opened.detect, batch)
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


def _evidence(decision: Decision, kept: dict[float, SampledFrame]) -> list[Evidence]:
    wanted: list[float] = []
    boxes: dict[float, list[tuple[int, int, int, int]]] = {}
    for hit in decision.hits:
        for signal in hit.frames:
            if signal.timestamp_s in kept and signal.timestamp_s not in wanted:
                wanted.append(signal.timestamp_s)
            if signal.box is not None:
                boxes.setdefault(signal.timestamp_s, []).append(signal.box)
    evidence = [
        _thumbnail(kept[timestamp], boxes.get(timestamp, []))
        for timestamp in wanted[:MAX_EVIDENCE_FRAMES]
    ]
    for hit in decision.hits:  # pictures detectors made (a bank match: both sides)
        for signal in hit.frames:
            evidence += [
                Evidence(signal.timestamp_s, caption, jpeg) for caption, jpeg in signal.pictures
            ]
    return evidence[: 2 * MAX_EVIDENCE_FRAMES]


def _thumbnail(frame: SampledFrame, boxes: list[tuple[int, int, int, int]]) -> Evidence:
    """The frame as a JPEG; a text hit's box drawn on the frame the text was read from."""
    pixels = frame.text_pixels if boxes and frame.text_pixels is not None else frame.pixels
    image = Image.fromarray(pixels)
    if boxes:
        draw = ImageDraw.Draw(image)
        for x, y, width, height in boxes:
            draw.rectangle(
                (x - 2, y - 2, x + width + 2, y + height + 2), outline=(255, 0, 0), width=3
            )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return Evidence(frame.timestamp_s, frame.reason, buffer.getvalue())


def decision_record(
    result: ScreeningResult,
    evidence: Sequence[EvidenceFrame] | None = None,
    declared_vs_file: Mapping[str, Any] | None = None,
) -> DecisionRecord:
    """The screening as one DecisionRecord (stored, shown by the API and `vodgate scan`).
    `evidence` names the saved thumbnails; without it, each is described unsaved."""
    decision = result.decision
    return DecisionRecord(
        verdict=_verdict_name(decision.verdict),
        policy=PolicyRef(id=decision.policy_id, version=decision.policy_version),
        models=tuple(result.models),
        clauses=tuple(sorted({h.item_id for h in decision.hits})),
        hits=tuple(
            HitRecord(
                item=h.item_id,
                clause=h.clause,
                text_zh=h.text_zh,
                verdict=_verdict_name(h.verdict),
                label=h.label,
                threshold=h.threshold,
                reason=h.reason,
                frames=tuple(_frame_score(s) for s in h.frames),
            )
            for h in decision.hits
        ),
        sampling=result.sampling,
        media=MediaSummary.of(result.probe),
        evidence=tuple(evidence if evidence is not None else _unsaved(result.evidence)),
        stage_seconds={k: round(v, 3) for k, v in result.stage_seconds.items()},
        declared_vs_file=declared_vs_file,
        observed=tuple(_frame_score(s) for s in result.observed),
    )


def _unsaved(evidence: list[Evidence]) -> list[EvidenceFrame]:
    return [
        EvidenceFrame(timestamp_s=e.timestamp_s, reason=e.reason, bytes=len(e.jpeg))
        for e in evidence
    ]


def _verdict_name(verdict: Verdict) -> Literal["pass", "review", "block"]:
    names: dict[Verdict, Literal["pass", "review", "block"]] = {
        Verdict.PASS: "pass",
        Verdict.REVIEW: "review",
        Verdict.BLOCK: "block",
    }
    return names[Verdict(verdict)]


def _frame_score(signal: Signal) -> FrameScore:
    return FrameScore(
        timestamp_s=signal.timestamp_s,
        score=round(signal.score, 4),
        detector=signal.detector,
        text=signal.text,
        box=signal.box,
        reference=signal.reference,
        bank=signal.bank,
        term=signal.term,
        normalised=signal.normalised,
        span=signal.span,
        end_s=signal.end_s,
        source=signal.source,
    )
