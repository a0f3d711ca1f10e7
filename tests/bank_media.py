"""Test media for hash banks: slow pans across generated landscapes (smooth shapes and
colours, different for every seed), so neighbouring frames look alike and distant ones do
not, as in real footage; and the copies a re-uploader makes of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.media import run

ENCODE = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


def landscape(path: Path, seed: int, size: tuple[int, int] = (2400, 720)) -> Path:
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = rng.integers(0, 256, (6, 20, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize(size, Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(20, 140))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    image.filter(ImageFilter.GaussianBlur(3)).save(path)
    return path


def pan_clip(
    path: Path, seed: int, seconds: float = 30.0, *, rate: int = 30, size: str = "640x360"
) -> Path:
    """A camera panning across landscape `seed` at 20 px/s (of the 2400x720 picture)."""
    still = landscape(path.with_suffix(".png"), seed)
    width, height = (int(v) for v in size.split("x"))
    run(
        "-loop", "1", "-framerate", str(rate), "-t", str(seconds), "-i", str(still),
        "-vf", f"crop=1280:720:x='min(t*20\\,1120)':y=0,scale={width}:{height}",
        *ENCODE, str(path),
    )  # fmt: skip
    return path


def copy_of(source: Path, path: Path, *options: str) -> Path:
    run("-i", str(source), *options, *ENCODE, str(path))
    return path
