"""FfmpegTranscoder: renders the configured renditions (H.264/AAC MP4) of an approved video,
with the probe's hardening: only the one file may be opened, allow-listed demuxers and
decoders, address-space and CPU limits, a wall-clock limit."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from gateway.adapters.media.limits import (
    ALLOWED_AUDIO_DECODERS,
    ALLOWED_VIDEO_DECODERS,
    MediaLimits,
    hardened_ffmpeg,
    run_to_end,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str  # also the file stem: "720p"
    height: int
    video_bitrate_k: int
    audio_bitrate_k: int = 128

    @property
    def file_name(self) -> str:
        return f"{self.name}.mp4"


# Video bitrates (kbit/s) by height, the usual ladder; other heights scale linearly.
_LADDER_K = {2160: 16000, 1440: 9000, 1080: 5000, 720: 2500, 480: 1000, 360: 700, 240: 400}


def rendition_for_height(height: int) -> Rendition:
    return Rendition(f"{height}p", height, _LADDER_K.get(height, max(300, height * 7 // 2)))


DEFAULT_RENDITIONS = (rendition_for_height(720), rendition_for_height(480))
# A keyframe every 2 s: players seek and HLS segments cut there (segments are multiples).
KEYFRAME_INTERVAL_S = 2


def plan_renditions(source_height: int, wanted: tuple[Rendition, ...]) -> list[Rendition]:
    """The renditions no taller than the source (never upscale). A source smaller than all
    of them gets one rendition at its own height, so every approved video has one."""
    fitting = [r for r in wanted if r.height <= source_height]
    if fitting or not wanted:
        return fitting
    smallest = min(wanted, key=lambda r: r.height)
    height = max(2, source_height - source_height % 2)
    return [Rendition(f"{height}p", height, smallest.video_bitrate_k, smallest.audio_bitrate_k)]


class TranscodeFailed(Exception):
    """ffmpeg could not render a rendition (the job retries, then fails the upload)."""


class FfmpegTranscoder:
    def __init__(
        self, limits: MediaLimits | None = None, ffmpeg: str = "ffmpeg", threads: int = 2
    ) -> None:
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg
        self._threads = threads

    def argv(self, source: Path, outputs: list[tuple[Path, Rendition]], cpu_s: int) -> list[str]:
        """One decode, split and scaled once per rendition, each encoded to its own file."""
        labels = [f"v{i}" for i in range(len(outputs))]
        split = f"[0:v:0]split={len(outputs)}" + "".join(f"[s{i}]" for i in range(len(outputs)))
        scales = [
            f"[s{i}]scale=-2:{rendition.height}[{label}]"
            for i, ((_, rendition), label) in enumerate(zip(outputs, labels, strict=True))
        ]
        argv = [
            *hardened_ffmpeg(
                self.limits,
                cpu_s,
                source,
                ffmpeg=self._ffmpeg,
                decoders=(*ALLOWED_VIDEO_DECODERS, *ALLOWED_AUDIO_DECODERS),
                input_options=["-threads", str(self._threads)],
            ),
            "-filter_complex",
            ";".join([split, *scales]),
        ]
        for (output, rendition), label in zip(outputs, labels, strict=True):
            rate = rendition.video_bitrate_k
            argv += [
                "-map", f"[{label}]", "-map", "0:a:0?", "-sn", "-dn",
                "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
                "-pix_fmt", "yuv420p", "-b:v", f"{rate}k", "-maxrate", f"{rate * 3 // 2}k",
                "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
                "-bufsize", f"{rate * 2}k",
                "-c:a", "aac", "-b:a", f"{rendition.audio_bitrate_k}k",
                "-movflags", "+faststart", "-f", "mp4", "-y", f"file:{output.resolve()}",
            ]  # fmt: skip
        return argv

    async def render(
        self, source: Path, outputs: list[tuple[Path, Rendition]], duration_s: float
    ) -> None:
        """Write every output whole or not at all (partial files are renamed on success)."""
        if not outputs:
            return
        partials = [(out.with_name(f".{out.name}.partial"), r) for out, r in outputs]
        # x264 veryfast runs several times faster than real time here; 4 CPU seconds per
        # media second per rendition plus a minute is far beyond honest work.
        cpu_s = int(60 + 4 * duration_s * len(outputs))
        try:
            await _run(self.argv(source, partials, cpu_s), cpu_s * 2, "transcoding")
        except TranscodeFailed:
            for partial, _ in partials:
                await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        for (partial, _), (output, _) in zip(partials, outputs, strict=True):
            await asyncio.to_thread(partial.replace, output)

    async def package_hls(self, mp4: Path, folder: Path, segment_s: int, duration_s: float) -> None:
        """Remux a rendered MP4 into HLS (no re-encode) in `folder`, whole or not at all."""
        partial = folder.with_name(f".{folder.name}.partial")
        await asyncio.to_thread(shutil.rmtree, partial, True)
        await asyncio.to_thread(partial.mkdir, parents=True)
        cpu_s = int(60 + duration_s)
        await _run(self.hls_argv(mp4, partial, segment_s, cpu_s), cpu_s * 2, "HLS packaging")
        await asyncio.to_thread(partial.replace, folder)

    def hls_argv(self, mp4: Path, folder: Path, segment_s: int, cpu_s: int) -> list[str]:
        # Our own MP4 is the input: only the mov demuxer, and nothing is decoded.
        return [
            *hardened_ffmpeg(self.limits, cpu_s, mp4, ffmpeg=self._ffmpeg, demuxers=("mov",)),
            "-c", "copy", "-f", "hls", "-hls_time", str(segment_s), "-hls_playlist_type", "vod",
            "-hls_segment_filename", f"file:{folder.resolve()}/seg_%03d.ts",
            f"file:{folder.resolve()}/index.m3u8",
        ]  # fmt: skip


async def _run(argv: list[str], timeout_s: float, what: str) -> None:
    try:
        code, stderr = await run_to_end(argv, timeout_s)
    except TimeoutError as exc:
        raise TranscodeFailed(f"{what} took longer than {timeout_s:.0f} s") from exc
    if code != 0:
        raise TranscodeFailed(f"{what}: ffmpeg exited with {code}: {stderr}")


def master_playlist(variants: list[tuple[Rendition, int, int]]) -> str:
    """The HLS master playlist over (rendition, width, height) variants, tallest first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for rendition, width, height in sorted(variants, key=lambda v: -v[2]):
        bandwidth = (rendition.video_bitrate_k + rendition.audio_bitrate_k) * 1000
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height}")
        lines.append(f"{rendition.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def scaled_width(source_width: int, source_height: int, height: int) -> int:
    """The width ffmpeg's `scale=-2:height` gives (even, aspect kept)."""
    if source_height <= 0:
        return 0
    return max(2, round(source_width * height / source_height / 2) * 2)
