"""The text a viewer sees in an ASS script (what ffmpeg's `ass` encoder writes for any text
subtitle track): each Dialogue event's times and its text with override tags ({\\pos(..)},
{\\c&H..&}), vector drawings (\\p1 ... \\p0) and HTML-like markup removed, \\N and \\n as line
breaks. Bounded: at most `max_cues` events and `max_event_chars` of any one event are read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.domain.media import SubtitleCue

# The fields ffmpeg writes for ASS and SSA alike; a script's own Format line wins.
DEFAULT_FIELDS: tuple[str, ...] = (
    *("layer", "start", "end", "style", "name"),
    *("marginl", "marginr", "marginv", "effect", "text"),
)
# A subtitle line is short; drawings run to a few KB. Past this an event is not subtitles.
MAX_EVENT_CHARS = 64 * 1024
# Text kept of one event once drawings and tags are gone (what the keyword lists read).
MAX_CUE_CHARS = 2000

_TIME = re.compile(r"^\s*(\d{1,9}):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?\s*$")
_BLOCK = re.compile(r"(\{[^{}]*\})")
_DRAWING_SCALE = re.compile(r"\\p\s*(\d+)")  # \p1 on, \p0 off; \pos( and \pbo never match
# What a drawing is made of (m, n, l, b, s, p, c and coordinates): anything else under \p1
# is kept as text, so a \p1 cannot hide words from the lists.
_DRAWING = re.compile(r"^[\smnlbspc0-9.\-]*$")
_MARKUP = re.compile(r"<[^<>]{0,200}>")
_BREAK = re.compile(r"\\[Nn]")
_SPACES = re.compile(r"[ \t\u3000]+")


@dataclass(frozen=True, slots=True)
class AssEvents:
    cues: tuple[SubtitleCue, ...]
    dialogues: int  # Dialogue lines seen (read or not)
    capped: str  # why reading stopped early; "" when every event was read


def parse_ass(script: str, *, max_cues: int, max_event_chars: int = MAX_EVENT_CHARS) -> AssEvents:
    """Blocking on a long track. Events without visible text (drawings, empty lines) give no
    cue; lines that are not Dialogue events (comments, styles, broken lines) are skipped."""
    fields = DEFAULT_FIELDS
    in_events = False
    cues: list[SubtitleCue] = []
    dialogues = 0
    long_events = 0
    for line in script.splitlines():
        if line.startswith("["):
            in_events = line.strip().lower() == "[events]"
            continue
        if not in_events:
            continue
        kind, _, rest = line.partition(":")
        kind = kind.strip().lower()
        if kind == "format":
            fields = tuple(f.strip().lower() for f in rest.split(","))
        elif kind == "dialogue":
            dialogues += 1
            if len(cues) >= max_cues:
                continue  # counted, not read: the decision says how many
            if len(rest) > max_event_chars:
                long_events += 1
                rest = rest[:max_event_chars]
            cue = _cue(fields, rest)
            if cue is not None:
                cues.append(cue)
    notes = []
    if dialogues > max_cues and len(cues) >= max_cues:
        notes.append(f"the first {max_cues} events with text read, of {dialogues}")
    if long_events:
        notes.append(f"{long_events} events longer than {max_event_chars} characters cut")
    return AssEvents(tuple(cues), dialogues, "; ".join(notes))


def _cue(fields: tuple[str, ...], rest: str) -> SubtitleCue | None:
    values = rest.lstrip().split(",", len(fields) - 1)
    if len(values) != len(fields) or fields[-1] != "text":
        return None
    named = dict(zip(fields, values, strict=True))
    start, end = _seconds(named.get("start", "")), _seconds(named.get("end", ""))
    if start is None or end is None:
        return None
    text = visible_text(values[-1])
    return SubtitleCue(start, end, text) if text else None


def _seconds(stamp: str) -> float | None:
    match = _TIME.match(stamp)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


def visible_text(event: str) -> str:
    """An event's text as shown: override blocks dropped, drawings (text under \\p1 made only
    of drawing commands) dropped, \\N and \\n as line breaks, \\h as a space."""
    parts: list[str] = []
    drawing = False
    for piece in _BLOCK.split(event):
        if piece.startswith("{") and piece.endswith("}"):
            scales = _DRAWING_SCALE.findall(piece)
            if scales:
                drawing = int(scales[-1]) > 0
            continue
        if drawing and _DRAWING.match(piece):
            continue
        parts.append(piece)
    text = _BREAK.sub("\n", "".join(parts)).replace("\\h", " ")
    text = _MARKUP.sub(" ", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)[:MAX_CUE_CHARS]
