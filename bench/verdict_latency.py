"""Verdict latency benchmark: prints JSON figures (never asserted in tests).

    python bench/verdict_latency.py [--uploads 10] [--seconds 30] [--workdir /work]

Starts `vodgate serve` on the embedded default (every default detector, one screening
worker), uploads a 720p clip with the SDK `--uploads` times one after another, and measures
from the upload finishing (the last PATCH answered) to the verdict (the upload leaves
`received`/`screening`), polling every 20 ms. Prints p50, p90 and max, and the clip's length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.client import UploadClient  # noqa: E402
from tests.e2e.conftest import Gateway, free_port, provision_tenant  # noqa: E402
from tests.pipeline_helpers import META  # noqa: E402


def make_clip(path: Path, seconds: float) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}", "-c:v", "libx264",
         "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        root = Path(workdir)
        clip = root / "clip.mp4"
        make_clip(clip, args.seconds)
        created = provision_tenant(root / "var", "bench-media")
        gateway = Gateway(
            root / "var", free_port(), created["tenant_id"], created["api_key"], root / "gw.log"
        )
        gateway.env = {"VODGATE_SCREENING_WORKERS": "1", "VODGATE_DELIVERY_WORKERS": "0"}
        gateway.start()
        try:
            client = UploadClient(gateway.url, gateway.api_key)
            latencies, verdicts = [], []
            for _ in range(args.uploads):
                upload_id = asyncio.run(client.upload(clip, META))
                finished = time.perf_counter()
                while (state := gateway.status(upload_id)["state"]) in ("received", "screening"):
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - finished)
                verdicts.append(state)
        finally:
            gateway.stop()
    latencies.sort()
    print(json.dumps({
        "clip": f"{args.seconds:.0f} s 1280x720 H.264 (x264 veryfast)",
        "uploads": args.uploads,
        "upload_finished_to_verdict_s": {
            "p50": round(statistics.median(latencies), 2),
            "p90": round(latencies[int(0.9 * (len(latencies) - 1))], 2),
            "max": round(latencies[-1], 2),
        },
        "states": sorted(set(verdicts)),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
