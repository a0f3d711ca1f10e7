"""Formats benchmark: prints JSON figures (never asserted in tests).

    python bench/formats.py [--seconds 60] [--workdir /work] [--only av1.mp4 ...]

For each accepted codec (one sample of the formats corpus, tests/formats_corpus.py), makes a
1080p clip of `testsrc2` (it moves: a fair decode load) and measures, in the same run:
screening with the default models and policy (wall seconds, the multiple of real time), and
the bare ffmpeg decode of the same file to /dev/null with the same decoder. The ratio
screening / bare decode is the figure to compare across codecs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.adapters.media.formats import VIDEO_DECODERS  # noqa: E402
from gateway.runtime.screening_wiring import build_screener  # noqa: E402
from gateway.runtime.settings import Settings  # noqa: E402
from tests.formats_corpus import CORPUS, FFMPEG, Sample  # noqa: E402

# One file per codec; H.263 stops at 1408x1152 and is left out of a 1080p run.
SKIPPED = {"h263.3gp", "h264.mov", "h264.mkv", "h264.flv", "h264.ts", "h264.3gp",
           "h264-fragmented.mp4", "vfr.mp4", "interlaced.mpg", "mpeg2.ts", "dnxhr.mov",
           "prores4444.mov"}  # fmt: skip
# libaom at 1080p encodes slower than real time; SVT-AV1 makes the same kind of file faster.
FASTER_ENCODER = {"av1.mp4": ("-c:v", "libsvtav1", "-preset", "12", "-c:a", "aac")}


def encode(sample: Sample, folder: Path, seconds: float) -> Path:
    path = folder / sample.name
    rate = 25 if sample.rate == 25 else 30
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
         *(["-vf", sample.source_filter] if sample.source_filter else []),
         *FASTER_ENCODER.get(sample.name, sample.args), "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def bare_decode_s(path: Path, codec: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*FFMPEG, "-c:v", VIDEO_DECODERS[codec].name, "-i", str(path), "-map", "0:v:0",
         "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--only", nargs="*", default=None, help="corpus names to run")
    args = parser.parse_args()
    screener = build_screener(Settings())
    samples = [s for s in CORPUS if (s.name in args.only if args.only else s.name not in SKIPPED)]
    results: dict[str, Any] = {"seconds": args.seconds, "codecs": {}}
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        for sample in samples:
            big = dataclasses.replace(sample, size="1920x1080")
            clip = encode(big, Path(workdir), args.seconds)
            started = time.perf_counter()
            result = asyncio.run(screener.screen(clip))
            wall = time.perf_counter() - started
            bare = bare_decode_s(clip, sample.codec)
            results["codecs"][sample.name] = {
                "codec": sample.codec,
                "screening_s": round(wall, 2),
                "x_real_time": round(args.seconds / wall, 1),
                "bare_decode_s": round(bare, 2),
                "screening_over_bare_decode": round(wall / bare, 2),
                "frames_sampled": result.frames_sampled,
                "verdict": result.decision.verdict.name.lower(),
            }
            clip.unlink()
            print(sample.name, json.dumps(results["codecs"][sample.name]), file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
