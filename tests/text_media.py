"""Test media with text in it: captions drawn by ffmpeg's drawtext in the CJK font `make test`
installs (fonts-wqy-microhei), subtitle tracks muxed from generated SRT, QR codes drawn by
zxing-cpp's writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image

from tests.media import run

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\\\'").replace("%", "\\%")


def caption(
    text: str,
    *,
    start_s: float,
    end_s: float,
    size: int = 48,
    colour: str = "white",
    x: str = "100",
    y: str = "h*0.8",
    box: str | None = None,
) -> str:
    """One drawtext filter: `text` shown from start_s to end_s; x and y are expressions (a
    scrolling ticker is x='w-t*400')."""
    boxed = f":box=1:boxcolor={box}:boxborderw=8" if box else ""
    return (
        f"drawtext=fontfile={FONT}:text='{_escape(text)}':fontsize={size}:fontcolor={colour}"
        f":x={x}:y={y}{boxed}:enable='between(t,{start_s},{end_s})'"
    )


def text_clip(
    path: Path,
    duration_s: float,
    captions: list[str],
    *,
    size: str = "1920x1080",
    base: str = "0x203040",
    rate: int = 5,
    subtitles: Path | None = None,
    metadata: tuple[str, ...] = (),
) -> Path:
    inputs = ["-f", "lavfi", "-i", f"color=c={base}:s={size}:r={rate}:d={duration_s}"]
    subs: list[str] = []
    if subtitles is not None:
        codec = "srt" if path.suffix == ".mkv" else "mov_text"
        inputs += ["-i", str(subtitles)]
        subs = ["-map", "0:v", "-map", "1:s", "-c:s", codec]
    run(
        *inputs,
        "-vf", ",".join(captions) or "null",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        *subs, *metadata, str(path),
    )  # fmt: skip
    return path


def srt_file(path: Path, cues: list[tuple[float, float, str]]) -> Path:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
        )

    path.write_text(
        "".join(
            f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1)
        ),
        encoding="utf-8",
    )
    return path


def qr_clip(path: Path, payload: str | bytes, duration_s: float = 4.0) -> Path:
    """A 1280x720 clip showing one QR code (left) for its whole length."""
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="L")
    image = np.asarray(code.to_image(scale=4 if len(payload) < 200 else 3))
    frame = Image.new("RGB", (1280, 720), (230, 230, 230))
    frame.paste(Image.fromarray(image).convert("RGB"), (80, 60))
    still = path.with_suffix(".png")
    frame.save(still)
    run(
        "-loop", "1", "-framerate", "5", "-t", str(duration_s), "-i", str(still),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path
