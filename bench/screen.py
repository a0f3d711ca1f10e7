"""Screening benchmark: prints JSON figures (never asserted in tests).

    python bench/screen.py [--minutes 10] [--detectors all|nsfw] [--workdir /work]
                           [--encoding x264_defaults|phone_like ...] [--clip-dir DIR]

--detectors all: every default detector (open_nsfw, OCR, QR codes, subtitles, titles);
nsfw: open_nsfw alone. Per detector: its seconds; for OCR, per stage: the frames through
text detection and by detection size, ms of detection per frame, text regions tracked and
recognised, ms of recognition in all and per region.

Makes a 1080p30 H.264 clip twice — x264 defaults (B-frames) and a phone-like encoding (no
B-frames, 1 s GOP, ~10 Mbit/s) — then, for each: the screening wall time with the default
models and policy, the multiple of real time, frames sampled, seconds per stage, and, in the
same run, the bare ffmpeg sampling time (the same decode and filters to /dev/null: the
ceiling), plus the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.adapters.media.sampler import PARALLEL_SEGMENTS, split_segments  # noqa: E402
from gateway.adapters.media.selection import main_select  # noqa: E402
from gateway.domain.media import SamplingPlan, VideoStream  # noqa: E402
from gateway.runtime.screening_wiring import build_screener  # noqa: E402
from gateway.runtime.settings import Settings  # noqa: E402

ENCODINGS = {
    "x264_defaults": ["-c:v", "libx264", "-preset", "veryfast"],
    "phone_like": [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-bf",
        "0",
        "-g",
        "30",
        "-b:v",
        "10M",
        "-maxrate",
        "10M",
        "-bufsize",
        "20M",
    ],
}


def make_clip(path: Path, minutes: float, encoding: list[str]) -> None:
    # testsrc2 moves and changes: a fair decode load, unlike a still colour.
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1920x1080:rate=30:duration={minutes * 60}",
            *encoding,
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )


def bare_sampling_s(
    screener: Any, path: Path, video: VideoStream, plan: SamplingPlan, duration: float
) -> float:
    """The same decodes and filters to /dev/null, segments at once as the sampler runs them."""
    sampler = screener.sampler
    select = f"{main_select(plan, video)},scale={plan.frame_size}:{plan.frame_size}"
    segments = split_segments(duration, plan.parallel_segments or PARALLEL_SEGMENTS)
    started = time.perf_counter()
    children = []
    for start, length in segments:
        argv = sampler.argv(
            path,
            select,
            video=video,
            start_s=None if len(segments) == 1 else start,
            duration_s=length,
            cpu_s=100_000,
        )
        children.append(
            subprocess.Popen(
                [*argv[:-1], "-y", "/dev/null"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for child in children:
        if child.wait() != 0:
            raise RuntimeError("bare sampling failed")
    return time.perf_counter() - started


class OcrFrames(logging.Handler):
    """The OCR pass logs what it read: frames by detection size, regions, seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "ocr.reading":
            read = record.__dict__
            frames, recognised = read["frames"], read["recognised"]
            self.last = {
                "frames_detected": frames,
                "by_detection": read["sizes"],
                "detection_ms_per_frame": round(1000 * read["detect_s"] / max(1, frames), 1),
                "regions_tracked": read["tracked"],
                "regions_recognised": recognised,
                "recognition_ms": round(1000 * read["recognise_s"]),
                "recognition_ms_per_region": round(
                    1000 * read["recognise_s"] / max(1, recognised), 1
                ),
                "unread": read["unread"],
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--detectors", choices=["all", "nsfw"], default="all")
    parser.add_argument(
        "--encoding", choices=list(ENCODINGS), action="append", help="repeatable; default: all"
    )
    parser.add_argument(
        "--clip-dir", help="keep the generated clips here and reuse them on later runs"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    screener = build_screener(Settings(ocr=args.detectors == "all"))
    if args.detectors == "nsfw":  # the model alone, on the frames it needs (no text frames)
        screener.detectors = [d for d in screener.detectors if d.name.startswith("open_nsfw")]
        screener.plan = dataclasses.replace(screener.plan, text_side=0)
    ocr_frames = OcrFrames()
    logging.getLogger("gateway.adapters.detectors.ocr_pass").addHandler(ocr_frames)
    logging.getLogger("gateway.adapters.detectors.ocr_pass").setLevel(logging.INFO)
    results: dict[str, Any] = {
        "minutes": args.minutes,
        "detectors": [d.name for d in screener.detectors],
        "start_up_s": round(time.perf_counter() - started, 2),  # models loaded and warmed
    }
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        for name in args.encoding or list(ENCODINGS):
            clip = Path(args.clip_dir or workdir) / f"{name}-{args.minutes:g}min.mp4"
            started = time.perf_counter()
            if not clip.exists():
                make_clip(clip, args.minutes, ENCODINGS[name])
            made = time.perf_counter() - started
            started = time.perf_counter()
            result = asyncio.run(screener.screen(clip))
            wall = time.perf_counter() - started
            bare = bare_sampling_s(
                screener, clip, result.probe.video, screener.plan, result.probe.duration_s
            )
            results[name] = {
                "clip_encode_s": round(made, 1),
                "screening_wall_s": round(wall, 2),
                "x_real_time": round(args.minutes * 60 / wall, 1),
                "frames_sampled": result.frames_sampled,
                "decode_segments": len(
                    split_segments(
                        result.probe.duration_s,
                        screener.plan.parallel_segments or PARALLEL_SEGMENTS,
                    )
                ),
                "stage_s": {k: round(v, 2) for k, v in result.stage_seconds.items()},
                "ocr": ocr_frames.last,
                "coverage": result.sampling.coverage,
                "bare_sampling_s": round(bare, 2),
                "screening_over_bare": round(wall / bare, 2),
                "verdict": result.decision.verdict.name.lower(),
            }
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
