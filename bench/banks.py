"""Hash-bank benchmark: prints JSON figures (never asserted in tests).

    python bench/banks.py [--hashes 1000000] [--minutes 3] [--workdir /work]

- PDQ hashing cost per frame (the sampler's 256x256 frames, and a reference frame with its
  two centre crops);
- the exact binary index (faiss IndexBinaryFlat, one thread): build time and memory at
  `--hashes` stored hashes, one lookup's p50 and p99 (radius 31 bits), the rebuild after one
  added 10-minute video;
- a clip of `--minutes` (1080p30 testsrc2, x264) screened with the default detectors with the
  bank matcher off and on (the banks then hold `--hashes` hashes), in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.adapters.detectors.bank_index import IndexSnapshot  # noqa: E402
from gateway.adapters.detectors.bank_matcher import BankMatcher  # noqa: E402
from gateway.adapters.detectors.pdq import _hash_reference, hash_all  # noqa: E402
from gateway.domain.banks import Bank, BankKind  # noqa: E402
from gateway.domain.media import SampledFrame  # noqa: E402
from gateway.runtime.screening_wiring import build_screener  # noqa: E402
from gateway.runtime.settings import Settings  # noqa: E402


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class FixedIndex:
    """A LiveBankIndex stand-in holding one prebuilt snapshot (the store is not measured)."""

    def __init__(self, snapshot: IndexSnapshot) -> None:
        self.snapshot = snapshot

    async def current(self) -> IndexSnapshot:
        return self.snapshot


def snapshot_of(data: np.ndarray) -> IndexSnapshot:
    index = faiss.IndexBinaryFlat(256)
    index.add(data)
    n = len(data)
    bank = Bank("bench", BankKind.PROHIBITED, "3.1.10.3(4)", None)
    return IndexSnapshot(
        {"bench": bank}, dict.fromkeys(range(n // 600 + 1), "bench"),
        (np.arange(n) // 600).astype(np.int64), (np.arange(n) % 600).astype(np.float64),
        index, (("bench", 1, True),),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)
    results: dict[str, Any] = {"hashes": args.hashes}

    pictures = rng.integers(0, 256, (200, 256, 256, 3), dtype=np.uint8)
    frames = [SampledFrame(float(i), "interval_or_scene", p) for i, p in enumerate(pictures)]
    started = time.perf_counter()
    hash_all(frames)
    results["pdq_ms_per_frame"] = round((time.perf_counter() - started) / len(frames) * 1000, 3)
    started = time.perf_counter()
    _hash_reference(frames)
    results["reference_ms_per_frame_with_crops"] = round(
        (time.perf_counter() - started) / len(frames) * 1000, 3
    )

    data = rng.integers(0, 256, (args.hashes, 32), dtype=np.uint8)
    before = rss_mib()
    started = time.perf_counter()
    snapshot = snapshot_of(data)
    results["index_build_s"] = round(time.perf_counter() - started, 3)
    results["index_memory_mib"] = round(rss_mib() - before, 1)
    queries = data[rng.integers(0, args.hashes, 500)].copy()
    queries[:, :3] ^= 0x5A  # 12 bits away from a stored hash: a near match to find
    hexes = [bytes(q).hex() for q in queries]
    times = []
    for h in hexes:
        t = time.perf_counter()
        found = snapshot.search([h], [0.0], 31)
        times.append((time.perf_counter() - t) * 1000)
        assert found, "a near copy was not found"
    times.sort()
    results["lookup_ms"] = {"p50": round(statistics.median(times), 3),
                            "p99": round(times[int(0.99 * (len(times) - 1))], 3)}  # fmt: skip
    ten_minutes = rng.integers(0, 256, (600 * 3, 32), dtype=np.uint8)  # 1 fps, 3 variants
    started = time.perf_counter()
    snapshot_of(np.concatenate([data, ten_minutes]))
    results["rebuild_after_adding_a_10_minute_video_s"] = round(time.perf_counter() - started, 3)

    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        clip = Path(workdir) / "clip.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size=1920x1080:rate=30:duration={args.minutes * 60}", "-c:v", "libx264",
             "-preset", "veryfast", "-pix_fmt", "yuv420p", str(clip)],
            check=True,
        )  # fmt: skip
        screener = build_screener(Settings())
        plain = list(screener.detectors)
        with_banks = [*plain, BankMatcher(FixedIndex(snapshot))]  # type: ignore[arg-type]
        runs = (("banks_off", plain), ("banks_on", with_banks), ("banks_off_again", plain))
        for name, detectors in runs:
            screener.detectors = detectors
            started = time.perf_counter()
            result = asyncio.run(screener.screen(clip))
            results[name] = {
                "wall_s": round(time.perf_counter() - started, 2),
                "bank_matcher_s": round(result.stage_seconds.get("detector:banks@pdq", 0.0), 2),
                "frames": result.frames_sampled,
            }
    off = min(results["banks_off"]["wall_s"], results["banks_off_again"]["wall_s"])
    results["banks_on_over_off"] = round(results["banks_on"]["wall_s"] / off, 3)
    results["peak_rss_mib"] = round(rss_mib(), 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
