"""PdqHasher: Meta's PDQ perceptual hash (the `pdqhash` bindings) of sampled frames, in a
thread of its own. Frames are hashed as the models see them (the sampler's square), so a
reference and its copies go through the same scaling."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from gateway.domain.banks import FrameHash
from gateway.domain.media import SampledFrame

# A reference is also stored as its centre at these fractions: PDQ does not survive a crop
# (a 5 % crop moved a frame 40-48 bits; its 95 % centre was then 2-4 bits away).
REFERENCE_CROPS = (0.95, 0.90)
THUMBNAIL_SIDE = 128
FRAME_SIDE = 256  # the sampler's square (SamplingPlan.frame_size)
MAX_STILL_PIXELS = 8192 * 8192


class PdqHasher:
    name = "pdq@1"

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pdq")

    async def hash_frames(self, frames: Sequence[SampledFrame]) -> list[FrameHash]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, hash_all, list(frames))

    async def still_frame(self, path: Path) -> SampledFrame | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, read_still, path)

    async def thumbnails(self, frames: Sequence[SampledFrame]) -> list[tuple[float, bytes]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, lambda: [(f.timestamp_s, thumbnail(f.pixels)) for f in frames]
        )

    async def hash_reference_frames(self, frames: Sequence[SampledFrame]) -> list[FrameHash]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _hash_reference, list(frames))

    def close(self) -> None:
        self._executor.shutdown(wait=False)


def hash_all(frames: list[SampledFrame]) -> list[FrameHash]:
    """Blocking: one hash per frame."""
    return [hash_pixels(frame.pixels, frame.timestamp_s) for frame in frames]


def _hash_reference(frames: list[SampledFrame]) -> list[FrameHash]:
    """Blocking: each frame whole and as its centre crops, all at the frame's time."""
    hashes = []
    for frame in frames:
        hashes.append(hash_pixels(frame.pixels, frame.timestamp_s))
        height, width = frame.pixels.shape[:2]
        for fraction in REFERENCE_CROPS:
            top, left = round(height * (1 - fraction) / 2), round(width * (1 - fraction) / 2)
            centre = frame.pixels[top : height - top, left : width - left]
            square = cv2.resize(centre, (width, height), interpolation=cv2.INTER_AREA)
            hashes.append(hash_pixels(square, frame.timestamp_s))
    return hashes


def read_still(path: Path, side: int = FRAME_SIDE) -> SampledFrame | None:
    """Blocking: a picture file (JPEG, PNG, WebP...) squared to the sampler's frame size, or
    None. Pillow refuses pictures over its pixel limit (decompression bombs)."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_STILL_PIXELS:
                return None
            pixels = np.asarray(image.convert("RGB").resize((side, side)), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return SampledFrame(0.0, "still", pixels)


def thumbnail(pixels: npt.NDArray[np.uint8], side: int = THUMBNAIL_SIDE) -> bytes:
    """Blocking: a small JPEG of a frame (evidence, a few KB)."""
    image = Image.fromarray(np.ascontiguousarray(pixels)).resize((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def hash_pixels(pixels: npt.NDArray[np.uint8], timestamp_s: float) -> FrameHash:
    bits, quality = pdqhash.compute(np.ascontiguousarray(pixels))
    return FrameHash(timestamp_s, to_hex(bits), int(quality))


def to_hex(bits: npt.NDArray[np.int64]) -> str:
    """256 bits, first bit most significant, as 64 hex digits."""
    return bytes(np.packbits(bits.astype(np.uint8))).hex()


def from_hex(values: Sequence[str]) -> npt.NDArray[np.uint8]:
    """Hex hashes as the [n, 32] byte matrix a binary index takes."""
    if not values:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(values)), np.uint8).reshape(len(values), 32)
