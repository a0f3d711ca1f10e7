"""Renditions: which sizes an approved video is transcoded to, and the HLS master playlist."""

from __future__ import annotations

from dataclasses import dataclass


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


def plan_renditions(source_height: int, wanted: tuple[Rendition, ...]) -> list[Rendition]:
    """The renditions no taller than the source (never upscale). A source smaller than all
    of them gets one rendition at its own height, so every approved video has one."""
    fitting = [r for r in wanted if r.height <= source_height]
    if fitting or not wanted:
        return fitting
    smallest = min(wanted, key=lambda r: r.height)
    height = max(2, source_height - source_height % 2)
    return [Rendition(f"{height}p", height, smallest.video_bitrate_k, smallest.audio_bitrate_k)]


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
