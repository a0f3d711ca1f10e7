"""Test media with text in it: captions drawn by ffmpeg's drawtext in the CJK font `make test`
installs (fonts-wqy-microhei), subtitle tracks muxed from generated SRT, ASS and WebVTT (and a
hand-made PGS bitmap track), QR codes drawn by zxing-cpp's writer."""

from __future__ import annotations

import struct
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
    subtitle_codec: str | None = None,
) -> Path:
    """`subtitle_codec`: the track's codec (default srt in MKV, mov_text in MP4; `copy` keeps
    an ASS or PGS file's own)."""
    inputs = ["-f", "lavfi", "-i", f"color=c={base}:s={size}:r={rate}:d={duration_s}"]
    subs: list[str] = []
    if subtitles is not None:
        codec = subtitle_codec or ("srt" if path.suffix == ".mkv" else "mov_text")
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


ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,WenQuanYi Micro Hei,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,\
100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""  # a backslash at a line's end joins it to the next


def ass_file(path: Path, events: list[tuple[float, float, str]]) -> Path:
    """An ASS script (fan subtitles): one Dialogue line per event, text as written (override
    tags, drawings and all)."""

    def stamp(seconds: float) -> str:
        cs = round(seconds * 100)
        return f"{cs // 360_000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"

    with path.open("w", encoding="utf-8") as out:
        out.write(ASS_HEADER)
        for start, end, text in events:
            out.write(f"Dialogue: 0,{stamp(start)},{stamp(end)},Default,,0,0,0,,{text}\n")
    return path


def pgs_file(path: Path, times_s: list[float], size: tuple[int, int] = (320, 240)) -> Path:
    """A Blu-ray (PGS, .sup) subtitle stream: ffmpeg has no PGS encoder, so its segments are
    written here, each display set an empty composition (bitmap tracks are never decoded
    by the screening, only named)."""

    def segment(pts: int, kind: int, data: bytes) -> bytes:
        return b"PG" + struct.pack(">IIBH", pts, 0, kind, len(data)) + data

    data = b""
    for number, seconds in enumerate(times_s):
        pts = round(seconds * 90_000)
        composition = struct.pack(">HHBHBBBB", *size, 0x10, number, 0x80, 0, 0, 0)
        data += segment(pts, 0x16, composition) + segment(pts, 0x80, b"")
    path.write_bytes(data)
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
