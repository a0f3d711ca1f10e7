"""The screening graph's composition: the probe, sampler and detectors a screener is made
of, the hash banks' service, and which detector covers which policy item. Named here, in
the runtime, like every adapter (wiring.py builds the services of a running gateway)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.banks import SqlBankStore
from gateway.adapters.policy_files import PROHIBITED_CONTENT_FILE, load_content_policy
from gateway.domain.policy import CoverageRow, Policy, coverage
from gateway.domain.ports.detection import Detector
from gateway.runtime.settings import Settings

if TYPE_CHECKING:
    from gateway.adapters.detectors.registry import TextScreening
    from gateway.runtime.wiring import Services
    from gateway.services.banks import BankService
    from gateway.services.screener import Screener


def build_screener(
    settings: Settings, policy: Policy | None = None, engine: AsyncEngine | None = None
) -> Screener:
    """The screening graph: hardened probe and sampler, every enabled model and the text
    detectors (OCR, QR codes, subtitles, declared titles), the policy
    (`open_services` has read it already; `vodgate scan` has not).

    With `engine`, the hash banks in that database are matched too (their index is built
    on the first screening and rebuilt when a bank changes).
    Fails (ConfigError) when a model file, its IO, or a policy label does not check out.
    Blocking (models load, ffmpeg is asked what it decodes): call it in a thread.
    """
    from gateway.adapters.detectors.registry import load_detectors
    from gateway.adapters.media.formats import ffmpeg_capabilities
    from gateway.adapters.media.probe import FfprobeProber
    from gateway.adapters.media.sampler import DECODE_THREADS, FfmpegFrameSampler
    from gateway.adapters.media.subtitles import FfmpegSubtitleReader
    from gateway.domain.media import SamplingPlan
    from gateway.services.screener import Screener

    policy = policy or load_content_policy(settings.policies_dir / PROHIBITED_CONTENT_FILE)
    plan = SamplingPlan(
        interval_s=settings.sample_interval_s,
        text_side=settings.text_frame_side,
        parallel_segments=settings.screening_cores,
        text_step_s=settings.ocr_text_step_s if settings.ocr else 0.0,
    )
    text = _text_screening(settings)
    banks = [] if engine is None else [_bank_matcher(engine)]
    detectors = load_detectors(
        settings.models_dir,
        policy,
        plan.frame_size,
        text,
        FfmpegSubtitleReader(),
        banks,
        banks=engine is not None,
        max_threads=settings.screening_cores,
    )
    # What this machine's ffmpeg lacks is logged, and refused as unsupported at the probe.
    prober = FfprobeProber(video_decoders=ffmpeg_capabilities().video_decoders())
    cores = settings.screening_cores
    sampler = FfmpegFrameSampler(decode_threads=min(DECODE_THREADS, cores or DECODE_THREADS))
    return Screener(prober, sampler, detectors, policy, plan)


def _text_screening(settings: Settings) -> TextScreening:
    from gateway.adapters.detectors.ocr_gate import OcrBudget
    from gateway.adapters.detectors.registry import TextScreening

    budget = OcrBudget(
        det_side=settings.ocr_det_side, regions_per_minute=settings.ocr_regions_per_minute
    )
    threads = settings.ocr_threads
    if settings.screening_cores:
        threads = min(threads, settings.screening_cores)
    return TextScreening(
        settings.policies_dir, ocr=settings.ocr, ocr_threads=threads, budget=budget
    )


def policy_coverage(settings: Settings) -> list[CoverageRow]:
    """Each policy item and the detectors this configuration gives it (no model is loaded;
    manifests and lists are read: blocking)."""
    from gateway.adapters.detectors.registry import available_labels

    policy = load_content_policy(settings.policies_dir / PROHIBITED_CONTENT_FILE)
    return coverage(policy, available_labels(settings.models_dir, _text_screening(settings)))


def _bank_matcher(engine: AsyncEngine) -> Detector:
    from gateway.adapters.detectors.bank_index import LiveBankIndex
    from gateway.adapters.detectors.bank_matcher import BankMatcher
    from gateway.adapters.media.fingerprint import FpcalcFingerprinter

    return BankMatcher(LiveBankIndex(SqlBankStore(engine)), audio=FpcalcFingerprinter())


def build_bank_service(services: Services) -> BankService:
    """Banks for the CLI and the admin API: the hardened probe and sampler, PDQ."""
    from gateway.adapters.detectors.pdq import PdqHasher
    from gateway.adapters.media.fingerprint import FpcalcFingerprinter
    from gateway.adapters.media.probe import FfprobeProber
    from gateway.adapters.media.sampler import FfmpegFrameSampler
    from gateway.services.banks import BankService

    if services.banks is not None:
        return services.banks
    return BankService(
        SqlBankStore(services.engine),
        FfprobeProber(),
        FfmpegFrameSampler(),
        PdqHasher(),
        services.clock,
        FpcalcFingerprinter(),
    )
