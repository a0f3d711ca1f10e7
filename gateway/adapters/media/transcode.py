"""FfmpegTranscoder: renders the configured renditions (H.264/AAC MP4) of an approved video,
with the probe's hardening: only the one file may be opened, allow-listed demuxers and
decoders, address-space and CPU limits, a wall-clock limit."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from gateway.adapters.media.filters import DEINTERLACE, to_sdr
from gateway.adapters.media.formats import AUDIO_DECODERS, VIDEO_DECODERS
from gateway.adapters.media.limits import (
    MediaLimits,
    hardened_ffmpeg,
    run_to_end,
)
from gateway.domain.decisions import MediaSummary
from gateway.domain.renditions import Rendition

logger = logging.getLogger(__name__)


# A keyframe every 2 s: players seek and HLS segments cut there (segments are multiples).
KEYFRAME_INTERVAL_S = 2


class TranscodeFailed(Exception):
    """ffmpeg could not render a rendition (the job retries, then fails the upload)."""


class FfmpegTranscoder:
    def __init__(
        self, limits: MediaLimits | None = None, ffmpeg: str = "ffmpeg", threads: int = 2
    ) -> None:
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg
        self._threads = threads

    def argv(
        self,
        source: Path,
        outputs: list[tuple[Path, Rendition]],
        media: MediaSummary,
        cpu_s: int,
    ) -> list[str]:
        """One decode (upright: ffmpeg applies the display rotation; deinterlaced and
        tone-mapped to SDR where the source needs it), split and scaled once per rendition,
        each encoded to its own 8-bit H.264 file. A sound track in a codec we do not decode
        is left out rather than failing the renditions."""
        labels = [f"v{i}" for i in range(len(outputs))]
        # The probe's codec names its decoder; a source screening never probed (it failed,
        # and a reviewer approved it) may use any accepted one.
        known = VIDEO_DECODERS.get(media.codec)
        video = (known.name,) if known else tuple(d.name for d in VIDEO_DECODERS.values())
        audio = AUDIO_DECODERS.get(media.audio_codec or "", ())
        prepare = [DEINTERLACE] if media.interlaced else []
        if media.hdr:  # every output frame is shown: tone-mapped once, before the split
            prepare.append(to_sdr(media.transfer))
        head = f"[0:v:0]{','.join(prepare)}," if prepare else "[0:v:0]"
        split = f"{head}split={len(outputs)}" + "".join(f"[s{i}]" for i in range(len(outputs)))
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
                decoders=(*video, *audio),
                input_options=[
                    *(["-c:v", known.name] if known else []),
                    "-threads",
                    str(self._threads),
                ],
            ),
            "-filter_complex",
            ";".join([split, *scales]),
        ]
        for (output, rendition), label in zip(outputs, labels, strict=True):
            rate = rendition.video_bitrate_k
            argv += [
                "-map", f"[{label}]", *(["-map", "0:a:0?"] if audio else ["-an"]), "-sn", "-dn",
                "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
                "-pix_fmt", "yuv420p", "-b:v", f"{rate}k", "-maxrate", f"{rate * 3 // 2}k",
                "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
                "-bufsize", f"{rate * 2}k",
                "-c:a", "aac", "-b:a", f"{rendition.audio_bitrate_k}k",
                "-movflags", "+faststart", "-f", "mp4", "-y", f"file:{output.resolve()}",
            ]  # fmt: skip
        return argv

    async def render(
        self, source: Path, outputs: list[tuple[Path, Rendition]], media: MediaSummary
    ) -> None:
        """Write every output whole or not at all (partial files are renamed on success)."""
        if not outputs:
            return
        partials = [(out.with_name(f".{out.name}.partial"), r) for out, r in outputs]
        # x264 veryfast runs several times faster than real time here; 4 CPU seconds per
        # media second per rendition plus a minute is far beyond honest work.
        cpu_s = int(60 + 4 * media.duration_s * len(outputs))
        try:
            argv = await asyncio.to_thread(
                self.argv, source, partials, media, cpu_s
            )  # resolves paths
            await _run(argv, cpu_s * 2, "transcoding")
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
        argv = await asyncio.to_thread(self.hls_argv, mp4, partial, segment_s, cpu_s)
        await _run(argv, cpu_s * 2, "HLS packaging")
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
