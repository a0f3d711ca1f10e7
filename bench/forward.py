"""Delivery benchmark: prints JSON figures (never asserted in tests).

    python bench/forward.py [--gib 1] [--transcode-seconds 60] [--workdir /work]

1. Forwards an approved file of --gib GiB to Ceph RGW (`scripts/s3-server start`) through the
   gateway's forwarding stage (sha256 + MD5 pass, multipart put, HEAD verification), and in
   the same run uploads the same file with plain boto3 `upload_file` (what `aws s3 cp` does):
   MB/s for each and their ratio.
2. Transcodes a --transcode-seconds 1080p30 clip to the default renditions (720p, 480p):
   wall time and the multiple of real time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boto3.s3.transfer import TransferConfig  # noqa: E402

from gateway.adapters.media.probe import FfprobeProber  # noqa: E402
from gateway.adapters.media.transcode import FfmpegTranscoder  # noqa: E402
from gateway.domain.decisions import MediaSummary  # noqa: E402
from gateway.domain.principals import Role  # noqa: E402
from gateway.domain.renditions import DEFAULT_RENDITIONS  # noqa: E402
from gateway.runtime.background import build_delivery_workers  # noqa: E402
from gateway.runtime.settings import Settings  # noqa: E402
from gateway.runtime.wiring import close_services, open_services  # noqa: E402
from tests.pipeline_helpers import approved_by_hand, received  # noqa: E402
from tests.s3 import new_bucket, start_s3_server  # noqa: E402

MB = 1_000_000
PART = 16 * 1024**2  # the gateway's default s3_part_size


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as file:
        for _ in range(size // (16 * 1024 * 1024)):
            file.write(os.urandom(16 * 1024 * 1024))


async def forward(workdir: Path, source: Path, settings_kw: dict[str, Any]) -> float:
    settings = Settings(data_dir=workdir / "var", delivery_workers=0, **settings_kw)
    services = await open_services(settings)
    try:
        tenant_id, _ = await services.tenants.create("bench", Role.UPLOADER, services.clock.now())
        upload_id = await received(services, tenant_id, source)
        await approved_by_hand(services, upload_id)
        (worker,) = build_delivery_workers(services, 1)
        started = time.perf_counter()
        if not await worker.run_once():
            raise RuntimeError("no forwarding job")
        elapsed = time.perf_counter() - started
        upload = await services.uploads.get_internal(upload_id)
        if upload is None or upload.state.value != "stored":
            raise RuntimeError(f"forwarding did not store the file: {upload}")
        return elapsed
    finally:
        await close_services(services)


def make_clip(path: Path, seconds: float) -> None:
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip


async def transcode(clip: Path, seconds: float) -> dict[str, Any]:
    """The gateway's one-decode render of every rendition, and (the ratio's baseline, in
    the same run) one ffmpeg per rendition."""
    transcoder = FfmpegTranscoder()
    media = MediaSummary.of(await FfprobeProber().probe(clip))
    started = time.perf_counter()
    outputs = [(clip.with_name(r.file_name), r) for r in DEFAULT_RENDITIONS]
    await transcoder.render(clip, outputs, media)
    together = time.perf_counter() - started
    started = time.perf_counter()
    for output, rendition in outputs:
        await transcoder.render(clip, [(output, rendition)], media)
    separately = time.perf_counter() - started
    return {
        "renditions": [r.name for r in DEFAULT_RENDITIONS],
        "wall_s": round(together, 2),
        "x_real_time": round(seconds / together, 2),
        "one_ffmpeg_per_rendition_s": round(separately, 2),
        "one_decode_over_separate": round(together / separately, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--transcode-seconds", type=float, default=60.0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    s3 = start_s3_server()
    size = int(args.gib * 1024**3)
    results: dict[str, Any] = {"bytes": size}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        source = workdir / "approved.mp4"
        write_random(source, size)
        bucket = new_bucket()
        gateway_s = asyncio.run(forward(workdir, source, s3.settings_for(bucket)))
        client = s3.client()
        started = time.perf_counter()
        client.upload_file(
            str(source),
            bucket,
            "plain-boto3-copy",
            Config=TransferConfig(
                multipart_threshold=16 * 1024**2, multipart_chunksize=16 * 1024**2
            ),
        )
        plain_s = time.perf_counter() - started
        results["forward"] = {
            "gateway_s": round(gateway_s, 2),
            "gateway_mb_s": round(size / MB / gateway_s, 1),
            "boto3_upload_file_s": round(plain_s, 2),
            "boto3_mb_s": round(size / MB / plain_s, 1),
            "gateway_over_boto3_time": round(gateway_s / plain_s, 2),
            "note": "the gateway also hashes the file (sha256, MD5s) and verifies with HEAD",
        }
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        source.unlink()
        clip = workdir / "clip.mp4"
        make_clip(clip, args.transcode_seconds)
        results["transcode"] = {
            "clip": f"{args.transcode_seconds:g} s 1080p30 H.264 + AAC",
            **asyncio.run(transcode(clip, args.transcode_seconds)),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
