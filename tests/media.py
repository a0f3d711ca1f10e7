"""Test media made with ffmpeg's lavfi sources (real encodes, small and fast)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def run(*args: str) -> None:
    subprocess.run([*FFMPEG, *args], check=True, timeout=120)


def colour_clip(
    path: Path,
    duration_s: float,
    *,
    base: str = "0x406080",
    segments: tuple[tuple[float, float, str], ...] = (),
    size: str = "160x120",
    rate: int = 10,
    extra: tuple[str, ...] = (),
) -> Path:
    """A clip of one colour with `(start_s, length_s, colour)` segments drawn over it."""
    filters = (
        ",".join(
            f"drawbox=x=0:y=0:w=iw:h=ih:color={colour}:t=fill"
            f":enable='between(t,{start},{start + length})'"
            for start, length, colour in segments
        )
        or "null"
    )
    run(
        "-f",
        "lavfi",
        "-i",
        f"color=c={base}:s={size}:r={rate}:d={duration_s}",
        "-vf",
        filters,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        *extra,
        str(path),
    )
    return path


def audio_only(path: Path) -> Path:
    run("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(path))
    return path
