"""The text-screening evaluation set (issue 27): clips generated with ffmpeg at run time into
a cache folder (never stored in git), from a fixed seed, so every run screens the same pixels.

Two sets, with disjoint wording (tests/text_eval/wording.py):

- heldout: the figures that are reported; never used to choose thresholds.
- tuning: another seed and other wording, for choosing thresholds.

Each positive clip flashes one advert sentence for an item of clause 3.1.10.3 (1 s, 1.5 s or
2 s at a random time in a 60-120 s clip at 10 fps) in one style:

    plain      36-64 px (at 1080p), solid colour, sometimes outlined or boxed
    small      20-24 px at 1080p
    watermark  40-72 px at ~35% opacity
    vertical   one glyph under another
    rotated    turned 8-35 degrees either way
    subtitle   outlined, bottom centre, among ordinary dialogue burned in the same way
    busy       over a fast pan across shop signs and clutter

over a moving background (testsrc2, life, cellauto, a fast pan over a generated image; the
busy style pans over its clutter) in one of five CJK faces (WenQuanYi Micro Hei, Noto Sans
CJK SC Bold, Noto Serif CJK SC, AR PL UKai, AR PL UMing). Clean clips use the same styles with
false friends (外挂电梯, 私服穿搭, 菠菜炒鸡蛋...), ordinary captions, news tickers scrolling
across the whole clip and song lyrics as subtitles.

Text is drawn with Pillow (so vertical and rotated text and the exact face are ours), each
caption a PNG that ffmpeg overlays only while it is shown.

    python tests/text_eval/generate.py [--set heldout|tuning] [--cache DIR] [--list]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.text_eval import wording

# Bump when the drawing changes: cached clips of an older version are made again.
GENERATOR_VERSION = 2
SEEDS = {"heldout": 27_001, "tuning": 27_002}
CLEAN_CLIPS = {"heldout": 63, "tuning": 21}
FPS = 10
CRF = 28

STYLES = ("plain", "small", "watermark", "vertical", "rotated", "subtitle", "busy")
FLASHES_S = (1.0, 1.5, 2.0)
BACKGROUNDS = ("testsrc2", "life", "cellauto", "pan")  # the busy style pans over "clutter"
# name -> (file, face index in the collection)
FONTS: dict[str, tuple[str, int]] = {
    "wqy-microhei": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    "noto-sans-sc-bold": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    "noto-serif-sc": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "ukai": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    "uming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
}
FONT_PACKAGES = "fonts-wqy-microhei fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming"
# (fill, outline) pairs of advert captions
COLOURS: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((255, 255, 255), (0, 0, 0)),
    ((255, 230, 0), (0, 0, 0)),
    ((255, 40, 40), (255, 255, 255)),
    ((0, 230, 255), (0, 0, 60)),
    ((255, 150, 0), (40, 0, 0)),
    ((120, 255, 120), (0, 40, 0)),
    ((20, 20, 20), (255, 255, 255)),
    ((255, 110, 200), (60, 0, 30)),
)

Rgb = tuple[int, int, int]


@dataclass(frozen=True)
class Caption:
    """One piece of text on screen from start_s for shown_s; x and y place it as fractions
    of the room left around it (0: left/top edge, 1: right/bottom edge). speed_px_s > 0
    scrolls it right to left from the right edge (a ticker)."""

    text: str
    start_s: float
    shown_s: float
    font: str
    size: int  # px at the clip's height
    fill: Rgb
    x: float
    y: float
    outline: int = 0
    outline_fill: Rgb = (0, 0, 0)
    opacity: float = 1.0
    box: tuple[int, int, int, int] | None = None  # RGBA band behind the text
    vertical: bool = False
    angle: float = 0.0
    speed_px_s: float = 0.0


@dataclass(frozen=True)
class Clip:
    name: str
    set: str
    expected: str | None  # the item of 3.1.10.3 the clip must be flagged for; None: clean
    theme: str  # what the text is about (positives) or the kind of clean text
    text: str  # the advert (positives) or the false friend / caption (clean)
    style: str
    background: str
    font: str
    flash_s: float
    start_s: float
    duration_s: float
    width: int
    height: int
    captions: tuple[Caption, ...]
    seed: int

    @property
    def positive(self) -> bool:
        return self.expected is not None

    def digest(self) -> str:
        spec = json.dumps([GENERATOR_VERSION, dataclasses.asdict(self)], ensure_ascii=False)
        return hashlib.sha256(spec.encode()).hexdigest()[:12]

    def summary(self) -> dict[str, object]:
        """The clip as the runner reports it (no caption details)."""
        return {
            "name": self.name,
            "expected": self.expected,
            "theme": self.theme,
            "text": self.text,
            "style": self.style,
            "background": self.background,
            "font": self.font,
            "flash_s": self.flash_s,
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "resolution": f"{self.height}p",
        }


def positives(which: str) -> list[tuple[str, str, str]]:
    """(item, theme, sentence) of a set, in wording order."""
    table = wording.HELDOUT_POSITIVE if which == "heldout" else wording.TUNING_POSITIVE
    return [
        (item, theme, s)
        for item, themes in table.items()
        for theme, ss in themes.items()
        for s in ss
    ]


def clips(which: str = "heldout", *, duration_s: float | None = None) -> list[Clip]:
    """Every clip of a set, in a seeded shuffled order (so `--limit N` is a fair sample).
    `duration_s` makes every clip that long (the smoke test's short clips); names, wording,
    styles, faces and backgrounds stay the same (each clip draws from a generator of its own).
    """
    if which not in SEEDS:
        raise ValueError(f"unknown set {which!r}: {sorted(SEEDS)}")
    seed = SEEDS[which]
    rng = random.Random(seed)
    labelled = positives(which)
    rng.shuffle(labelled)
    clean = _clean_texts(which, rng)
    made: list[Clip] = []
    for i, (item, theme, text) in enumerate(labelled):
        own = random.Random(f"{seed}:positive:{i}")
        made.append(_clip(which, own, i, item, theme, text, duration_s))
    for i, (kind, text) in enumerate(clean):
        own = random.Random(f"{seed}:clean:{i}")
        made.append(_clip(which, own, i, None, kind, text, duration_s))
    order = list(range(len(made)))
    rng.shuffle(order)
    prefix = which[0]
    return [dataclasses.replace(made[k], name=f"{prefix}{n:03d}") for n, k in enumerate(order)]


def _clean_texts(which: str, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) for each clean clip: a style cycle of 7 where the subtitle slot is lyrics
    and the others alternate false friends, ordinary captions and news tickers."""
    table = wording.HELDOUT_CLEAN if which == "heldout" else wording.TUNING_CLEAN
    friends = list(table["false_friend"])
    ordinary = list(table["ordinary"])
    rng.shuffle(friends)
    rng.shuffle(ordinary)
    out: list[tuple[str, str]] = []
    for i in range(CLEAN_CLIPS[which]):
        if STYLES[i % len(STYLES)] == "subtitle":
            out.append(("lyrics", ""))
        elif i % 3 == 1:
            out.append(("ordinary", ordinary[i % len(ordinary)]))
        else:  # false friends, every other one under a news ticker
            out.append(("ticker" if i % 3 == 2 else "false_friend", friends[i % len(friends)]))
    return out


def _clip(
    which: str,
    rng: random.Random,
    i: int,
    item: str | None,
    theme: str,
    text: str,
    duration_override: float | None,
) -> Clip:
    style = STYLES[i % len(STYLES)]
    flash = FLASHES_S[i % len(FLASHES_S)]
    font = list(FONTS)[i % len(FONTS)]
    background = "clutter" if style == "busy" else BACKGROUNDS[i % len(BACKGROUNDS)]
    height = 1080 if style == "small" or rng.random() < 0.5 else 720
    width = height * 16 // 9
    duration = duration_override or float(rng.randint(60, 120))
    start = round(rng.uniform(min(2.0, duration / 4), duration - flash - 1.5), 1)
    scale = height / 1080
    captions: list[Caption] = []
    if style == "subtitle":
        lines = wording.DIALOGUE if item is not None else _lyrics(which)
        avoid = (start, start + flash) if text else (-1.0, -1.0)  # lyrics: nothing to avoid
        captions += _subtitles(rng, lines, font, scale, duration, avoid=avoid)
        if text:
            captions.append(_subtitle(text, start, flash, font, scale))
        else:  # lyrics only: the "flash" is a lyric line like the others
            text = " / ".join(c.text for c in captions[:3])
    else:
        captions.append(_styled(rng, style, text, start, flash, font, scale))
    if theme == "ticker":
        captions.append(_ticker(which, rng, font, scale, duration, width))
    return Clip(
        name="",
        set=which,
        expected=item,
        theme=theme,
        text=text,
        style=style,
        background=background,
        font=font,
        flash_s=flash,
        start_s=start,
        duration_s=duration,
        width=width,
        height=height,
        captions=tuple(captions),
        seed=rng.randrange(1 << 30),
    )


def _lyrics(which: str) -> list[str]:
    return wording.HELDOUT_LYRICS if which == "heldout" else wording.TUNING_LYRICS


def _styled(
    rng: random.Random, style: str, text: str, start: float, shown: float, font: str, scale: float
) -> Caption:
    fill, edge = rng.choice(COLOURS)
    outlined = rng.random() < 0.5
    boxed = not outlined and rng.random() < 0.3
    base = Caption(
        text=text,
        start_s=start,
        shown_s=shown,
        font=font,
        size=round(rng.randint(36, 64) * scale),
        fill=fill,
        x=round(rng.uniform(0.03, 0.97), 3),
        y=round(rng.uniform(0.05, 0.95), 3),
        outline=max(1, round(3 * scale)) if outlined else 0,
        outline_fill=edge,
        box=(0, 0, 0, 140) if boxed else None,
    )
    if style == "small":  # always at 1080p
        return dataclasses.replace(
            base, size=rng.randint(20, 24), outline=min(base.outline, 1), box=None
        )
    if style == "watermark":
        grey = rng.choice([(255, 255, 255), (230, 230, 230), (200, 200, 200)])
        size = round(rng.randint(40, 72) * scale)
        return dataclasses.replace(base, fill=grey, size=size, outline=0, box=None, opacity=0.35)
    if style == "vertical":
        return dataclasses.replace(base, vertical=True)
    if style == "rotated":
        angle = rng.uniform(8, 35) * rng.choice((-1, 1))
        return dataclasses.replace(base, angle=round(angle, 1))
    return base  # plain, busy


def _subtitle(text: str, start: float, shown: float, font: str, scale: float) -> Caption:
    return Caption(
        text=text,
        start_s=start,
        shown_s=shown,
        font=font,
        size=round(46 * scale),
        fill=(255, 255, 255),
        x=0.5,
        y=0.93,
        outline=max(2, round(3 * scale)),
    )


def _subtitles(
    rng: random.Random,
    lines: list[str],
    font: str,
    scale: float,
    duration: float,
    avoid: tuple[float, float],
) -> list[Caption]:
    """Ordinary lines one after another through the clip, none overlapping `avoid`."""
    out: list[Caption] = []
    t = rng.uniform(0.5, 2.0)
    while t < duration - 2:
        shown = round(rng.uniform(1.5, 3.5), 1)
        start = round(t, 1)
        if start + shown < avoid[0] - 0.2 or start > avoid[1] + 0.2:
            out.append(
                _subtitle(rng.choice(lines), start, min(shown, duration - start), font, scale)
            )
        t += shown + rng.uniform(0.3, 1.5)
    return out


def _ticker(
    which: str, rng: random.Random, font: str, scale: float, duration: float, width: int
) -> Caption:
    """News items scrolling right to left along the top or bottom for the whole clip."""
    items = wording.HELDOUT_TICKERS if which == "heldout" else wording.TUNING_TICKERS
    size = round(40 * scale)
    speed = round(220 * scale)
    text = ""
    while len(text) * size < speed * duration + width:  # a CJK glyph is ~size px wide
        text += "    ".join(rng.sample(items, len(items))) + "    "
    return Caption(
        text=text.strip(),
        start_s=0.0,
        shown_s=duration,
        font=font,
        size=size,
        fill=(255, 255, 255),
        x=0.0,
        y=0.97 if rng.random() < 0.7 else 0.03,
        box=(160, 0, 0, 200) if rng.random() < 0.5 else (0, 0, 90, 200),
        speed_px_s=speed,
    )


# --- drawing ---------------------------------------------------------------------------


def missing_fonts() -> list[str]:
    return [f"{name} ({path})" for name, (path, _) in FONTS.items() if not Path(path).exists()]


def render(caption: Caption) -> Image.Image:
    """The caption as an RGBA picture, tight around it plus its outline, box and turn."""
    path, index = FONTS[caption.font]
    face = ImageFont.truetype(path, caption.size, index=index)
    pad = caption.outline + max(4, caption.size // 6)
    if caption.vertical:
        glyphs = [ch for ch in caption.text]
        step = round(caption.size * 1.08)
        height = sum(step if ch.strip() else step // 2 for ch in glyphs) + 2 * pad
        image = Image.new("RGBA", (caption.size + 2 * pad, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        if caption.box:
            draw.rectangle((0, 0, image.width - 1, image.height - 1), fill=caption.box)
        y = pad
        for ch in glyphs:
            if ch.strip():
                _draw(draw, (image.width / 2, y), ch, face, caption, anchor="mt")
                y += step
            else:
                y += step // 2
    else:
        left, top, right, bottom = (
            round(v) for v in face.getbbox(caption.text, stroke_width=caption.outline)
        )
        image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        if caption.box:
            draw.rectangle((0, 0, image.width - 1, image.height - 1), fill=caption.box)
        _draw(draw, (pad - left, pad - top), caption.text, face, caption, anchor="la")
    if caption.angle:
        image = image.rotate(caption.angle, resample=Image.Resampling.BICUBIC, expand=True)
    if caption.opacity < 1:
        alpha = image.getchannel("A").point(lambda a: round(a * caption.opacity))
        image.putalpha(alpha)
    return image


def _draw(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    text: str,
    face: ImageFont.FreeTypeFont,
    caption: Caption,
    anchor: str,
) -> None:
    draw.text(
        at,
        text,
        font=face,
        fill=(*caption.fill, 255),
        anchor=anchor,
        stroke_width=caption.outline,
        stroke_fill=(*caption.outline_fill, 255),
    )


def _backdrop(clip: Clip, folder: Path) -> tuple[list[str], str]:
    """ffmpeg inputs and the filter chain making [bg] for the clip's background."""
    w, h, d = clip.width, clip.height, clip.duration_s
    rng = random.Random(clip.seed)
    if clip.background == "testsrc2":
        return ["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r={FPS}:d={d}"], "[0:v]null[bg]"
    if clip.background == "life":
        src = (
            f"life=s={w // 4}x{h // 4}:r={FPS}:seed={clip.seed}:ratio={rng.uniform(0.1, 0.3):.2f}"
            f":mold=10:life_color=#{rng.randrange(0x808080, 0xFFFFFF):06x}"
            f":death_color=#{rng.randrange(0, 0x404040):06x}:mold_color=#405060"
        )
        return ["-f", "lavfi", "-i", src], f"[0:v]scale={w}:{h}:flags=neighbor[bg]"
    if clip.background == "cellauto":
        rule = rng.choice((30, 110, 150, 90, 18))
        src = (
            f"cellauto=s={w // 4}x{h // 4}:r={FPS}:seed={clip.seed}:rule={rule}"
            ":random_fill_ratio=0.4"
        )
        return ["-f", "lavfi", "-i", src], f"[0:v]scale={w}:{h}:flags=neighbor[bg]"
    still = folder / "backdrop.png"
    picture = (_clutter if clip.background == "clutter" else _shapes)(rng, w * 3, h * 3 // 2)
    picture.save(still, compress_level=1)
    speed = rng.uniform(0.25, 0.4)  # rad/s: up to ~0.35 * 2w px/s across, a fast pan
    chain = (
        f"[0:v]format=yuv420p,loop=loop=-1:size=1,setpts=N/{FPS}/TB,"
        f"crop={w}:{h}:x='(iw-ow)*(0.5-0.5*cos(t*{speed:.3f}))'"
        f":y='(ih-oh)*(0.5-0.5*cos(t*{speed * 0.6:.3f}))'[bg]"
    )
    return ["-i", str(still)], chain


def _shapes(rng: random.Random, width: int, height: int) -> Image.Image:
    """A colourful picture without text: gradient sky, blobs, stripes."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(image, tint, 0.6)
    draw = ImageDraw.Draw(image)
    for _ in range(160):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, height // 5)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x, y, x + r * 2, y + r // 3), fill=colour)
    return image


def _clutter(rng: random.Random, width: int, height: int) -> Image.Image:
    """A busy street: shop signs with words in many faces, posters, noise."""
    image = _shapes(rng, width, height)
    draw = ImageDraw.Draw(image)
    names = list(FONTS)
    for _ in range(width * height // 120_000):  # ~17 signs in view
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(18, 70)
        path, index = FONTS[rng.choice(names)]
        face = ImageFont.truetype(path, size, index=index)
        word = rng.choice(wording.SIGNS)
        left, top, right, bottom = face.getbbox(word)
        back = tuple(rng.randrange(256) for _ in range(3))
        fore = tuple(255 - c for c in back)
        draw.rectangle((x - 6, y - 6, x + right - left + 6, y + bottom - top + 6), fill=back)
        draw.text((x - left, y - top), word, font=face, fill=fore)
    noise = Image.effect_noise((width // 4, height // 4), 60).resize((width, height)).convert("RGB")
    return Image.blend(image, noise, 0.15)


def argv(clip: Clip, folder: Path, output: Path) -> list[str]:
    """The ffmpeg command making the clip; caption pictures are written into `folder`."""
    inputs, chain = _backdrop(clip, folder)
    filters = [chain]
    last = "bg"
    for n, caption in enumerate(clip.captions):
        picture = render(caption)
        png = folder / f"caption{n}.png"
        picture.save(png)
        k = n + 1
        if caption.speed_px_s:  # shown throughout: decoded once, repeated in the graph
            inputs += ["-i", str(png)]
            filters.append(f"[{k}:v]loop=loop=-1:size=1,setpts=N/{FPS}/TB[c{k}]")
            source = f"c{k}"
        else:  # shown for a while: a stream of the picture from start_s for shown_s
            inputs += [
                "-loop", "1", "-framerate", str(FPS), "-t", f"{caption.shown_s:.2f}",
                "-itsoffset", f"{caption.start_s:.2f}", "-i", str(png),
            ]  # fmt: skip
            source = f"{k}:v"
        room_x = max(0, clip.width - picture.width)
        room_y = max(0, clip.height - picture.height)
        y = round(caption.y * room_y)
        if caption.speed_px_s:
            x = f"W-(t-{caption.start_s})*{caption.speed_px_s}"
        else:
            x = str(round(caption.x * room_x))
        filters.append(f"[{last}][{source}]overlay=x='{x}':y={y}:eof_action=pass[v{k}]")
        last = f"v{k}"
    filters.append(f"[{last}]format=yuv420p[out]")
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        *inputs,
        "-filter_complex", ";".join(filters), "-map", "[out]",
        "-t", str(clip.duration_s), "-r", str(FPS),
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(CRF), "-pix_fmt", "yuv420p",
        str(output),
    ]  # fmt: skip


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vodgate" / "text-eval"


def cached_path(clip: Clip, cache: Path) -> Path:
    return cache / clip.set / f"{clip.name}-{clip.digest()}.mp4"


def make(clip: Clip, cache: Path) -> tuple[Path, bool]:
    """The clip's file in the cache, made unless it is there: (path, made now)."""
    path = cached_path(clip, cache)
    if path.exists():
        return path, False
    missing = missing_fonts()
    if missing:
        raise RuntimeError(f"fonts missing: {missing}; apt-get install {FONT_PACKAGES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{clip.name}-*.mp4"):  # an older version of this clip
        stale.unlink()
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{clip.name}-") as work:
        partial = Path(work) / "clip.mp4"
        timeout = 120 + 4 * clip.duration_s * clip.height / 720
        subprocess.run(argv(clip, Path(work), partial), check=True, timeout=timeout)
        partial.replace(path)
    return path, True


def disjoint_wording() -> list[str]:
    """Sentences the held-out set shares with the tuning set or the OCR recall test (none)."""
    from tests.integration.test_ocr_recall import CLEAN, POSITIVE, VARIANTS

    def words(texts: Iterable[str]) -> set[str]:
        return {"".join(t.split()) for t in texts}

    heldout = words(s for _, _, s in positives("heldout"))
    heldout |= words(t for ts in wording.HELDOUT_CLEAN.values() for t in ts)
    tuning = words(s for _, _, s in positives("tuning"))
    tuning |= words(t for ts in wording.TUNING_CLEAN.values() for t in ts)
    recall = words([t for t, _ in POSITIVE + VARIANTS] + CLEAN)
    return sorted((heldout & tuning) | (heldout & recall) | (tuning & recall))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=sorted(SEEDS), default="heldout")
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--list", action="store_true", help="print the clips, make none")
    args = parser.parse_args()
    for clip in clips(args.set):
        if args.list:
            print(json.dumps(clip.summary(), ensure_ascii=False))
            continue
        path, made = make(clip, args.cache)
        print(f"{clip.name} {'made' if made else 'cached'} {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
